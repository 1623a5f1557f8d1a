"""What the desktop needs from the rest of the application, as one injected bundle.

The GUI never builds services itself: ``app/`` composes them (library, settings, jobs) and hands a
``DesktopServices`` to ``desktop.app.run_gui``. The jobs are plain callables, so tests pass small real
functions and the GUI stays free of SQLAlchemy, watchdog and the scanner's imports.

``AssetLibrary`` lists only the ``catalog.Library`` methods the desktop calls; declaring them here (with
positional-only parameters) keeps ``desktop`` type-checked against the facade without importing it, and
lets a widget test hand in a tiny object offering the few methods that widget uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:  # the clients import requests / huggingface_hub: only when the tabs are used
    from app.after_scan import LookupRequest
    from app.download_service import DownloadService
    from catalog.asset_query import AssetQuery
    from catalog.change_feed import Changes
    from catalog.enrich import EnrichSummary
    from catalog.records import (  # the records are read after the first frame, off the GUI thread
        AssetRecord,
        AssetRow,
        Facets,
        PreviewRecord,
        RemoteLinkRecord,
        RemoteMatch,
        RootRecord,
        UserDataChanges,
    )
    from core.jobs import CancelToken, ProgressCallback  # Progress, a dataclass: made when jobs run
    from core.sources.civitai import CivitaiClient
    from core.sources.huggingface import HuggingFaceClient
    from desktop.compose.service import RenderServiceLike
    from desktop.models.library_view import PageReads


class AssetLibrary(Protocol):
    """The slice of ``catalog.library.Library`` the desktop uses (all thread-safe, all short sessions)."""

    def roots(self) -> Sequence[RootRecord]: ...

    def map_root(self, name: str, path: Path, /, *, force: bool = False) -> RootRecord: ...

    def unmap_root(self, name: str, /) -> RootRecord: ...

    def remove_root(self, root_id: int, /) -> object: ...

    def get(self, asset_id: int, /) -> AssetRecord | None: ...

    def get_many(self, ids: Sequence[int], /) -> Sequence[AssetRecord]: ...

    def get_rows(self, ids: Sequence[int], /) -> Sequence[AssetRow]: ...

    def search_ids(self, query: AssetQuery, /) -> Sequence[int]: ...

    def count(self, query: AssetQuery, /) -> int: ...

    def facets(self) -> Facets: ...

    def previews(self, asset_id: int, /) -> Sequence[PreviewRecord]: ...

    def all_tags(self) -> Sequence[str]: ...

    def all_collections(self) -> Sequence[str]: ...

    def update_user_data(self, asset_id: int, changes: UserDataChanges, /) -> AssetRecord: ...

    def find_by_hash(self, value: str, /) -> Sequence[AssetRecord]: ...

    def copies_there(self, sha256: str, /) -> Sequence[AssetRecord]: ...

    def get_by_path(self, path: str | Path, /) -> AssetRecord | None: ...

    def remote_links(self, asset_id: int, /) -> Sequence[RemoteLinkRecord]: ...

    def record_remote_match(self, asset_id: int, match: RemoteMatch, /) -> None: ...

    def update_asset_ids(self) -> set[int]: ...


class DesktopSettings(Protocol):
    """The user preferences the desktop reads and edits; ``save`` persists them (atomically, in app/).

    ``theme`` is ``"light"``, ``"dark"`` or ``"system"``; ``view_mode`` is ``"grid"`` or ``"table"``.
    ``compose_board_visible`` keeps the docked compose board shown or hidden across starts.
    ``first_start_done`` is set once the first-start offer of discovered model folders has been shown,
    so declining it does not nag again. ``watch_folders`` turns the file watcher on or off.
    """

    thumbnail_size: int
    hash_in_background: bool
    hash_workers: int
    render_device: str
    render_keep_checkpoints_gb: float
    theme: str
    first_start_done: bool
    watch_folders: bool
    view_mode: str
    compose_board_visible: bool
    window_geometry: str  # the window as last closed (Qt's saveGeometry, base64); empty: never closed
    library_splitter: tuple[int, ...]  # the sidebar's, library's and details pane's widths, as left
    board_width: int  # the compose board's width as left; 0: its first width
    window_state: str  # the docks as last closed (Qt's saveState, base64); empty: never closed
    desktop_scheme: str  # the desktop's colour scheme then ("dark", "light"); empty: never seen
    status_line_font: str  # the status bar's font then (QFont.key()) and its message line's height
    status_line_height: int
    sort_key: str  # the library's sort (catalog.asset_query.SortKey's value) and its direction
    sort_descending: bool
    auto_lookup_civitai: bool  # after hashing, look files without a Civitai link up (quiet offline)
    check_updates_daily: bool  # after start, check Civitai-linked files for newer versions (once a day)
    catalog_url: str  # the catalog on a PostgreSQL server from the next start; empty: the data folder's file

    def save(self) -> None: ...


class RemoteSettings(DesktopSettings, Protocol):
    """The settings of the remote-site tabs and the download queue (see ``app.settings.Settings``).

    ``nsfw_max_level`` is the highest Civitai NSFW level (1, 2, 4, 8, 16) shown unblurred;
    ``download_root`` is the library folder downloads go to (empty: the first one added) and
    ``download_subfolder`` an optional template below the kind's folder (``{base_model}``...).
    """

    civitai_base_url: str
    hf_endpoint: str
    nsfw_max_level: int
    download_concurrency: int
    download_root: str
    download_subfolder: str


class TokenKeeper(Protocol):
    """``app.secrets.TokenStore``: site tokens in the keyring or a private file, never in settings."""

    @property
    def backend(self) -> str: ...

    def get(self, site: str) -> str | None: ...

    def set(self, site: str, token: str | None) -> None: ...


class RemoteServices(NamedTuple):
    """What the Civitai, Hugging Face and Downloads tabs use: parts of ``app.context.AppContext``.

    ``civitai()`` / ``huggingface()`` build a client with the current settings and token (called on a
    worker thread for each request batch, so a changed base URL or token applies at once);
    ``fetch_image(url)`` returns the bytes of a preview image (bounded; raises on failure);
    ``downloads()`` is the app's one download pipeline (``app.download_service.DownloadService``: queue,
    per-site auth, engine, library ingest), made when the Downloads tab is built; ``settings`` is the
    same object as ``DesktopServices.settings``, typed with the remote fields.
    """

    civitai: Callable[[], CivitaiClient]
    huggingface: Callable[[], HuggingFaceClient]
    fetch_image: Callable[[str], bytes]
    downloads: Callable[[], DownloadService]
    tokens: TokenKeeper
    settings: RemoteSettings


class Stoppable(Protocol):
    """A running file watcher; stopped when the window closes or the library folders change."""

    def stop(self) -> None: ...


ScanRoots = Callable[[Sequence[int] | None, "ProgressCallback", "CancelToken"], object]
HashPending = Callable[["ProgressCallback", "CancelToken"], object]
# (path, layout name), or with the model files counted while looking: (…, count, whether it is complete).
DiscoveredEntry = tuple[Path, str] | tuple[Path, str, int, bool]
DiscoverFolders = Callable[[], list[DiscoveredEntry]]
AddRoot = Callable[[Path], "RootRecord"]
StartWatching = Callable[[Callable[[], None]], Stoppable]
RenderFactory = Callable[[], "RenderServiceLike"]
LookUpCivitai = Callable[["LookupRequest", "ProgressCallback", "CancelToken"], "EnrichSummary"]
SyncMirrors = Callable[["ProgressCallback", "CancelToken"], object]
MergeSearchIndex = Callable[["ProgressCallback", "CancelToken"], object]
# follow(on_change, on_state): the catalog's change feed (catalog.change_feed), calling back from its thread.
FollowChanges = Callable[[Callable[["Changes"], None], Callable[[str | None], None]], Stoppable]


class DesktopServices(NamedTuple):
    """Everything the window uses, composed by ``app/``.

    - ``scan_roots(root_ids or None for all, progress, cancel)`` scans library folders; its result's
      ``str()`` is shown in the status bar when it finishes.
    - ``hash_pending(progress, cancel)`` hashes every file not hashed yet; ``str()`` of the result is shown.
    - ``discover_folders()`` lists the usual model folders found on this machine as (path, layout name)
      or (path, layout name, model files counted, whether that count is complete), offered on first start.
    - ``add_root(path)`` adds a library folder, detecting its layout.
    - ``start_watching(on_change)`` watches the library folders; ``on_change`` is called from a non-GUI
      thread whenever files change. ``None`` disables watching.
    - ``cache_dir`` holds the content-addressed thumbnail cache (remote images go to ``remote/`` in it).
    - ``remote`` enables the Civitai, Hugging Face and Downloads tabs; ``None`` shows the library only.
    - ``render()`` returns the render service (``app.render_service.RenderService``), made on first call;
      it enables the Compose tab. The service creates its engine (and imports torch) on the first render.
    - ``page_reads()`` gives what reads the window's first page: a light reader of the catalog (``sqlite3``
      only) where it can be read as it stands, else the library (``desktop.models.library_view``).
    - ``look_up_civitai(request, progress, cancel)`` looks files up on Civitai (``app.after_scan``);
      the window runs it after hashing and for "Look up on Civitai". ``None`` disables both.
    - ``follow_changes(on_change, on_state)`` starts the catalog's change feed, so what other machines
      and processes commit shows in the window (``desktop.live_changes``). ``None``: no live updates.

    Both bundles are named tuples rather than frozen dataclasses: they are made before the window's first
    frame, where a dataclass's generated methods cost ~0.4 ms each to compile.
    """

    library: AssetLibrary
    settings: DesktopSettings
    scan_roots: ScanRoots
    hash_pending: HashPending
    discover_folders: DiscoverFolders
    add_root: AddRoot
    cache_dir: Path
    start_watching: StartWatching | None = None
    remote: RemoteServices | None = None
    render: RenderFactory | None = None
    look_up_civitai: LookUpCivitai | None = None
    sync_mirrors: SyncMirrors | None = None  # the mirrors for other UIs, re-synced after every scan
    merge_search_index: MergeSearchIndex | None = None  # the search index merged after a scan that wrote
    page_reads: Callable[[], PageReads] | None = None
    follow_changes: FollowChanges | None = None
