"""The composition root: builds the services the CLI and the GUI share, from a data dir.

Nothing here is global: each ``AppContext`` owns its catalog connection and settings, so tests and a
second profile (``--data-dir``) never interfere. The remote clients (requests, huggingface_hub,
enrichment) are imported only by the methods that use them: a local scan or search, and the window's
first catalog load, should not pay a second of imports for sites they never contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.secrets import TokenStore
from app.settings import Settings, SettingsStore, civitai_base_url, resolve_data_dir
from catalog.hashing_job import HashSummary, hash_pending
from catalog.library import Library
from catalog.records import RootRecord
from catalog.scanner import Scanner, ScanSummary
from catalog.watcher import LibraryWatcher, RootsChanged
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.layouts import DiscoveredFolder, detect_layout, discover_model_folders
from core.taxonomy import LibraryLayout

if TYPE_CHECKING:
    import requests

    from app.render_service import RenderService
    from catalog.enrich import EnrichSummary
    from core.render.engine import RenderEngine
    from core.sources.civitai import CivitaiClient
    from core.sources.huggingface import HuggingFaceClient

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

    @cached_property
    def render_service(self) -> RenderService:
        """The renderer's front door; the engine (torch) is created only when something is rendered."""
        from app.render_service import RenderService

        return RenderService(self.library, self.make_render_engine, self.library.renders_dir)

    def make_render_engine(self) -> RenderEngine:
        """The renderer with the device and the checkpoint memory budget from the settings."""
        from core.render.devices import choose_device
        from core.render.engine import RenderEngine

        settings = self.load_settings()
        device = choose_device(settings.render_device) if settings.render_device else None
        budget = int(settings.render_keep_checkpoints_gb * 1024**3)
        return RenderEngine(self.cache_dir / "render", device=device, memory_budget_bytes=budget)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.data_dir)

    # remote sites -------------------------------------------------------------------------------------
    def civitai_base_url(self) -> str:
        return civitai_base_url(self.load_settings().civitai_base_url)

    @cached_property
    def civitai_session(self) -> requests.Session:
        from core.net import make_session

        # One session for the whole run: a small interval keeps batch lookups polite to the site.
        return make_session(token=self.tokens.get("civitai"), min_interval_s=0.25)

    def civitai(self) -> CivitaiClient:
        from core.sources.civitai import CivitaiClient

        return CivitaiClient(self.civitai_session, self.civitai_base_url())

    def huggingface(self) -> HuggingFaceClient:
        from core.sources.huggingface import HuggingFaceClient

        endpoint = self.load_settings().hf_endpoint or None  # None: $HF_ENDPOINT, else huggingface.co
        return HuggingFaceClient(endpoint=endpoint, token=self.tokens.get("huggingface"))

    def enrich(
        self,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        *,
        force: bool = False,
        covers: bool = True,
        asset_ids: Sequence[int] | None = None,
    ) -> EnrichSummary:
        """Look up hashed files (or only ``asset_ids``) on Civitai and store what is found (see
        catalog.enrich); ``app.after_scan`` decides when."""
        from catalog.enrich import CoverFetcher, enrich
        from core.sources.images import fetch_image_bytes

        session = self.civitai_session
        fetcher = (
            CoverFetcher(
                lambda url: fetch_image_bytes(session, url),
                self.cache_dir / "previews",
                nsfw_max_level=self.load_settings().nsfw_max_level,
            )
            if covers
            else None
        )
        return enrich(
            self.library,
            self.civitai(),
            covers=fetcher,
            force=force,
            asset_ids=asset_ids,
            progress=progress,
            cancel=cancel,
        )

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
