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
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from catalog.records import (
    AssetQuery,
    AssetRecord,
    Facets,
    PreviewRecord,
    RootRecord,
    UserDataChanges,
)
from core.jobs import CancelToken, ProgressCallback


class AssetLibrary(Protocol):
    """The slice of ``catalog.library.Library`` the desktop uses (all thread-safe, all short sessions)."""

    def roots(self) -> Sequence[RootRecord]: ...

    def remove_root(self, root_id: int, /) -> object: ...

    def get(self, asset_id: int, /) -> AssetRecord | None: ...

    def get_many(self, ids: Sequence[int], /) -> Sequence[AssetRecord]: ...

    def search_ids(self, query: AssetQuery, /) -> Sequence[int]: ...

    def facets(self) -> Facets: ...

    def previews(self, asset_id: int, /) -> Sequence[PreviewRecord]: ...

    def all_tags(self) -> Sequence[str]: ...

    def all_collections(self) -> Sequence[str]: ...

    def update_user_data(self, asset_id: int, changes: UserDataChanges, /) -> AssetRecord: ...


class DesktopSettings(Protocol):
    """The user preferences the desktop reads and edits; ``save`` persists them (atomically, in app/).

    ``theme`` is ``"light"``, ``"dark"`` or ``"system"``; ``view_mode`` is ``"grid"`` or ``"table"``.
    ``first_start_done`` is set once the first-start offer of discovered model folders has been shown,
    so declining it does not nag again. ``watch_folders`` turns the file watcher on or off.
    """

    thumbnail_size: int
    hash_in_background: bool
    hash_workers: int
    theme: str
    first_start_done: bool
    watch_folders: bool
    view_mode: str

    def save(self) -> None: ...


class Stoppable(Protocol):
    """A running file watcher; stopped when the window closes or the library folders change."""

    def stop(self) -> None: ...


ScanRoots = Callable[[Sequence[int] | None, ProgressCallback, CancelToken], object]
HashPending = Callable[[ProgressCallback, CancelToken], object]
DiscoverFolders = Callable[[], list[tuple[Path, str]]]
AddRoot = Callable[[Path], RootRecord]
StartWatching = Callable[[Callable[[], None]], Stoppable]


@dataclass(frozen=True, slots=True)
class DesktopServices:
    """Everything the window uses, composed by ``app/``.

    - ``scan_roots(root_ids or None for all, progress, cancel)`` scans library folders; its result's
      ``str()`` is shown in the status bar when it finishes.
    - ``hash_pending(progress, cancel)`` hashes every file not hashed yet; ``str()`` of the result is shown.
    - ``discover_folders()`` lists the usual model folders found on this machine as (path, layout name),
      offered on first start.
    - ``add_root(path)`` adds a library folder, detecting its layout.
    - ``start_watching(on_change)`` watches the library folders; ``on_change`` is called from a non-GUI
      thread whenever files change. ``None`` disables watching.
    - ``cache_dir`` holds the content-addressed thumbnail cache.
    """

    library: AssetLibrary
    settings: DesktopSettings
    scan_roots: ScanRoots
    hash_pending: HashPending
    discover_folders: DiscoverFolders
    add_root: AddRoot
    cache_dir: Path
    start_watching: StartWatching | None = None
