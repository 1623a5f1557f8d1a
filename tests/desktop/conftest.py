"""Fixtures for the desktop tests: a real Library on a tmp SQLite file, populated through the scanner's
own write path (``apply_scan_batch``), small settings, and ``DesktopServices`` with plain job functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.records import RootRecord, ScannedFile, UserDataChanges
from core.file_hashes import FileHashes
from core.formats.sidecar_info import SidecarInfo
from core.identify.result import Identification
from core.jobs import CancelToken, Progress, ProgressCallback
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    FileStatus,
    LibraryLayout,
    NetworkType,
    Precision,
)
from desktop.main_window import MainWindow
from desktop.services import DesktopServices

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@dataclass
class FakeSettings:
    """The settings Protocol as a plain object; ``saves`` counts ``save`` calls."""

    thumbnail_size: int = 128
    hash_in_background: bool = False
    hash_workers: int = 2
    theme: str = "light"
    first_start_done: bool = True
    watch_folders: bool = False
    view_mode: str = "grid"
    compose_board_visible: bool = True
    window_geometry: str = ""
    library_splitter: tuple[int, ...] = ()
    board_width: int = 0
    window_state: str = ""
    desktop_scheme: str = ""
    status_line_font: str = ""
    status_line_height: int = 0
    sort_key: str = "name"
    sort_descending: bool = False
    auto_lookup_civitai: bool = True
    check_updates_daily: bool = False
    render_device: str = ""
    render_keep_checkpoints_gb: float = 0.0
    catalog_url: str = ""
    saves: int = 0

    def save(self) -> None:
        self.saves += 1


@dataclass
class PopulatedLibrary:
    library: Library
    root: RootRecord
    root_dir: Path
    ids: dict[str, int] = field(default_factory=dict)


def stored_render(image: Path, *, seed: int, infotext: str) -> SimpleNamespace:
    """What a scripted render service returns for one image: the stored render's fields the Compose tab
    reads (a real PNG at ``image``)."""
    return SimpleNamespace(
        path=str(image),
        infotext=infotext,
        seed=seed,
        elapsed=0.5,
        device="CPU",
        render=SimpleNamespace(id=None),
    )


def write_png(path: Path, width: int = 200, height: int = 300, color: str = "#3366cc") -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path))
    return path


def _ident(
    kind: AssetKind, arch: Architecture, fmt: FileFormat = FileFormat.SAFETENSORS, **kw: object
) -> Identification:
    return Identification(kind=kind, architecture=arch, format=fmt, **kw)  # type: ignore[arg-type]


def _scanned(root: Path, name: str, ident: Identification | None, **kw: object) -> ScannedFile:
    path = root / name
    path.write_bytes(b"\0" * 64)
    stat = path.stat()
    fmt = ident.format if ident is not None else FileFormat.CKPT
    values: dict[str, object] = {
        "path": str(path),
        "size": kw.pop("size", stat.st_size),
        "mtime_ns": stat.st_mtime_ns,
        "inode": stat.st_ino,
        "format": fmt,
        "status": FileStatus.OK,
        "identification": ident,
    }
    values.update(kw)
    return ScannedFile(**values)  # type: ignore[arg-type]


def populate(library: Library, root_dir: Path) -> PopulatedLibrary:
    """Seven files covering every look of a row: kinds, architectures, unknown, unsafe, a preview."""
    root_dir.mkdir(parents=True, exist_ok=True)
    root = library.add_root(root_dir, LibraryLayout.FLAT)
    preview = write_png(root_dir / "pixelArtStyle.preview.png", color="#cc6633")
    files = [
        _scanned(
            root_dir,
            "pixelArtStyle.safetensors",
            _ident(
                AssetKind.LORA,
                Architecture.SDXL,
                network=NetworkType.LORA,
                precision=Precision.FP16,
                reasons=("kohya LoRA keys (lora_unet_*)", "text encoder width 1280 means SDXL"),
                trigger_words=("pixel art", "pixelsprite"),
                metadata={"ss_network_dim": 32, "ss_output_name": "pixelArtStyle"},
            ),
            size=228 * 2**20,
            sidecars=SidecarInfo(tags=("style",), previews=(preview,), sources=(preview,)),
        ),
        _scanned(
            root_dir,
            "dreamshaper_8.safetensors",
            _ident(AssetKind.CHECKPOINT, Architecture.SD1, reasons=("UNet with 4 input channels",)),
            size=2 * 2**30,
        ),
        _scanned(
            root_dir,
            "easynegative.pt",
            _ident(AssetKind.EMBEDDING, Architecture.SD1, FileFormat.PT, reasons=("token width 768",)),
        ),
        _scanned(root_dir, "sdxl_vae.safetensors", _ident(AssetKind.VAE, Architecture.SDXL)),
        _scanned(
            root_dir,
            "mystery.safetensors",
            _ident(
                AssetKind.UNKNOWN,
                Architecture.UNKNOWN,
                refusals=("lora: no lora_down/lora_up keys", "checkpoint: no model.diffusion_model keys"),
            ),
        ),
        _scanned(
            root_dir,
            "evil.ckpt",
            None,
            status=FileStatus.UNSAFE,
            status_reason="pickle imports os.system",
        ),
        _scanned(
            root_dir,
            "animeLineart.safetensors",
            _ident(
                AssetKind.LORA, Architecture.SD1, network=NetworkType.LOHA, reasons=("LoHa keys (hada_w1_a)",)
            ),
        ),
    ]
    ids = library.apply_scan_batch(root.id, files)
    names = [Path(f.path).stem for f in files]
    populated = PopulatedLibrary(library, root, root_dir, dict(zip(names, ids, strict=True)))
    populated.ids["pixelArtStyle"] = library.set_hashes(
        populated.ids["pixelArtStyle"],
        FileHashes(
            sha256="A" * 64,
            blake3="B" * 64,
            crc32="C0FFEE00",
            autov1="0123ABCD",
            autov2="AAAAAAAAAA",
            autov3="BBBBBBBBBBBB",
        ),
    )
    library.update_user_data(populated.ids["dreamshaper_8"], UserDataChanges(favorite=True, rating=4))
    return populated


@pytest.fixture
def populated(tmp_path: Path) -> Iterator[PopulatedLibrary]:
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    try:
        yield populate(library, tmp_path / "models")
    finally:
        library.close()


def _no_scan(_ids: Sequence[int] | None, progress: ProgressCallback, _cancel: CancelToken) -> str:
    progress(Progress(0, 0, "nothing to do"))
    return "0 new"


def _no_hash(progress: ProgressCallback, _cancel: CancelToken) -> str:
    return "Hashed 0 files"


ServicesFactory = Callable[..., DesktopServices]


@pytest.fixture
def make_services(tmp_path: Path) -> ServicesFactory:
    """``make_services(library, **overrides)`` -> DesktopServices with harmless job functions."""

    def factory(library: Library, **overrides: object) -> DesktopServices:
        values: dict[str, object] = {
            "library": library,
            "settings": FakeSettings(),
            "scan_roots": _no_scan,
            "hash_pending": _no_hash,
            "discover_folders": list,
            "add_root": library.add_root,
            "cache_dir": tmp_path / "cache",
            "start_watching": None,
        }
        values.update(overrides)
        return DesktopServices(**values)  # type: ignore[arg-type]

    return factory


@pytest.fixture(autouse=True)
def _qt_application(qapp: object) -> object:
    """Every desktop test runs with the QApplication (icons and pixmaps need one, even in model tests)."""
    return qapp


@pytest.fixture(autouse=True)
def _no_modifier_left_pressed(_qt_application: object) -> Iterator[None]:
    """Releases a modifier key a test pressed and never released (a key press alone, a test failing
    between press and release): Qt keeps it in ``QGuiApplication.keyboardModifiers()`` for every test
    after it in the same worker, where ``selectRow()`` then extends the selection as with Ctrl held."""
    yield
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QWidget

    if QGuiApplication.keyboardModifiers() != Qt.KeyboardModifier.NoModifier:
        target = QWidget()
        for key in (Qt.Key.Key_Control, Qt.Key.Key_Shift, Qt.Key.Key_Alt, Qt.Key.Key_Meta):
            QTest.keyRelease(target, key, Qt.KeyboardModifier.NoModifier)
        target.deleteLater()


@pytest.fixture
def remote(populated: PopulatedLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Loopback Civitai/Hub/file servers and ``RemoteServices`` (see ``tests.desktop.remote_support``)."""
    from tests.desktop.remote_support import remote_env

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_TOKEN", "HF_ENDPOINT", "ATELIER_CIVITAI_TOKEN", "ATELIER_CIVITAI_URL"):
        monkeypatch.delenv(name, raising=False)
    with remote_env(populated.library, tmp_path) as env:
        yield env


@pytest.fixture
def downloads_window(remote: object, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    """The main window with the sites' tabs on ``remote``'s loopback servers, its library folder scanned
    by downloads as the app does (``scanning_services``), shown at 1300x800; closed after the test."""
    from tests.desktop.remote_support import scanning_services

    window = MainWindow(scanning_services(remote, make_services))
    qtbot.addWidget(window)
    window.resize(1300, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


@pytest.fixture
def open_window(qtbot: QtBot) -> Iterator[Callable[[DesktopServices], MainWindow]]:
    """Opens the real main window on the given services, shown and exposed; closed after the test."""
    windows: list[MainWindow] = []

    def opener(services: DesktopServices) -> MainWindow:
        window = MainWindow(services)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield opener
    for window in windows:
        window.close()


@pytest.fixture
def on_server(
    pg_catalog_url: str, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MainWindow, PopulatedLibrary]]:
    """The window as ``main.py`` opens it on the server (the catalog_url setting, the password kept with
    the secrets), showing the desktop tests' seven files; and the server's catalog on its own engine."""
    with window_on_server(pg_catalog_url, tmp_path, qtbot, monkeypatch) as opened:
        yield opened


@contextmanager
def window_on_server(
    url: str, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, **settings: object
) -> Iterator[tuple[MainWindow, PopulatedLibrary]]:
    """``on_server``'s window, with more ``settings`` (the sites' loopback addresses...)."""
    import json

    from app.context import AppContext
    from app.secrets import TokenStore
    from catalog.catalog_url import create_server_engine, parse, secret_key, split_password
    from desktop.launch import open_window as launch_window

    monkeypatch.delenv("ATELIER_CATALOG_URL", raising=False)
    location = parse(url)
    assert location.url is not None
    other = Library.on_server(create_server_engine(location.url), tmp_path / "seed", str(location))
    populated = populate(other, tmp_path / "models")
    bare, password = split_password(location.url)
    data = tmp_path / "profile"
    data.mkdir()
    setting = {
        "first_start_done": True,
        "catalog_url": bare.render_as_string(hide_password=False),
        **settings,
    }
    (data / "settings.json").write_text(json.dumps(setting))
    TokenStore(data, use_keyring=False).set(secret_key(bare), password)
    context = AppContext(data, tokens=TokenStore(data, use_keyring=False))
    window = launch_window(context, ["atelier"])
    assert window is not None
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=10000)
    try:
        yield window, populated
    finally:
        window.close()
        context.close()
        other.close()
