"""Starts the desktop app: creates the profile's ``AppContext`` and hands its parts to the window.

``app.context.AppContext`` is the one composition root; this module only adapts it to the shape the
widgets take (``DesktopServices``), wiring nothing of its own. Start-up order matters: the window must
be on screen at the speed of a bare Qt window, and creating a context reads only ``settings.json``; the
catalog (SQLAlchemy, Alembic), the site clients (requests, huggingface_hub) and the download queue are
opened by the context on first use, which the window schedules right after it is shown.

Two things are settled before the window: a catalog that cannot be opened (missing, unreadable,
damaged) is shown in a dialog with the user's choices (``desktop.catalog_check``), and a read-only data
folder gets a read-only window: the library only, with a banner, without the site, download and render
parts, which would all write.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from desktop.services import (
    AssetLibrary,
    DesktopServices,
    DiscoveredEntry,
    RemoteServices,
    RemoteSettings,
    Stoppable,
)

if TYPE_CHECKING:
    from app.after_scan import LookupRequest
    from app.context import AppContext
    from catalog.enrich import EnrichSummary
    from catalog.records import RootRecord
    from core.jobs import CancelToken, ProgressCallback
    from desktop.compose.service import RenderServiceLike
    from desktop.main_window import MainWindow
    from desktop.models.library_view import PageReads


class _LibraryOnFirstUse:
    """Stands in for ``catalog.Library`` and opens it (through the context) on the first method call."""

    def __init__(self, context: AppContext) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context.library, name)


def build_services(context: AppContext) -> DesktopServices:
    """The context's jobs and parts, in the shape the window expects (no service is built here).

    A read-only context gets the library alone: no watcher, sites, downloads, renders or lookups.
    """

    def scan_roots(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return context.scan(root_ids, progress=progress, cancel=cancel)

    def hash_pending(progress: ProgressCallback, cancel: CancelToken) -> object:
        return context.hash_pending(progress=progress, cancel=cancel)

    def discover_folders() -> list[DiscoveredEntry]:
        # The count comes with the search (capped, within its time budget): the dialog shows it.
        return [
            (found.path, found.layout.value, found.model_files, found.count_complete)
            for found in context.discover_folders()
        ]

    def add_root(path: Path) -> RootRecord:
        return context.add_root(path)

    def start_watching(on_change: Callable[[], None]) -> Stoppable:
        return context.watch(lambda _roots: on_change())

    def render_service() -> RenderServiceLike:
        # The context builds the service once; the engine (and torch) waits for the first render.
        return context.render_service

    def look_up_civitai(
        request: LookupRequest, progress: ProgressCallback, cancel: CancelToken
    ) -> EnrichSummary:
        from app.after_scan import look_up_on_civitai

        return look_up_on_civitai(context, request, progress, cancel)

    def page_reads() -> PageReads:
        # sqlite3 alone where the catalog can be read as it stands: the first page without SQLAlchemy.
        return context.reads

    def sync_mirrors(progress: ProgressCallback, cancel: CancelToken) -> object:
        from app.organize.mirror import sync_mirrors as sync

        return sync(context.library, progress, cancel)

    def merge_search_index(progress: ProgressCallback, cancel: CancelToken) -> object:
        from app.after_scan import merge_search_index as merge

        return merge(context, progress, cancel)

    remote = RemoteServices(
        civitai=context.civitai,
        huggingface=context.huggingface,
        fetch_image=context.fetch_image,
        downloads=lambda: context.downloads,
        tokens=context.tokens,
        settings=cast("RemoteSettings", context.settings),
    )
    reading = DesktopServices(
        library=cast("AssetLibrary", _LibraryOnFirstUse(context)),
        settings=cast("RemoteSettings", context.settings),
        scan_roots=scan_roots,
        hash_pending=hash_pending,
        discover_folders=discover_folders,
        add_root=add_root,
        cache_dir=context.cache_dir / "thumbnails",
        page_reads=page_reads,
        follow_changes=context.change_feed,  # read-only too: others' changes still show
    )
    if context.read_only:
        return reading  # no watching, sites, renders or mirror syncs: nothing may write
    return reading._replace(
        start_watching=start_watching,
        remote=remote,
        render=render_service,
        look_up_civitai=look_up_civitai,
        sync_mirrors=sync_mirrors,
        merge_search_index=merge_search_index,
    )


def open_window(context: AppContext, argv: list[str]) -> MainWindow | None:
    """The main window on the context's profile, on screen; None when the user quit instead (the
    catalog could not be opened and the dialog's choice was to quit). The event loop is not run."""
    from desktop.app import create_application, show_main_window
    from desktop.catalog_check import settle_catalog

    create_application(argv)
    if not settle_catalog(context):
        return None
    read_only: str | None = None
    if context.read_only:
        from catalog.errors import ReadOnlyCatalogError

        read_only = ReadOnlyCatalogError.for_folder(context.data_dir).message
    return show_main_window(build_services(context), argv, read_only=read_only)


def launch_gui(data_dir: str | Path | None, argv: list[str], *, catalog: str | None = None) -> int:
    """Open the main window on the given profile (and ``catalog``, a server's URL, when given); returns
    the process exit code.

    Python's cycle collector is paused from here until the window's first frame is drawn (see
    ``pause_collector``)."""
    resume = pause_collector()
    try:
        from app.context import AppContext
        from core.errors import AtelierError
        from desktop.app import create_application

        try:
            context = AppContext(data_dir, catalog=catalog)
        except AtelierError as error:  # a catalog URL that names no database Atelier can use
            print(f"atelier: {error}", file=sys.stderr)
            return 2
        window: MainWindow | None = None
        try:
            window = open_window(context, argv)  # kept while the event loop runs
            if window is None:
                return 1
            from desktop.widgets.after_paint import after_next_paint

            after_next_paint(window, resume)
            if context.settings_problems:  # on stderr too, which a start from a launcher shows nobody
                problems = context.settings_problems
                after_next_paint(window, lambda: _say_settings_problems(window, problems))
            holds: list[object] = []  # from the first frame on: new-catalog does not set it aside under us
            after_next_paint(window, lambda: holds.append(_hold_catalog(context.catalog_path)))
            return int(create_application(argv).exec())
        finally:
            context.close()
            if window is not None:  # the catalog as this window leaves it: the next start reads no schema
                context.remember_catalog_checked()
    finally:
        resume(freeze=False)  # a start that failed or ended before the first frame


def _say_settings_problems(window: MainWindow, problems: list[str]) -> None:
    """Tells the user, once the window is drawn, that settings.json could not be used as it was (moved
    aside, or values ignored): otherwise their settings would seem silently reset."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(window)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Settings not read")
    box.setText("Some of your settings could not be used, so their defaults are in effect.")
    box.setInformativeText("\n\n".join(problems))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()  # not modal to the event loop: the window goes on loading behind it


def _hold_catalog(catalog: Path) -> object:
    """This process's hold on its catalog (``app.catalog_users``), imported once the window is drawn."""
    from app.catalog_users import hold_catalog

    return hold_catalog(catalog)


def pause_collector() -> Callable[..., None]:
    """Pauses Python's cycle collector for the window's start; returns what resumes it (once; later
    calls do nothing), ``resume(freeze=False)`` where the start did not get as far as the window.

    Starting the window makes tens of thousands of objects that live as long as the app (modules,
    classes, the Qt enums PySide builds on first use, the widgets' wrappers) and little garbage, yet the
    collector would run some 25 times over them before the first frame. Resumed, it first sets them
    aside for good (``gc.freeze``: no later collection walks them either), so neither the window's start
    nor the running app pays for walking them; the few hundred objects of garbage the start leaves in
    cycles (318 of 36,853 tracked, measured) go aside with them rather than cost a full collection right
    after the first frame. A collector the caller had already disabled stays so."""
    import gc

    if not gc.isenabled():
        return lambda *, freeze=True: None
    gc.disable()
    resumed = False

    def resume(*, freeze: bool = True) -> None:
        nonlocal resumed
        if not resumed:
            resumed = True
            if freeze:
                gc.freeze()
            gc.enable()

    return resume
