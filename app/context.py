"""The composition root: the one place where the services both front ends use are built, lazily.

Nothing here is global: each ``AppContext`` owns its settings, tokens, catalog connection, site clients
and download queue, so tests and a second profile (``--data-dir``) never interfere. The CLI makes one
per command; the window makes one at start and hands Qt adapters over its parts to the widgets.

Creating a context costs nothing but reading ``settings.json``: the catalog (SQLAlchemy, Alembic), the
remote clients (requests, huggingface_hub) and the download engine are imported and built by the first
method that needs them, so the window is on screen before any of them is loaded, and a local scan or
search never pays for sites it does not contact.

A data folder Atelier cannot write makes the context read-only (``read_only``): the catalog is opened
read-only, settings changes last for the session, and every change is refused with one sentence
(``app.catalog_access`` says how the catalog is reached, and when a missing one is reported).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.live_settings import LiveSettings
from app.secrets import TokenStore
from app.settings import Settings, SettingsStore, civitai_base_url, resolve_data_dir
from core.errors import AtelierError
from core.taxonomy import LibraryLayout

# The Civitai API's pace: one request per CIVITAI_SPACING_S over any long stretch, CIVITAI_BURST at once.
CIVITAI_SPACING_S = 0.25
CIVITAI_BURST = 4

if TYPE_CHECKING:
    import requests

    from app.download_service import DownloadService
    from app.new_catalog import NewCatalog
    from app.render_service import RenderService
    from catalog.catalog_url import CatalogLocation
    from catalog.change_feed import ChangeFeed, ChangesCallback, StateCallback
    from catalog.download_store import SqlDownloadStore
    from catalog.enrich import CoverFetcher, EnrichSummary
    from catalog.errors import CatalogError
    from catalog.hashing_job import HashSummary
    from catalog.library import Library
    from catalog.machine_paths import Machine
    from catalog.read_connection import CatalogReads
    from catalog.records import RootRecord
    from catalog.scan_catalog import ScanCatalog
    from catalog.scanner import ScanSummary
    from catalog.watcher import LibraryWatcher, RootsChanged
    from core.jobs import CancelToken, ProgressCallback  # imported by the jobs: not before the first frame
    from core.layouts import DiscoveredFolder
    from core.render.engine import RenderEngine
    from core.sources.civitai import CivitaiClient
    from core.sources.huggingface import HuggingFaceClient

CATALOG_FILE = "catalog.sqlite3"


class OverlappingRootError(AtelierError, ValueError):
    """A folder inside a library folder, or above some: its files would belong to two of them."""


def refuse_overlap(folder: Path, roots: Sequence[Path]) -> None:
    """Raise ``OverlappingRootError`` when ``folder`` is inside one of ``roots`` or holds some of them."""
    if folder in roots:
        return
    outer = [root for root in roots if folder.is_relative_to(root)]
    if outer:
        raise OverlappingRootError(
            f"{folder} is already in the library folder {outer[0]} — rescan that instead"
        )
    inner = sorted(str(root) for root in roots if root.is_relative_to(folder))
    if inner:
        raise OverlappingRootError(
            f"{folder} holds the library folder{'s' if len(inner) > 1 else ''} {', '.join(inner)}: "
            "remove them first (Settings › Library folders, or `atelier roots remove NAME`), or rescan them "
            "instead"
        )


DEFAULT_HF_ENDPOINT = "https://huggingface.co"


class AppContext:
    """Settings, tokens, the library, the site clients, the download queue and the jobs, for one data dir.

    ``tokens`` may be passed in (tests use a file-only store so the developer's keyring is never
    touched); by default the profile's ``TokenStore`` is used.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        tokens: TokenStore | None = None,
        catalog: str | None = None,
    ) -> None:
        from app.catalog_access import data_folder_read_only

        self.data_dir = resolve_data_dir(data_dir)
        self.catalog_path = self.data_dir / CATALOG_FILE
        # Two access() calls: asked once, so a command and the window agree for their whole run.
        self.read_only = data_folder_read_only(self.data_dir, self.catalog_path)
        self.settings_store = SettingsStore(self.data_dir)
        self.settings = LiveSettings(self.settings_store, read_only=self.read_only)
        # A damaged file moved aside, values not used: said on stderr, and by the window once it is drawn.
        self.settings_problems = self.settings_store.problems()
        for problem in self.settings_problems:
            print(problem, file=sys.stderr)
        self.tokens = tokens if tokens is not None else TokenStore(self.data_dir)
        # A catalog on a server (--catalog, ATELIER_CATALOG_URL, the catalog_url setting), else the data
        # dir's file; SQLAlchemy is imported for it only when one is named.
        self.server_catalog: CatalogLocation | None = None
        if catalog or os.environ.get("ATELIER_CATALOG_URL") or self.settings.catalog_url:
            from app.server_catalog import catalog_location

            self.server_catalog = catalog_location(catalog, self.settings, self.tokens)
        self._lock = threading.Lock()
        self._civitai_session: tuple[str | None, requests.Session] | None = None
        self._image_session: requests.Session | None = None

    @cached_property
    def library(self) -> Library:
        """The catalog, opened on first use: read-only in a read-only data folder; a catalog that was
        there and is now missing or unreadable raises its ``CatalogError`` (never replaced)."""
        from app.catalog_access import open_catalog

        if self.server_catalog is not None:
            from app.server_catalog import open_server_catalog

            return open_server_catalog(self.server_catalog, self.tokens, self.data_dir, self.machine)
        return open_catalog(self.catalog_path, self.settings, read_only=self.read_only, machine=self.machine)

    @cached_property
    def machine(self) -> Machine:
        """This profile's machine in a shared catalog (its id made on first use; see ``app.machine``)."""
        from app.machine import this_machine

        return this_machine(self.settings, self.data_dir)

    @cached_property
    def reads(self) -> CatalogReads:
        """The catalog for what only reads (``search``, ``show``, ``roots``, a first view): read with the
        standard ``sqlite3`` module (psycopg on a server), without importing SQLAlchemy, where it can be
        read as it stands; else the :attr:`library` (which creates, migrates, recovers or reports, as
        always)."""
        from app.catalog_access import open_catalog_reader

        if self.server_catalog is not None:
            if "library" in self.__dict__:  # opened already (the window's start): no second connection
                return self.library
            from app.server_catalog import open_server_reader

            on_server = open_server_reader(self.server_catalog, self.tokens, self.data_dir, self.machine.id)
            return on_server if on_server is not None else self.library
        reader = open_catalog_reader(
            self.catalog_path, self.settings, read_only=self.read_only, machine_id=self.machine.id
        )
        return reader if reader is not None else self.library

    def catalog_problem(self) -> CatalogError | None:
        """What keeps the catalog from opening, found from its first bytes (cheap: no SQLAlchemy); None
        when it opens or is made on first use."""
        from app.catalog_access import catalog_problem

        if self.server_catalog is not None:
            return None  # a server says what is wrong when the library opens
        return catalog_problem(self.catalog_path, self.settings, read_only=self.read_only)

    def catalog_as_checked(self) -> bool:
        """Whether the catalog file is as a window left it when it last closed, at a schema revision this
        Atelier knows (``remember_catalog_checked``): nothing has written it since, so it needs no reading
        before the window's first frame."""
        from catalog.db_file import unchanged_since_checked

        if self.server_catalog is not None:
            return False
        return unchanged_since_checked(self.settings.catalog_checked, self.catalog_path)

    def remember_catalog_checked(self) -> None:
        """Records the catalog file as it stands, once closed by this process, with its schema revision
        (``catalog.db_file.checked_catalog``: nothing where the revision is none this Atelier knows): the
        next start's check (``catalog_as_checked``). Called as the window's process ends; a settings file
        that cannot be written is left as it was."""
        if self.read_only or self.server_catalog is not None:
            return
        from catalog.db_file import checked_catalog

        checked = checked_catalog(self.catalog_path)
        if checked == self.settings.catalog_checked:
            return
        self.settings.catalog_checked = checked
        with contextlib.suppress(OSError):
            self.settings.save()

    def use_local_catalog(self) -> None:
        """Open the data folder's own catalog file for the rest of this run instead of the server's (the
        window offers it when the server cannot be reached); the setting naming the server stays."""
        self.server_catalog = None
        for opened in ("reads", "library"):
            self.__dict__.pop(opened, None)

    def refuse_changes(self) -> None:
        """Raise the read-only refusal when this data folder cannot be written (before a change starts)."""
        if self.read_only:
            from catalog.errors import ReadOnlyCatalogError

            raise ReadOnlyCatalogError.for_folder(self.data_dir)

    def start_new_catalog(self, source: Path | None = None) -> NewCatalog:
        """Set the current catalog file aside and start an empty one, or a copy of ``source`` (a backup)."""
        from app.new_catalog import start_new_catalog

        if "reads" in self.__dict__:
            self.reads.close()
            del self.__dict__["reads"]
        if "library" in self.__dict__:
            self.library.close()
            del self.__dict__["library"]
        return start_new_catalog(self.catalog_path, self.settings, read_only=self.read_only, source=source)

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

    # remote sites -------------------------------------------------------------------------------------
    def civitai_base_url(self) -> str:
        """The Civitai host of the settings (civitai.com, civitai.red, a mirror; ``ATELIER_CIVITAI_URL``)."""
        return civitai_base_url(str(self.settings.civitai_base_url))

    def hf_endpoint(self) -> str:
        """The Hugging Face endpoint: the setting, else ``$HF_ENDPOINT``, else huggingface.co."""
        return str(self.settings.hf_endpoint) or os.environ.get("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT

    def civitai_session(self) -> requests.Session:
        """The Civitai API session, rebuilt when the key changes in the settings (thread-safe)."""
        from app.site_keys import civitai_tokens
        from core.net import make_session

        token = self.tokens.get("civitai")
        with self._lock:
            if self._civitai_session is None or self._civitai_session[0] != token:
                # Four requests a second keeps batch lookups polite to the site; a click's few requests
                # (a model, its version, its images) go at once.
                auth = civitai_tokens(self.civitai_base_url, token)  # the key to the Civitai origin only
                session = make_session(auth=auth, min_interval_s=CIVITAI_SPACING_S, burst=CIVITAI_BURST)
                self._civitai_session = (token, session)
            return self._civitai_session[1]

    def civitai(self) -> CivitaiClient:
        """A Civitai client with the current host and key (cheap: the session is shared)."""
        from core.sources.civitai import CivitaiClient

        return CivitaiClient(self.civitai_session(), self.civitai_base_url())

    def huggingface(self) -> HuggingFaceClient:
        """A Hugging Face client with the current endpoint and token."""
        from core.sources.huggingface import HuggingFaceClient

        endpoint = str(self.settings.hf_endpoint) or None  # None: $HF_ENDPOINT, else huggingface.co
        return HuggingFaceClient(endpoint=endpoint, token=self.tokens.get("huggingface"))

    def image_session(self) -> requests.Session:
        """The session preview images (Civitai covers and examples) come through: the API session's
        retries, timeouts and caps without its pacing, and with no key (thread-safe).

        The API's lookups are spaced 0.25 s apart per host to stay polite; images come from Civitai's
        image CDN, which a browser fetches dozens at once from, and through the API session a model page
        of 20 examples filled at four images a second."""
        from core.net import make_session

        with self._lock:
            if self._image_session is None:
                self._image_session = make_session()
            return self._image_session

    def fetch_image(self, url: str) -> bytes:
        """A preview image, bounded in size; raises on any failure (the caller shows a placeholder)."""
        from core.sources.images import fetch_image_bytes

        return fetch_image_bytes(self.image_session(), url)

    def open_download_queue(self) -> SqlDownloadStore:
        """The download queue: in the catalog file; with a catalog on a server, in this machine's own queue
        file (``catalog.download_store``), after the server's catalog is opened as before."""
        from catalog.download_store import SqlDownloadStore

        library = self.library
        if self.server_catalog is not None:
            return SqlDownloadStore.open_queue_file(self.data_dir, read_only=self.read_only)
        return SqlDownloadStore.open(library.path, read_only=self.read_only)

    @cached_property
    def downloads(self) -> DownloadService:
        """The one download pipeline (queue, per-site auth, engine, ingest) of this profile."""
        from app.download_service import DownloadService

        return DownloadService(self)

    def enrich(
        self,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        *,
        force: bool = False,
        covers: bool = True,
        asset_ids: Sequence[int] | None = None,
    ) -> EnrichSummary:
        """Look up hashed files (or only ``asset_ids``) on Civitai and store what is found (see
        catalog.enrich); ``app.after_scan`` decides when."""
        from catalog.enrich import enrich
        from core.jobs import no_progress

        return enrich(
            self.library,
            self.civitai(),
            covers=self.civitai_covers() if covers else None,
            force=force,
            asset_ids=asset_ids,
            progress=progress or no_progress,
            cancel=cancel,
        )

    def civitai_covers(self) -> CoverFetcher:
        """What gives a file linked to a Civitai version that version's first image (within the user's
        NSFW level) as its cover: the same for a hash lookup and a download from Civitai."""
        from catalog.enrich import CoverFetcher
        from core.sources.images import fetch_image_bytes

        session = self.image_session()
        return CoverFetcher(
            lambda url: fetch_image_bytes(session, url),
            self.cache_dir / "previews",
            nsfw_max_level=self.load_settings().nsfw_max_level,
        )

    def load_settings(self) -> Settings:
        """The current settings, frozen (a job reads them once and keeps them)."""
        return self.settings.snapshot()

    def save_settings(self, settings: Settings) -> None:
        self.settings_store.save(settings)
        self.settings.reload()

    def close(self) -> None:
        if "downloads" in self.__dict__:
            self.downloads.close()
            del self.__dict__["downloads"]
        if "reads" in self.__dict__:
            self.reads.close()
            del self.__dict__["reads"]
        if "library" in self.__dict__:
            self.library.close()
            del self.__dict__["library"]

    # jobs -------------------------------------------------------------------------------------------
    def add_root(
        self, path: Path, layout: LibraryLayout | None = None, *, name: str | None = None
    ) -> RootRecord:
        """Add a library folder, detecting its layout (A1111, ComfyUI, ...) unless given.

        Library folders never overlap: a file under two of them would move between them on every scan
        and count twice. A folder inside one, or holding some, is refused (``OverlappingRootError``);
        adding a library folder again returns it. ``name``: how every machine sharing the catalog calls it
        (default: the folder's own name).
        """
        from catalog.root_guard import refuse_unfit_root
        from core.layouts import detect_layout

        resolved = path.expanduser().resolve()
        if not resolved.is_dir():
            raise NotADirectoryError(f"not a folder: {resolved}")
        refuse_unfit_root(resolved)  # first: "/" holds every library folder, and is no folder to offer
        refuse_overlap(resolved, [Path(root.path) for root in self.library.roots()])
        return self.library.add_root(resolved, layout or detect_layout(resolved), name=name)

    def scan(
        self,
        root_ids: Sequence[int] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        *,
        files_gone: bool = False,
    ) -> ScanSummary:
        """Scan the roots (all when None); ``files_gone``: the files a folder lacks were deleted, even
        most of them (``scan --force``; catalog.scanner.Scanner.files_gone)."""
        from catalog.scanner import Scanner
        from core.jobs import no_progress

        scanner = Scanner(
            self._scan_catalog(), progress=progress or no_progress, cancel=cancel, files_gone=files_gone
        )
        return scanner.scan(root_ids)

    def _scan_catalog(self) -> ScanCatalog:
        """The library, or, while nothing has opened it yet, a catalog that reads through the light reader
        and opens the library at a scan's first write: an unchanged rescan never loads SQLAlchemy."""
        if "library" in self.__dict__ or self.server_catalog is not None:  # a server's scan: the Library
            return self.library
        from catalog.read_connection import CatalogReader
        from catalog.scan_catalog import WritesOpenTheLibrary

        reads = self.reads
        if isinstance(reads, CatalogReader):
            return WritesOpenTheLibrary(reads, lambda: self.library)
        return self.library

    def hash_pending(
        self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> HashSummary:
        from catalog.hashing_job import hash_pending
        from core.jobs import no_progress

        workers = int(self.settings.hash_workers)
        return hash_pending(self.library, workers=workers, progress=progress or no_progress, cancel=cancel)

    def discover_folders(self) -> list[DiscoveredFolder]:
        """The usual model folders found on this machine that are not library roots yet."""
        from core.layouts import discover_model_folders

        known = {Path(root.path) for root in self.library.roots()}
        return [found for found in discover_model_folders() if found.path not in known]

    def change_feed(self, on_change: ChangesCallback, on_state: StateCallback | None = None) -> ChangeFeed:
        """Starts following what other processes and machines commit to the catalog (``on_change`` gets
        each batch from the feed's thread; see :mod:`catalog.change_feed`); ``stop()`` the result."""
        return self.library.follow_changes(on_change, on_state)

    def watch(self, on_change: RootsChanged) -> LibraryWatcher:
        """Start watching every root this machine reaches (not a shared one it has not mapped: its stored
        path may be another folder here); ``on_change`` gets the ids of roots whose files changed."""
        from catalog.watcher import LibraryWatcher

        watcher = LibraryWatcher(on_change)
        watcher.start({root.id: Path(root.path) for root in self.library.roots() if root.placed_here})
        return watcher
