"""Where Atelier keeps its data, and the user's settings.

The data dir holds the catalog database, ``settings.json`` and the thumbnail cache. It is the platform's
user data dir unless ``--data-dir`` or ``ATELIER_DATA_DIR`` says otherwise, which is how tests,
benchmarks and a second profile stay isolated. Library roots are not settings: they live in the catalog.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from catalog.asset_query import SortKey
from core.errors import AtelierError
from core.hash_workers import DEFAULT_WORKERS
from core.replace_file import replace_file

APP_NAME = "Atelier"
DATA_DIR_ENV = "ATELIER_DATA_DIR"
CIVITAI_URL_ENV = "ATELIER_CIVITAI_URL"
THEMES = ("system", "light", "dark")
NSFW_LEVELS = (1, 2, 4, 8, 16)


class DataDirError(AtelierError):
    """The data dir given cannot be one: it (or a folder above it) is a file."""


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data dir: ``--data-dir`` first, then ``ATELIER_DATA_DIR``, then the platform default.

    Raises DataDirError when the path, or the nearest part of it that exists, is a file: the catalog
    and settings could never be written there.
    """
    if explicit:
        found = Path(explicit).expanduser().resolve()
    elif os.environ.get(DATA_DIR_ENV):
        found = Path(os.environ[DATA_DIR_ENV]).expanduser().resolve()
    else:
        import platformdirs  # the default folder's place alone: a start given its folder goes without it

        found = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    for part in (found, *found.parents):
        if part.exists():
            if part == found and not part.is_dir():
                raise DataDirError(f"{found} is a file, not a folder: give the data folder as a folder")
            if not part.is_dir():
                raise DataDirError(f"the data folder {found} cannot be made: {part} is a file, not a folder")
            break
    return found


MAX_KEEP_CHECKPOINTS_GB = 256.0
MAX_LINE_HEIGHT = 200  # px: the status line's kept height; more is a hand-edited value, not a font's
_BASE64_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class Settings(NamedTuple):
    """User preferences. Unknown keys in the file are kept so a newer version's settings survive.

    A named tuple (``_replace``, ``_asdict``, ``_fields``) rather than a frozen dataclass, as are the
    other records the window makes before its first frame (``catalog.asset_query.AssetQuery``,
    ``desktop.widgets.filter_bar.FilterState``, ``desktop.services``): a dataclass compiles its generated
    methods when its module is imported, ~0.5-1 ms each of a start that is counted (bench/bench_startup).
    """

    theme: str = "system"
    thumbnail_size: int = 160
    hash_in_background: bool = True
    hash_workers: int = DEFAULT_WORKERS  # one file hashed per core (2 to 8)
    watch_folders: bool = True
    first_start_done: bool = False
    view_mode: str = "grid"
    compose_board_visible: bool = True  # the compose board docked beside the library (View › Compose board)
    # The window as the user left it: Qt's saveGeometry (size, place, maximized) in base64, the library
    # tab's splitter (sidebar, library, details) and the board's width; empty or 0: the first start's.
    window_geometry: str = ""
    library_splitter: tuple[int, ...] = ()
    board_width: int = 0
    # Qt's saveState of the window in base64 (the board's dock: its side, width and visibility) and the
    # desktop's colour scheme ("dark" or "light") when the window closed: a returning user's window
    # starts from them without building PySide's Qt namespace (see desktop.qt_namespace).
    window_state: str = ""
    desktop_scheme: str = ""
    # The status bar's message line height for a font (QFont.key()), as measured with the fallback fonts
    # of other scripts by the last session: the next first frame needs no fallback fonts.
    status_line_font: str = ""
    status_line_height: int = 0
    sort_key: str = SortKey.NAME.value
    sort_descending: bool = False
    # Remote sites. Tokens are not settings: see app.secrets.
    civitai_base_url: str = "https://civitai.com"  # or https://civitai.red, or a mirror
    hf_endpoint: str = ""  # empty: $HF_ENDPOINT, else https://huggingface.co
    nsfw_max_level: int = 1  # Civitai NSFW levels shown unblurred: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX
    # After hashing, look files without a Civitai link up on Civitai (quietly skipped when offline).
    auto_lookup_civitai: bool = True
    # Check the library's Civitai-linked files for newer versions when the app starts, at most once a day.
    check_updates_daily: bool = True
    download_concurrency: int = 2
    download_root: str = ""  # library folder new downloads go to; empty: the first library folder
    download_subfolder: str = ""  # optional template below the kind's folder, e.g. "{base_model}"
    organize_template: str = ""  # Organize by template's default; empty: core.organize.template's
    # Renderer: "" chooses automatically (CUDA, then MPS, then CPU); else a torch device ("cpu", "cuda:1").
    render_device: str = ""
    render_keep_checkpoints_gb: float = 0.0  # 0: only the current checkpoint stays loaded
    # When this data folder's catalog was first created (ISO time): a catalog that is then missing was
    # deleted or moved, and is reported instead of being silently replaced by an empty one.
    catalog_created_at: str = ""
    # The catalog file as the window last closed it, with its schema revision ("REVISION|FINGERPRINT",
    # catalog.db_file.checked_catalog); a start that finds the file so, at a revision it knows, does not read
    # the revision again before its first frame. Empty: read it.
    catalog_checked: str = ""
    # This machine's id in a shared catalog (a UUID made on first use, see app.machine): each machine
    # records its own path for a shared library folder under it.
    machine_id: str = ""
    # The catalog on a PostgreSQL server (postgresql://user@host:5432/atelier), for a library shared by
    # several machines; empty: the data folder's SQLite file. Never holds the password (app.secrets does;
    # see app.server_catalog). --catalog and ATELIER_CATALOG_URL win over it.
    catalog_url: str = ""
    extra: Mapping[str, Any] = MappingProxyType({})  # read-only: a tuple's default is shared

    def with_changes(self, **changes: Any) -> Settings:
        return self._replace(**changes)


class SettingsStore:
    """Reads and atomically writes ``settings.json`` in the data dir."""

    FILE_NAME = "settings.json"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / self.FILE_NAME
        # Values the last load could not use (wrong type), by key: the defaults stand in for them, and
        # the caller says so once (a hand-edited file must not stop every command with a traceback).
        self.ignored: dict[str, object] = {}
        self.moved_aside: Path | None = None  # where the last load moved a damaged file (None: it did not)

    def load(self) -> Settings:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Settings()
        except (OSError, ValueError):
            return self._set_aside()
        if not isinstance(raw, dict):  # JSON, but not settings ([1, 2], a string...): damaged all the same
            return self._set_aside()
        known = set(Settings._fields) - {"extra"}
        values = {k: v for k, v in raw.items() if k in known}
        extra = {k: v for k, v in raw.items() if k not in known}
        self.ignored = {k: v for k, v in values.items() if not _fits(v, getattr(_DEFAULTS, k))}
        usable: dict[str, Any] = {
            k: bool(v) if isinstance(getattr(_DEFAULTS, k), bool) else v
            for k, v in values.items()
            if k not in self.ignored
        }
        return _sanitised(Settings(**usable, extra=extra))

    def _set_aside(self) -> Settings:
        """A damaged settings file must not stop the app: the defaults, and a copy so nothing is lost."""
        backup = self.path.with_suffix(".json.bad")
        with contextlib.suppress(OSError):  # unreadable and immovable (a folder...): defaults it is
            replace_file(self.path, backup)
            self.moved_aside = backup
        return Settings()

    def problems(self) -> list[str]:
        """What the last load could not use, as lines to tell the user: a silent reset looked like lost
        settings. Said once: the next load finds no damaged file, and a value is ignored until fixed."""
        lines = []
        if self.moved_aside is not None:
            lines.append(
                f"{self.path} could not be read: it was moved to {self.moved_aside} and the default settings "
                "are used (copy back what you need from it)"
            )
        if self.ignored:
            lines.append(ignored_settings_line(self.path, self.ignored))
        return lines

    def save(self, settings: Settings) -> None:
        data = settings._asdict()
        extra = data.pop("extra")
        data = {**extra, **data}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=self.data_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            replace_file(Path(tmp), self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


_DEFAULTS = Settings()


def _fits(value: object, default: object) -> bool:
    """Whether a value read from the file has the type of the setting's default (a number where a number
    is meant: an int also for a float; never a bool for a number; 0 or 1 for a yes/no)."""
    if isinstance(default, bool):
        return isinstance(value, bool) or (type(value) is int and value in (0, 1))
    if isinstance(default, int):
        return type(value) is int
    if isinstance(default, float):
        return type(value) in (int, float)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, tuple):
        return isinstance(value, list | tuple)
    return True


def ignored_settings_line(path: Path, ignored: dict[str, object]) -> str:
    """The one line that says which values of ``settings.json`` were not used, and what stands instead."""
    names = ", ".join(f"{key}={json.dumps(value)}" for key, value in ignored.items())
    return f"{path}: ignored {names} (not the right kind of value); the defaults are used instead"


def _sanitised(settings: Settings) -> Settings:
    """Clamp values a hand-edited file may have put out of range."""
    theme = settings.theme if settings.theme in THEMES else "system"
    size = min(512, max(64, int(settings.thumbnail_size)))
    workers = min(8, max(1, int(settings.hash_workers)))
    view = settings.view_mode if settings.view_mode in ("grid", "table") else "grid"
    splitter = settings.library_splitter
    if not isinstance(splitter, list | tuple) or not all(_is_width(size) for size in splitter):
        splitter = ()
    geometry = settings.window_geometry if _is_base64(settings.window_geometry) else ""
    state = settings.window_state if _is_base64(settings.window_state) else ""
    scheme = settings.desktop_scheme if settings.desktop_scheme in ("dark", "light") else ""
    line_height = settings.status_line_height
    if not _is_width(line_height) or line_height > MAX_LINE_HEIGHT:
        line_height = 0
    board_width = settings.board_width if _is_width(settings.board_width) else 0
    sort_key = settings.sort_key if settings.sort_key in {key.value for key in SortKey} else "name"
    nsfw = settings.nsfw_max_level if settings.nsfw_max_level in NSFW_LEVELS else 1
    concurrency = min(6, max(1, int(settings.download_concurrency)))
    keep_gb = min(MAX_KEEP_CHECKPOINTS_GB, max(0.0, float(settings.render_keep_checkpoints_gb)))
    base_url = settings.civitai_base_url.strip().rstrip("/") or "https://civitai.com"
    if not base_url.startswith(("http://", "https://")):
        base_url = "https://civitai.com"
    return settings._replace(
        theme=theme,
        thumbnail_size=size,
        hash_workers=workers,
        view_mode=view,
        window_geometry=geometry,
        window_state=state,
        desktop_scheme=scheme,
        status_line_height=line_height,
        library_splitter=tuple(splitter),
        board_width=board_width,
        sort_key=sort_key,
        sort_descending=bool(settings.sort_descending),
        nsfw_max_level=nsfw,
        download_concurrency=concurrency,
        civitai_base_url=base_url,
        hf_endpoint=settings.hf_endpoint.strip().rstrip("/"),
        render_device=settings.render_device.strip(),
        catalog_url=str(settings.catalog_url).strip(),
        render_keep_checkpoints_gb=keep_gb,
    )


def _is_base64(value: object) -> bool:
    """Qt's saved window geometry or state as the window writes it (base64 text); a hand-edited value
    with other characters is dropped (the window opens in its first start's shape)."""
    return isinstance(value, str) and set(value) <= _BASE64_CHARACTERS


def _is_width(value: object) -> bool:
    """A width in pixels as a hand-edited file may hold one (not a bool, a float or a negative)."""
    return type(value) is int and value > 0


def civitai_base_url(setting: str) -> str:
    """``ATELIER_CIVITAI_URL`` (scripts, tests), else the setting (civitai.com, civitai.red, a mirror)."""
    return (os.environ.get(CIVITAI_URL_ENV) or setting).rstrip("/")
