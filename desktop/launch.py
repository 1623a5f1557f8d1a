"""Starts the desktop app: composes ``DesktopServices`` and runs the window.

This is the only place where the desktop meets ``app/``. Start-up order matters: the window must be on
screen at the speed of a bare Qt window, so nothing here imports the catalog (SQLAlchemy, Alembic, the
scanner) at module level. The ``AppContext`` is created on first use, which the window schedules right
after it is shown.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from app.secrets import TokenStore
from app.settings import Settings, SettingsStore, civitai_base_url, resolve_data_dir
from core.jobs import CancelToken, ProgressCallback
from desktop.services import AssetLibrary, DesktopServices, RemoteServices, RemoteSettings, Stoppable

if TYPE_CHECKING:
    import requests

    from app.context import AppContext
    from catalog.download_store import SqlDownloadStore
    from catalog.records import RootRecord
    from core.downloads import Downloader
    from core.sources.civitai import CivitaiClient
    from core.sources.huggingface import HuggingFaceClient
    from desktop.compose.service import RenderServiceLike


class PersistentSettings:
    """A mutable view of the frozen ``Settings`` for the dialogs; ``save`` writes them atomically."""

    def __init__(self, store: SettingsStore) -> None:
        self._store = store
        self._values: dict[str, Any] = {}
        self._reload()

    def _reload(self) -> None:
        current = self._store.load()
        self._values = {f.name: getattr(current, f.name) for f in fields(Settings)}

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
        elif name in self._values:
            self._values[name] = value
        else:
            raise AttributeError(f"unknown setting {name!r}")

    def save(self) -> None:
        self._store.save(Settings(**self._values))
        self._reload()  # pick up the clamping done on load


class DeferredContext:
    """Creates the ``AppContext`` (and so opens the catalog) the first time something needs it."""

    def __init__(self, data_dir: str | Path | None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._context: AppContext | None = None
        self.remote: RemoteWiring | None = None

    @property
    def context(self) -> AppContext:
        if self._context is None:
            from app.context import AppContext

            self._context = AppContext(self.data_dir)
        return self._context

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
        if self._context is not None:
            self._context.close()


class _LibraryOnFirstUse:
    """Stands in for ``catalog.Library`` and opens it on the first call of any of its methods."""

    def __init__(self, deferred: DeferredContext) -> None:
        self._deferred = deferred

    def __getattr__(self, name: str) -> Any:
        return getattr(self._deferred.context.library, name)


class RemoteWiring:
    """Builds the site clients, the image fetcher and the download engine on first use.

    Nothing network-related (requests, huggingface_hub) or catalog-related is imported before a tab
    needs it. A Civitai session is rebuilt when the token changes in the settings; the download engine's
    session adds each site's token to requests for that site only (``authorize``).
    """

    def __init__(self, deferred: DeferredContext, settings: PersistentSettings, tokens: TokenStore) -> None:
        self._deferred = deferred
        self._settings = settings
        self._tokens = tokens
        self._lock = threading.Lock()
        self._session: tuple[str | None, requests.Session] | None = None
        self._store: SqlDownloadStore | None = None
        self._downloader: Downloader | None = None

    def civitai_session(self) -> requests.Session:
        from core.net import make_session

        token = self._tokens.get("civitai")
        with self._lock:
            if self._session is None or self._session[0] != token:
                self._session = (token, make_session(token=token, min_interval_s=0.25))
            return self._session[1]

    def civitai(self) -> CivitaiClient:
        from core.sources.civitai import CivitaiClient

        return CivitaiClient(self.civitai_session(), civitai_base_url(str(self._settings.civitai_base_url)))

    def huggingface(self) -> HuggingFaceClient:
        from core.sources.huggingface import HuggingFaceClient

        endpoint = str(self._settings.hf_endpoint) or None
        return HuggingFaceClient(endpoint=endpoint, token=self._tokens.get("huggingface"))

    def fetch_image(self, url: str) -> bytes:
        """A preview image, bounded in size; raises on any failure (the caller shows a placeholder)."""
        from core.sources.images import fetch_image_bytes

        return fetch_image_bytes(self.civitai_session(), url)

    def downloader(self) -> Downloader:
        from catalog.download_store import SqlDownloadStore
        from core.downloads import Downloader
        from core.net import make_session

        with self._lock:
            if self._downloader is None:
                self._store = SqlDownloadStore.open(self._deferred.context.library.path)
                session = make_session()
                session.auth = self.authorize  # per host, so no site ever sees another site's token
                self._downloader = Downloader(
                    session, self._store, concurrency=int(self._settings.download_concurrency)
                )
            return self._downloader

    def authorize(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Adds the Civitai key only for the Civitai host and the HF token only for the Hub's host.

        Read per request, so a token changed in the settings applies to the next download; requests
        drops the header itself when a redirect leaves the host (Civitai's signed storage URLs).
        """
        from urllib.parse import urlsplit

        host = urlsplit(request.url or "").hostname
        civitai_host = urlsplit(civitai_base_url(str(self._settings.civitai_base_url))).hostname
        hf_endpoint = (
            str(self._settings.hf_endpoint) or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        )
        token = None
        if host is not None and host == civitai_host:
            token = self._tokens.get("civitai")
        elif host is not None and host == urlsplit(hf_endpoint).hostname:
            token = self._tokens.get("huggingface")
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        return request

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class _DownloaderOnFirstUse:
    """Stands in for ``core.downloads.Downloader`` and creates it (opening its queue) on first use."""

    def __init__(self, wiring: RemoteWiring) -> None:
        self._wiring = wiring

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wiring.downloader(), name)


def build_services(deferred: DeferredContext) -> DesktopServices:
    """Wire the (deferred) context's jobs into the shape the window expects."""

    def scan_roots(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return deferred.context.scan(root_ids, progress=progress, cancel=cancel)

    def hash_pending(progress: ProgressCallback, cancel: CancelToken) -> object:
        return deferred.context.hash_pending(progress=progress, cancel=cancel)

    def discover_folders() -> list[tuple[Path, str]]:
        return [(found.path, found.layout.value) for found in deferred.context.discover_folders()]

    def add_root(path: Path) -> RootRecord:
        return deferred.context.add_root(path)

    def start_watching(on_change: Callable[[], None]) -> Stoppable:
        return deferred.context.watch(lambda _roots: on_change())

    def render_service() -> RenderServiceLike:
        # The context builds the service once; the engine (and torch) waits for the first render.
        return deferred.context.render_service

    settings = PersistentSettings(SettingsStore(deferred.data_dir))
    tokens = TokenStore(deferred.data_dir)
    wiring = RemoteWiring(deferred, settings, tokens)
    deferred.remote = wiring
    remote = RemoteServices(
        civitai=wiring.civitai,
        huggingface=wiring.huggingface,
        fetch_image=wiring.fetch_image,
        downloader=cast("Downloader", _DownloaderOnFirstUse(wiring)),
        tokens=tokens,
        settings=cast("RemoteSettings", settings),
    )
    return DesktopServices(
        library=cast("AssetLibrary", _LibraryOnFirstUse(deferred)),
        settings=settings,
        scan_roots=scan_roots,
        hash_pending=hash_pending,
        discover_folders=discover_folders,
        add_root=add_root,
        cache_dir=deferred.data_dir / "cache" / "thumbnails",
        start_watching=start_watching,
        remote=remote,
        render=render_service,
    )


def launch_gui(data_dir: str | Path | None, argv: list[str]) -> int:
    """Open the main window on the given profile; returns the process exit code."""
    from desktop.app import run_gui

    deferred = DeferredContext(data_dir)
    try:
        return run_gui(build_services(deferred), argv)
    finally:
        deferred.close()
