"""The composition root: builds the services the CLI and the GUI share, from a data dir.

Nothing here is global: each ``AppContext`` owns its catalog connection and settings, so tests and a
second profile (``--data-dir``) never interfere.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from app.settings import Settings, SettingsStore, resolve_data_dir
from catalog.hashing_job import HashSummary, hash_pending
from catalog.library import Library
from catalog.records import RootRecord
from catalog.scanner import Scanner, ScanSummary
from catalog.watcher import LibraryWatcher, RootsChanged
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.layouts import DiscoveredFolder, detect_layout, discover_model_folders
from core.taxonomy import LibraryLayout

CATALOG_FILE = "catalog.sqlite3"


class AppContext:
    """Settings, the library and the jobs that act on it, for one data dir."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.settings_store = SettingsStore(self.data_dir)

    @cached_property
    def library(self) -> Library:
        return Library.open(self.data_dir / CATALOG_FILE)

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def load_settings(self) -> Settings:
        return self.settings_store.load()

    def save_settings(self, settings: Settings) -> None:
        self.settings_store.save(settings)

    def close(self) -> None:
        if "library" in self.__dict__:
            self.library.close()
            del self.__dict__["library"]

    # jobs -------------------------------------------------------------------------------------------
    def add_root(self, path: Path, layout: LibraryLayout | None = None) -> RootRecord:
        """Add a library folder, detecting its layout (A1111, ComfyUI, ...) unless given."""
        resolved = path.expanduser().resolve()
        if not resolved.is_dir():
            raise NotADirectoryError(f"not a folder: {resolved}")
        return self.library.add_root(resolved, layout or detect_layout(resolved))

    def scan(
        self,
        root_ids: Sequence[int] | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> ScanSummary:
        return Scanner(self.library, progress=progress, cancel=cancel).scan(root_ids)

    def hash_pending(
        self, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> HashSummary:
        workers = self.load_settings().hash_workers
        return hash_pending(self.library, workers=workers, progress=progress, cancel=cancel)

    def discover_folders(self) -> list[DiscoveredFolder]:
        """The usual model folders found on this machine that are not library roots yet."""
        known = {Path(root.path) for root in self.library.roots()}
        return [found for found in discover_model_folders() if found.path not in known]

    def watch(self, on_change: RootsChanged) -> LibraryWatcher:
        """Start watching every root; ``on_change`` gets the ids of roots whose files changed."""
        watcher = LibraryWatcher(on_change)
        watcher.start({root.id: Path(root.path) for root in self.library.roots()})
        return watcher
