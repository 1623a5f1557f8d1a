"""The main window: sidebar | grid or table | details, a filter bar, menus and the job status bar.

The window wires parts that know nothing of each other: the sidebar and the filter bar produce filters,
the window turns them into one ``AssetQuery`` for the shared ``AssetTableModel``; the views share one
selection model, whose current row feeds the details pane; the details pane's edits come back as
records that repaint their row. Long work (scan, hash) runs through ``JobRunner`` one job at a time, so
the window is shown and usable before any scan finishes.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QByteArray,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSize,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog.asset_query import AssetQuery, SortKey
from catalog.path_text import shown
from core.taxonomy import FileStatus
from desktop.compose.board_dock import BOARD_WIDTH, BoardDock
from desktop.delegates.sidebar_delegate import SidebarDelegate
from desktop.delegates.thumbnail_delegate import ThumbnailDelegate
from desktop.models.asset_table_model import SORT_KEYS, AssetColumn, AssetTableModel
from desktop.models.sidebar_model import (
    ALL_SCOPE,
    ScopeKind,
    Section,
    SidebarModel,
    SidebarRole,
    SidebarScope,
)
from desktop.qt_namespace import Qt, set_enum_property
from desktop.resources import icon
from desktop.services import DesktopServices, RemoteServices, Stoppable
from desktop.status_bar import AppStatusBar, remember_line_height
from desktop.theme import apply_theme, desktop_scheme
from desktop.thumbnails import ThumbnailCache
from desktop.widgets.after_paint import after_next_paint
from desktop.widgets.asset_views import AssetGrid, AssetTable
from desktop.widgets.drag_tabs import DragSwitchTabWidget
from desktop.widgets.filter_bar import FilterBar, FilterState, StatusFilter
from desktop.widgets.library_area import LibraryArea, local_files
from desktop.widgets.sidebar_view import SidebarView
from desktop.workers import JobFunction, JobHandle, JobRunner

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QKeySequence  # the shortcuts' class: with the menus' entries (_fill_menus)

    from app.after_scan import ChainSteps
    from app.import_files import InPlacePlan
    from catalog.records import AssetRecord, Facets, RootRecord  # read after the first frame
    from core.downloads import DownloadRecord
    from core.jobs import CancelToken, ProgressCallback
    from desktop.compose.compose_tab import ComposeTab
    from desktop.dialogs.first_start_dialog import FirstStartDialog
    from desktop.dialogs.import_files_dialog import ImportFilesDialog
    from desktop.download_manager import DownloadManager
    from desktop.live_changes import LiveChanges
    from desktop.models.library_view import FirstPage, LibraryCounts
    from desktop.tabs.civitai_tab import CivitaiTab
    from desktop.tabs.downloads_tab import DownloadsTab
    from desktop.tabs.huggingface_tab import HuggingFaceTab
    from desktop.widgets.details_pane import DetailsPane
    from desktop.widgets.library_area import EmptyLibraryPage

WATCH_DEBOUNCE_MS = 500
WINDOW_FRAME_ALLOWANCE = QSize(16, 48)  # a window manager's borders and title bar, outside the window
DETAILS_MIN_WIDTH = 300  # the details pane's own minimum (desktop.widgets.details_pane)
SIDEBAR_MIN_WIDTH = 150
SIDE_WIDTH, DETAILS_WIDTH = 200, 340  # the sidebar's and the details pane's first widths beside the board
# The library tab's width (the window's, less the board) below which both start at their minimums
# instead: on a 1366x768 or 1280x720 laptop the library keeps two columns of tiles.
ROOMY_LIBRARY_TAB = 1100
NewsTest = Callable[[object], bool]  # whether a job's result is worth the status bar's line

SCAN_TITLE = "Scan"
HASH_TITLE = "Hashing"
LOOKUP_TITLE = "Civitai lookup"
# Files that cannot be rendered or looked up: their menu entries are shown disabled, with the reason.
_UNUSABLE = {
    FileStatus.CORRUPT: "damaged",
    FileStatus.UNSAFE: "unsafe",
    FileStatus.MISSING: "missing",
    FileStatus.UNREADABLE: "unreadable",
}


_HEX_HASH = r"[0-9A-Fa-f]{8,64}"  # a missing asset's hash (AutoV2, SHA256...); compiled when first used


class MainWindow(QMainWindow):
    files_changed = Signal()  # emitted from the watcher's thread; delivered queued on the GUI thread
    job_ended = Signal(str)  # title of the job that just ended (for tests and the job queue)
    # A job's scan step has written its files (emitted from the job's thread, delivered queued): the rows
    # show before the job goes on to hash them. On a server the change feed leaves out this window's own
    # writes, so it would not show them until the whole job ends.
    scan_step_done = Signal()

    def __init__(
        self, services: DesktopServices, parent: QWidget | None = None, *, load_later: bool = False
    ) -> None:
        """With ``load_later`` the rows are read on the first turn of the event loop, so the window is
        on screen before the catalog (SQLAlchemy, migrations) has even been opened."""
        super().__init__(parent)
        self.services = services
        self.library = services.library
        self.setWindowTitle("Atelier")
        self.setWindowIcon(icon("app"))
        self.resize(self._within_the_screen(QSize(1360, 860)))

        self.jobs = JobRunner(self)
        self._queue: deque[tuple[str, JobFunction, NewsTest | None]] = deque()
        self._current_job: JobHandle | None = None
        self._watcher: Stoppable | None = None
        self.live_changes: LiveChanges | None = None  # others' changes to the catalog, shown as they come
        self._root_scope: int | None = None
        self._collection_scope: str | None = None
        self._folder_scope: str | None = None  # a sidebar sub-folder (desktop.organize's folder tree)
        self._scope: SidebarScope = ALL_SCOPE
        self._collapsed_sections: set[int] = set()
        self._syncing_sidebar = False
        self._total = 0
        self.first_start_dialog: FirstStartDialog | None = None

        self.delegate = ThumbnailDelegate(services.settings.thumbnail_size, self)
        self.thumbnails = ThumbnailCache(services.cache_dir, self.delegate.image_size(), self)
        self.model = AssetTableModel(self.library, self.thumbnails, self)
        settings = services.settings  # the sort the user left: the first read sorts so
        self.model.start_with(
            self.model.query._replace(sort=SortKey(settings.sort_key), descending=settings.sort_descending)
        )

        self.tabs: QTabWidget | None = None
        self.downloads: DownloadManager | None = None
        self.civitai_tab: CivitaiTab | None = None
        self.huggingface_tab: HuggingFaceTab | None = None
        self.downloads_tab: DownloadsTab | None = None
        self.compose_tab: ComposeTab | None = None
        self.compose_dock: BoardDock | None = None
        self._board_placed_from_state = False  # where the window closed (Settings.window_state)
        self.import_dialog: ImportFilesDialog | None = None
        # Features add their entries to the library's context menu through these (see _show_context_menu).
        self.context_menu_sections: list[Callable[[QMenu, list[AssetRecord]], None]] = []
        self._build_views()
        self.filter_bar.set_sort(self.model.query.sort, self.model.query.descending)
        self._build_menus()
        if services.settings.status_line_font and services.settings.status_line_height:
            remember_line_height(services.settings.status_line_font, services.settings.status_line_height)
        self.status = AppStatusBar(self)
        self.setStatusBar(self.status)

        self._watch_timer = QTimer(self)
        self._watch_timer.setSingleShot(True)
        self._watch_timer.setInterval(WATCH_DEBOUNCE_MS)
        self._watch_timer.timeout.connect(self._on_files_changed_settled)
        self.files_changed.connect(self._watch_timer.start)
        self.scan_step_done.connect(self.reload)

        self.set_view_mode(services.settings.view_mode)
        self._closing = False
        self._features_installed = False
        self._when_ready: list[Callable[[], None]] | None = []  # None once the window is complete
        if load_later:
            if services.remote is not None or services.render is not None:
                self._ensure_tabs()  # the tab bar is there from the first paint: the window does not jump
            if services.render is not None:
                self._build_compose_dock()  # and the board's room beside the library
            # First paint, then the rows (read on a job thread, see desktop.models.library_view), then
            # the rest: the details pane, the organizing features, the site tabs and the Compose tab each
            # import a large part of the app (the catalog's write side, requests, the render service).
            # The read waits for the first frame (see desktop.widgets.after_paint); a window that is
            # never drawn (started minimized, on another desktop) still loads and scans. The menus'
            # entries come with that frame too (see ``_build_menus``).
            after_next_paint(self, self._fill_menus)
            after_next_paint(self, self.status.measure_line_height)  # the one remembered, checked
            after_next_paint(self, self._load_first_view)
        else:
            self._fill_menus()
            self._install_features()
            self.reload()
            self._complete()
        self._restore_shape()

    def _load_first_view(self) -> None:
        """Reads the first page off the GUI thread, so the window paints and answers while the catalog
        opens (see ``desktop.models.library_view``); then the counts; then builds the rest."""
        from desktop.models.library_view import read_first_page  # the catalog's reads: once drawn

        query, page_size = self.model.query, self.model.page_size
        page_reads, library = self.services.page_reads, self.library

        def read(_progress: ProgressCallback, _cancel: CancelToken) -> FirstPage:
            return read_first_page(page_reads() if page_reads is not None else library, query, page_size)

        handle = self.jobs.start("Opening the library", read)
        handle.signals.finished.connect(self._show_first_page)
        handle.signals.failed.connect(lambda _message: self._show_first_page(None))

    def _show_first_page(self, page: FirstPage | None) -> None:
        """Shows the first page's rows, then reads the counts (a failed read is done again here, where
        its error shows as before)."""
        if self._closing:
            return
        if page is None or page.query != self.model.query:  # the user changed the filters meanwhile
            self.reload()
            QTimer.singleShot(0, self._complete)  # after the rows are painted
            return
        self._total = page.total
        self.model.show_result(page.ids, frozenset(), page.first_page)
        self._restore_selection(None)
        self._update_count(page.roots)
        # The Library's imports on the job thread would slow the drawing of these rows: once drawn.
        after_next_paint(self.current_view().viewport(), lambda: self._load_counts(page.roots))

    def _load_counts(self, roots: Sequence[RootRecord]) -> None:
        """Reads the sidebar's counts, the tags and the update badges (opening the Library) off the GUI
        thread."""
        if self._closing:
            return
        from desktop.models.library_view import read_counts

        library = self.library

        def read(_progress: ProgressCallback, _cancel: CancelToken) -> LibraryCounts:
            return read_counts(library)

        handle = self.jobs.start("Opening the library", read)
        handle.signals.finished.connect(lambda counts: self._show_counts(counts, roots))
        handle.signals.failed.connect(lambda _message: self._show_counts(None, roots))

    def _show_counts(self, counts: LibraryCounts | None, roots: Sequence[RootRecord]) -> None:
        """The sidebar's counts, the tags and the update badges of the first view; then the rest."""
        if self._closing:
            return
        if counts is None:
            self.reload()
        else:
            self.model.show_updates(counts.update_ids)
            self.refresh_sidebar(counts.facets, roots)
            self.filter_bar.set_tags(counts.tags)
            self._update_count(roots)
        QTimer.singleShot(0, self._complete)  # after the rows are painted

    def _complete(self) -> None:
        """Installs the organizing features, the site tabs and the Compose tab (in the order their menus
        and tabs appear), then runs what waited for a complete window (``when_ready``)."""
        if self._closing or self._when_ready is None:
            return
        self._fill_menus()  # the features add theirs after them (done at the first frame, unless never drawn)
        self.details  # noqa: B018 - made now if nothing has shown a model yet: the window is complete
        self.grid, self.table  # noqa: B018 - and the library view the first frame did not show
        if not self._features_installed:  # with ``load_later``: after the first view
            self._install_features()
            self.sidebar_model.announce_roots()  # the folder tree reads the roots already shown
        if self.services.remote is not None:
            self._build_remote_tabs(self.services.remote)
        if self.services.render is not None:
            self._build_compose_tab()
        self._chain_search_to_details()
        if self.services.follow_changes is not None:
            from desktop.live_changes import LiveChanges

            self.live_changes = LiveChanges(self, self.services.follow_changes)
        waiting, self._when_ready = self._when_ready, None
        for callback in waiting:
            callback()

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Runs ``callback`` once the window is complete (at once if it is): start-up work that uses the
        catalog or the features waits for the first view instead of racing it."""
        if self._when_ready is None:
            callback()
        else:
            self._when_ready.append(callback)

    # -- construction -------------------------------------------------------------------------------

    def _build_views(self) -> None:
        self.sidebar_model = SidebarModel(self)
        self.sidebar = SidebarView()  # library rows dropped on a folder move there (desktop.organize)
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setModel(self.sidebar_model)
        self.sidebar.setItemDelegate(SidebarDelegate(self.sidebar))
        self.sidebar.setHeaderHidden(True)
        self.sidebar.setIndentation(12)
        self.sidebar.setUniformRowHeights(True)
        self.sidebar.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sidebar.setMinimumWidth(SIDEBAR_MIN_WIDTH)
        self.sidebar.selectionModel().currentChanged.connect(self._on_sidebar_current_changed)
        self.sidebar.collapsed.connect(
            lambda index: None if index.parent().isValid() else self._collapsed_sections.add(index.row())
        )
        self.sidebar.expanded.connect(
            lambda index: None if index.parent().isValid() else self._collapsed_sections.discard(index.row())
        )

        self.filter_bar = FilterBar()
        self.filter_bar.filters_changed.connect(self._on_filters_changed)
        self.filter_bar.view_mode_changed.connect(self.set_view_mode)
        self.filter_bar.sort_changed.connect(self._on_sort_chosen)
        self.filter_bar.results_requested.connect(self.focus_results)

        # One selection model for both views: switching views keeps the selection and current row.
        self.selection = QItemSelectionModel(self.model, self)
        self.selection.currentChanged.connect(self._on_current_changed)
        # The grid and the table are made when first needed (see ``grid`` and ``table``): the first frame
        # draws the one the settings show (``set_view_mode``), the other is made once the window is
        # complete. The empty library's page joins them when a library without folders is first shown.
        self._grid: AssetGrid | None = None
        self._table: AssetTable | None = None
        self._empty_text = ""
        self._empty_library: EmptyLibraryPage | None = None
        self.views = QStackedWidget()

        # Files dropped from a file manager anywhere on the filter bar and views join the library.
        center = self.library_area = LibraryArea()
        center.files_dropped.connect(self.import_dropped_files)
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(0)
        center_layout.addWidget(self.filter_bar)  # wraps when narrow: never wider than the window
        center_layout.addWidget(self.views, 1)

        # The details pane (a large part of the window's modules) is made on first use; until then an
        # empty pane of its width holds its place (see ``details``).
        self._details: DetailsPane | None = None
        self._details_place = QWidget()
        self._details_place.setObjectName("detailsContent")
        self._details_place.setMinimumWidth(DETAILS_MIN_WIDTH)

        self.splitter = QSplitter()  # horizontal (Qt's default: naming it would build the Qt namespace)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self._details_place)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([220, 760, 380])
        self.setCentralWidget(self.splitter)

    @property
    def grid(self) -> AssetGrid:
        """The library's grid of tiles, made the first time it is needed."""
        if self._grid is None:
            self._grid = AssetGrid(self.model, self.delegate)
            self._add_view(self._grid)
        return self._grid

    @property
    def table(self) -> AssetTable:
        """The library's table, made the first time it is needed; its header shows the sort chosen
        before it was made (the grid's sort is the same query)."""
        if self._table is None:
            table = AssetTable(self.model)
            header = table.horizontalHeader()
            order = (
                Qt.SortOrder.DescendingOrder if self.model.query.descending else Qt.SortOrder.AscendingOrder
            )
            header.setSortIndicator(self.model.sort_column(), order)
            header.sortIndicatorChanged.connect(self._on_sort_indicator_changed)
            table.setSortingEnabled(True)  # sorts by the indicator: the query it already is, not run again
            self._table = table
            self._add_view(table)
        return self._table

    def _add_view(self, view: AssetGrid | AssetTable) -> None:
        """A library view joins the stack: the shared selection, the context menu, the empty hint."""
        own = view.selectionModel()
        view.setSelectionModel(self.selection)
        own.deleteLater()
        view.empty_text = self._empty_text
        set_enum_property(view, "contextMenuPolicy", "CustomContextMenu")
        view.customContextMenuRequested.connect(self._show_context_menu)
        view.doubleClicked.connect(lambda _index: self.send_to_compose())
        view.enter_pressed.connect(self.send_to_compose)
        self.views.addWidget(view)

    def _chain_search_to_details(self) -> None:
        """Tab from the search goes to the results (the one shown: the chain skips the hidden view), and
        on to the details pane; Shift+Tab comes back. Laid once the window is complete: widgets made
        later than the views (the "Compose board" button) otherwise stood between them and the pane."""
        self.filter_bar.lead_search_to(self.table, self.grid, *_tab_stops_in(self.details))

    @property
    def empty_library(self) -> EmptyLibraryPage:
        """The page shown instead of the views while the library has no folder ("Add library folder…"),
        made the first time a library without folders is shown: a library with folders never needs it,
        so the window's first frame is drawn without it."""
        if self._empty_library is None:
            from desktop.widgets.library_area import EmptyLibraryPage

            page = EmptyLibraryPage()
            page.add_folder_requested.connect(self.choose_and_add_folder)
            self.views.addWidget(page)
            self._empty_library = page
        return self._empty_library

    def _empty_library_shown(self) -> bool:
        return self._empty_library is not None and self.views.currentWidget() is self._empty_library

    @property
    def details(self) -> DetailsPane:
        """The details pane, made the first time it is needed (at the latest once the first view is
        shown); it takes the place the window kept for it, at the same width."""
        if self._details is None:
            from desktop.widgets.details_pane import DetailsPane

            pane = DetailsPane(self.library, self.services.cache_dir, self)
            pane.asset_edited.connect(self._on_asset_edited)
            pane.copied.connect(self.status.flash)
            self._details = pane
            place = self._details_place
            self.splitter.replaceWidget(self.splitter.indexOf(place), pane)
            place.deleteLater()
        return self._details

    def _show_details(self, record: AssetRecord | None) -> None:
        """Shows ``record`` in the details pane; nothing to show needs no pane yet."""
        if record is not None or self._details is not None:
            self.details.show_asset(record)

    def _build_remote_tabs(self, remote: RemoteServices | None) -> None:
        """Library | Civitai | Hugging Face | Downloads; the remote tabs share one image cache and queue."""
        from desktop.download_manager import DownloadManager
        from desktop.remote_images import RemoteImageCache
        from desktop.tabs.civitai_tab import COVER_SIZE, CivitaiTab
        from desktop.tabs.downloads_tab import DownloadsTab
        from desktop.tabs.huggingface_tab import HuggingFaceTab

        if remote is None:
            return
        self.downloads = DownloadManager(
            remote.downloads(), lambda: remote.settings.download_concurrency, self
        )
        self.downloads.completed.connect(self._on_download_completed)
        self.remote_images = RemoteImageCache(
            remote.fetch_image,
            self.services.cache_dir / "remote",
            COVER_SIZE,
            max_level=lambda: remote.settings.nsfw_max_level,
            parent=self,
        )
        self.details.set_remote_images(self.remote_images)  # example images of the Civitai facts
        self.civitai_tab = CivitaiTab(remote, self.library, self.downloads, self.remote_images)
        self.huggingface_tab = HuggingFaceTab(remote, self.library, self.downloads)
        self.downloads_tab = downloads_tab = DownloadsTab(self.downloads)
        tabs = self._ensure_tabs()
        tabs.addTab(self.civitai_tab, "Civitai")
        tabs.addTab(self.huggingface_tab, "Hugging Face")
        tabs.addTab(self.downloads_tab, "Downloads")
        self.downloads_tab.active_count_changed.connect(self._set_downloads_badge)
        for tab in (self.civitai_tab, self.huggingface_tab):
            tab.message.connect(self.status.flash)
        if self.compose_tab is not None:
            self.compose_tab.set_civitai_search(True)
        self.downloads_tab.message.connect(self.status.flash)

        def add_folder_for_downloads() -> None:  # the Downloads tab's "Choose folder…"
            from PySide6.QtWidgets import QFileDialog

            chosen = QFileDialog.getExistingDirectory(self, "Add a library folder to download into")
            if chosen:
                self.add_folder(Path(chosen))
                downloads_tab.choose_root(str(Path(chosen).resolve()))

        self.downloads_tab.choose_folder_requested.connect(add_folder_for_downloads)
        self.downloads_tab.show_in_library_requested.connect(lambda path: self.show_in_library(Path(path)))
        self.downloads.start()  # downloads queued or cut off by a crash before the last exit continue

    def _ensure_tabs(self) -> QTabWidget:
        """The tab bar (Library first), made when the first other tab is built."""
        if self.tabs is None:
            # A drag resting on a tab opens it (library -> Compose), and a drop on a tab is routed.
            tabs = DragSwitchTabWidget()
            tabs.setDocumentMode(True)
            tabs.addTab(self.splitter, "Library")
            tabs.drag_tab_bar.dropped_on_tab.connect(self._on_tab_drop)
            tabs.currentChanged.connect(lambda _index: self._sync_compose_dock())
            self.tabs = tabs
            self.setCentralWidget(self.tabs)
        return self.tabs

    def _build_compose_tab(self) -> None:
        """The Compose tab (preview, render controls, gallery) right after Library, and the compose board
        docked beside the Library and Compose tabs, so models are dragged onto it from the library.

        The render service is made when the tab is first shown; the board's visibility is remembered.
        """
        from desktop.compose.compose_tab import ComposeTab

        factory = self.services.render
        if factory is None or self.compose_tab is not None:
            return
        dock = self._build_compose_dock()
        self.compose_tab = ComposeTab(self.library, factory, self.services.cache_dir / "renders")
        self.compose_tab.message.connect(self.status.flash)
        self.compose_tab.cover_changed.connect(self._on_cover_changed)
        self.compose_tab.find_on_civitai.connect(self.find_on_civitai)
        self.job_ended.connect(self.compose_tab.on_window_job_ended)  # the board follows renames, moves
        self.compose_tab.set_civitai_search(self.civitai_tab is not None)
        tabs = self._ensure_tabs()
        tabs.insertTab(1, self.compose_tab, "Compose")
        self.send_to_compose_action.setEnabled(True)

        self.details.parameters_requested.connect(self.use_parameters_on_board)
        panel = self.compose_tab.board_panel
        panel.render_requested.connect(lambda: tabs.setCurrentWidget(self.compose_tab))
        dock.set_board(panel)
        from desktop.widgets.follow_enabled import EnabledFollower

        EnabledFollower(self.render_action, panel.render_button)  # greyed out while a render runs

    def _build_compose_dock(self) -> BoardDock:
        """The board's dock beside the library, its View menu entry (F9) and the tab bar's toggle; made
        before the first paint when the window is built in steps, so the board's room is there from the
        first frame and the window does not widen when the Compose tab brings the board."""
        if self.compose_dock is not None:
            return self.compose_dock
        tabs = self._ensure_tabs()
        saved = self._restore_saved_state()  # before the dock exists: Qt keeps its place for it
        self.compose_dock = BoardDock(self)
        self.compose_dock.closed.connect(self._board_closed)
        # Where the user left it (its side and width), without naming a dock area: a Qt enum would
        # build PySide's Qt namespace before the first frame (see desktop.qt_namespace).
        self._board_placed_from_state = saved and self.restoreDockWidget(self.compose_dock)
        if not self._board_placed_from_state:  # a first start, or a state that has no board
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.compose_dock)
            if self.services.settings.compose_board_visible:
                self._make_room_for_the_board()
        self.compose_board_action = self._action(
            "Compose &board",
            lambda: self.set_compose_board_visible(self.compose_board_action.isChecked()),
            icon_name="board",  # F9 and the View menu's entry come with the menus' entries
        )
        self.compose_board_action.setCheckable(True)
        self.compose_board_action.setToolTip("Show the compose board beside the library (F9)")
        self.compose_board_action.setChecked(self.services.settings.compose_board_visible)
        if self._menus_filled:
            self._add_board_to_view_menu()
        toggle = QToolButton()
        toggle.setObjectName("composeBoardToggle")
        toggle.setDefaultAction(self.compose_board_action)
        set_enum_property(toggle, "toolButtonStyle", "ToolButtonTextBesideIcon")
        tabs.setCornerWidget(toggle)  # top right
        self._sync_compose_dock()
        return self.compose_dock

    def _board_closed(self) -> None:
        """The board's own close button: hidden until shown again, and so at the next start. A floating
        board is closed with the window too, which is not the user hiding it."""
        if not self._closing:
            self.set_compose_board_visible(False)

    def _restore_saved_state(self) -> bool:
        """The docks' state the window closed with (``Settings.window_state``); False where there is none
        or Qt cannot read it (then the board gets its first start's place)."""
        state = self.services.settings.window_state
        return bool(state) and self.restoreState(QByteArray.fromBase64(state.encode("ascii")))

    def _add_board_to_view_menu(self) -> None:
        """View › Compose board (F9), before "Send to compose board"."""
        from PySide6.QtGui import QKeySequence

        self.compose_board_action.setShortcut(QKeySequence("F9"))
        self.view_menu.insertAction(self.send_to_compose_action, self.compose_board_action)

    def take_its_first_size(self) -> None:
        """Before the first frame, once styled: never smaller than the layout needs (on a screen smaller
        than that, Qt would otherwise widen the window after its first frame)."""
        self.resize(self.size().expandedTo(self.minimumSizeHint()))

    def _within_the_screen(self, wanted: QSize) -> QSize:
        """``wanted``, no larger than the screen's free area with room for the window's frame: on a
        1366x768 or 1280x720 laptop screen the window opened taller and wider than the screen, its status
        bar and the board's Render button out of reach."""
        screen = self.screen()
        if screen is None:
            return wanted
        return wanted.boundedTo(screen.availableGeometry().size() - WINDOW_FRAME_ALLOWANCE)

    def _make_room_for_the_board(self, width: int = BOARD_WIDTH) -> None:
        """Widens the window by the board's width where the screen allows, so the library keeps its room
        (before the window is shown: its first frame has this shape)."""
        if self.compose_dock is None:
            return
        wanted = self._within_the_screen(QSize(self.width() + width, self.height())).width()
        if not self.isMaximized() and wanted > self.width():
            self.resize(wanted, self.height())
        dock = self.compose_dock
        side, details = self._side_panes_beside(width)

        def settle() -> None:  # once the new width is laid out: the board its width, the grid the rest
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
            sizes = self.splitter.sizes()
            if len(sizes) == 3:
                left, right = min(sizes[0], side), min(sizes[2], details)
                self.splitter.setSizes([left, sum(sizes) - left - right, right])

        if self.isVisible():
            QTimer.singleShot(0, settle)
        else:  # the sizes the first layout starts from: the first frame has this shape, and stays so
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
            self.splitter.setSizes([side, max(self.width() - width - side - details, 0), details])

    def _side_panes_beside(self, board_width: int) -> tuple[int, int]:
        """The sidebar's and the details pane's widths beside a board ``board_width`` wide: their own
        widths where the window has room, their minimums where it has not (on a 1280x720 screen the
        library got 300 px, one column of tiles)."""
        if self.width() - board_width >= ROOMY_LIBRARY_TAB:
            return SIDE_WIDTH, DETAILS_WIDTH
        return SIDEBAR_MIN_WIDTH, DETAILS_MIN_WIDTH

    def _restore_shape(self) -> None:
        """The window as the user left it (size, place, maximized; the panes' and the board's widths),
        kept within this screen: a window left on a larger monitor still fits this one. Before the
        window is shown, so its first frame has this shape."""
        settings = self.services.settings
        if settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode("ascii")))
            self._keep_within_the_screen()
        if len(settings.library_splitter) == self.splitter.count() and all(settings.library_splitter):
            self.splitter.setSizes(list(settings.library_splitter))
        if settings.board_width and self.compose_dock is not None and not self._board_placed_from_state:
            self.resizeDocks([self.compose_dock], [settings.board_width], Qt.Orientation.Horizontal)

    def _keep_within_the_screen(self) -> None:
        """A restored window no larger than this screen's free area and placed on it."""
        screen = self.screen()
        if screen is None or self.isMaximized():
            return
        free = screen.availableGeometry()
        size = self._within_the_screen(self.size())
        if size != self.size():
            self.resize(size)
        room = free.size() - size - WINDOW_FRAME_ALLOWANCE
        x = min(max(self.x(), free.x()), free.x() + max(room.width(), 0))
        y = min(max(self.y(), free.y()), free.y() + max(room.height(), 0))
        if (x, y) != (self.x(), self.y()):
            self.move(x, y)

    def _remember_shape(self) -> None:
        """Saves the window's shape and the library's sort for the next start (see ``_restore_shape``)."""
        settings = self.services.settings
        settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        settings.window_state = bytes(self.saveState().toBase64().data()).decode("ascii")
        settings.desktop_scheme = desktop_scheme()  # the scheme the next start begins in
        settings.status_line_font, settings.status_line_height = self.status.measure_line_height()
        sizes = self.splitter.sizes()
        if all(sizes):  # a splitter never laid out has no sizes worth keeping
            settings.library_splitter = tuple(sizes)
        if self.compose_dock is not None and self.compose_dock.isVisible():
            settings.board_width = self.compose_dock.width()
        settings.sort_key = self.model.query.sort.value
        settings.sort_descending = self.model.query.descending
        with contextlib.suppress(OSError):  # a full or vanished disk: the window closes all the same
            settings.save()

    def set_compose_board_visible(self, visible: bool) -> None:
        """Shows or hides the docked board (View › Compose board, F9, the tab bar's button); remembered."""
        if self.compose_dock is None:
            return
        self.compose_board_action.setChecked(visible)
        settings = self.services.settings
        if settings.compose_board_visible != visible:
            settings.compose_board_visible = visible
            settings.save()
        self._sync_compose_dock()

    def _sync_compose_dock(self) -> None:
        """The board shows beside the Library and Compose tabs; the site tabs get the whole width."""
        if self.compose_dock is None:
            return
        current = self.tabs.currentWidget() if self.tabs is not None else self.splitter
        wanted = self.compose_board_action.isChecked() and current in (self.splitter, self.compose_tab)
        if self.compose_dock.isHidden() == wanted:
            self.compose_dock.setVisible(wanted)

    def use_parameters_on_board(self, infotext: str) -> None:
        """A Civitai example's "Use on board": its parameters fill the board, which is shown."""
        if self.compose_tab is not None and self.compose_tab.paste_parameters(infotext):
            self.set_compose_board_visible(True)

    def render_board(self) -> None:
        """View › Render the board (Ctrl+Return): what the board's Render button does, the Compose tab
        brought forward to show the render; nothing while the button is disabled (a render runs)."""
        if self.compose_tab is not None:
            self.compose_tab.board_panel.render_button.click()

    def open_find(self) -> None:
        """View › Find (Ctrl+F): the search of the tab in front where it has one (Civitai, Hugging Face);
        from any other tab the Library tab comes forward with its search focused (typing into a hidden
        search filtered a library the user could not see)."""
        current = self.tabs.currentWidget() if self.tabs is not None else None
        for site in (self.civitai_tab, self.huggingface_tab):
            if site is not None and current is site and site.search_field.isVisible():
                site.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
                site.search_field.selectAll()
                return
        if self.tabs is not None:
            self.tabs.setCurrentWidget(self.splitter)
        self.filter_bar.focus_search()

    def focus_results(self) -> None:
        """Down or Enter in the search: the first result current and the keys in the results, so the
        arrows, Enter and the context keys act on them. With no result the search keeps the keys."""
        if self.model.rowCount() == 0 or self._empty_library_shown():
            return
        self.select_row(0)
        self.current_view().setFocus(Qt.FocusReason.OtherFocusReason)

    def send_to_compose(self) -> None:
        """Adds the selected library rows to the compose board and shows the board beside the library."""
        records = self.selected_records()
        if self.compose_tab is None or not records:
            return
        self.compose_tab.add_assets([record.id for record in records])
        self.set_compose_board_visible(True)

    def _on_tab_drop(self, index: int, mime: QMimeData) -> None:
        """A drop on a tab's title: models on "Compose" go on the board, files on "Library" are added."""
        widget = self.tabs.widget(index) if self.tabs is not None else None
        if widget is self.compose_tab and self.compose_tab is not None:
            if self.compose_tab.board.drop(mime):
                self.set_compose_board_visible(True)
        elif widget is self.splitter and local_files(mime):
            self.import_dropped_files(local_files(mime))

    # -- files dropped from a file manager ----------------------------------------------------------

    def import_dropped_files(self, paths: Sequence[Path]) -> None:
        """Asks once how dropped files join the library (copied into a library folder, or cataloged
        where they are), then does it in the background: copy, scan, hash."""
        from app.import_files import collect_models, plan_in_place
        from desktop.dialogs.import_files_dialog import ImportFilesDialog

        models = collect_models(paths)
        if not models:
            self.status.flash("Nothing to add: drop model files (.safetensors, .ckpt, .pt…) or their folders")
            return
        roots = list(self.library.roots())
        plan = plan_in_place(paths, roots)
        remote = self.services.remote
        download_root = remote.settings.download_root if remote is not None else ""
        dialog = ImportFilesDialog(models, roots, plan.new_folders, self, download_root=download_root)
        self.import_dialog = dialog
        dialog.accepted.connect(lambda: self._import_models(dialog, models, plan))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()  # window-modal but not blocking: the drop that asked has already returned

    def _import_models(self, dialog: ImportFilesDialog, models: Sequence[Path], plan: InPlacePlan) -> None:
        self.import_dialog = None
        root = dialog.chosen_root()
        if not dialog.copy_chosen() or root is None:
            new_ids = [i for i in (self._add_root(f, scan=False) for f in plan.new_folders) if i is not None]
            if new_ids:
                self.reload()
                self.restart_watching()
            if new_ids or plan.rescan_root_ids:
                self.rescan([*plan.rescan_root_ids, *new_ids])
            return
        from app.after_scan import ChainSteps
        from app.import_files import copy_models, plan_copies

        settings = self.services.settings
        steps = ChainSteps(
            root_ids=(root.id,), hash=settings.hash_in_background, look_up=settings.auto_lookup_civitai
        )
        scan_hash_look_up = self._chain(steps)  # the app's after-scan chain, as for any new file

        def copy_then_scan(progress: ProgressCallback, cancel: CancelToken) -> object:
            summary = copy_models(plan_copies(models, root), progress, cancel)
            scan_hash_look_up(progress, cancel)
            return summary

        self.run_job(f"Adding {len(models)} file(s)", copy_then_scan)

    def find_on_civitai(self, query: str) -> None:
        """Shows the Civitai tab searching ``query`` (a missing asset's hash or name)."""
        if self.civitai_tab is None or self.tabs is None:
            QGuiApplication.clipboard().setText(query)
            self.status.flash(f"Copied {query}; search for it on Civitai")
            return
        self.tabs.setCurrentWidget(self.civitai_tab)
        if re.fullmatch(_HEX_HASH, query):
            self.civitai_tab.find_file(query)
            return
        self.civitai_tab.search_field.setText(query)
        self.civitai_tab.search()

    def _on_cover_changed(self, asset_id: int) -> None:
        self.thumbnails.forget_failures()
        self.model.refresh_asset(asset_id)
        if self.current_asset_id() == asset_id:
            self.details.show_asset(self.library.get(asset_id))

    def _set_downloads_badge(self, count: int) -> None:
        if self.tabs is not None and self.downloads_tab is not None:
            index = self.tabs.indexOf(self.downloads_tab)
            self.tabs.setTabText(index, f"Downloads ({count})" if count else "Downloads")

    def _on_download_completed(self, record: DownloadRecord, path: str) -> None:
        """The download service already brought the file into the library: show its row."""
        self.reload()
        self.status.flash(f"Added {Path(path).name} to the library")

    def _build_menus(self) -> None:
        """The menu bar's menus, their titles in the first frame; their entries, with their shortcuts and
        icons, come with the first frame (``_fill_menus``), so PySide's key sequences and the icons of
        hidden entries do not delay it."""
        menu = self.menuBar()
        self.file_menu = menu.addMenu("&File")
        self.edit_menu = menu.addMenu("&Edit")
        self.library_menu = menu.addMenu("&Library")
        self.organize_menu = menu.addMenu("&Organize")
        self.view_menu = menu.addMenu("&View")
        self.help_menu = menu.addMenu("&Help")
        self._menus_filled = False

    def _fill_menus(self) -> None:
        """The menus' entries (once): File, Library, View and Help; the organizing features add theirs to
        Edit, Library and Organize once the window is complete."""
        if self._menus_filled:
            return
        self._menus_filled = True
        from PySide6.QtGui import QKeySequence

        file_menu = self.file_menu
        self.add_folder_action = self._action(
            "&Add library folder…", self.choose_and_add_folder, QKeySequence.StandardKey.Open, "folder-plus"
        )
        self.rescan_action = self._action("&Rescan", self.rescan, QKeySequence("F5"), "refresh")
        self.hash_action = self._action("&Hash now", self.hash_now, QKeySequence("Ctrl+Shift+H"), "hash")
        self.settings_action = self._action(
            "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences, "settings"
        )
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        if self.settings_action.shortcut().isEmpty():  # no platform binding (most Linux desktops)
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.add_folder_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        library_menu = self.library_menu
        self.look_up_action = self._action(
            "&Look up on Civitai", self.look_up_selection, QKeySequence("Ctrl+Shift+L"), "search"
        )
        self.look_up_action.setToolTip(
            "Hash the selected files if needed and ask Civitai what they are (model, version, creator…)"
        )
        self.look_up_action.setEnabled(self.services.look_up_civitai is not None)
        for action in (self.rescan_action, self.hash_action, self.status.cancel_action):
            library_menu.addAction(action)
        library_menu.addSeparator()
        library_menu.addAction(self.look_up_action)

        view_menu = self.view_menu
        self.grid_action = self._action(
            "&Grid", lambda: self.set_view_mode("grid"), QKeySequence("Ctrl+1"), "grid"
        )
        self.table_action = self._action(
            "&Table", lambda: self.set_view_mode("table"), QKeySequence("Ctrl+2"), "table"
        )
        for action in (self.grid_action, self.table_action):
            action.setCheckable(True)
            view_menu.addAction(action)
        self.grid_action.setChecked(self.view_mode() == "grid")
        self.table_action.setChecked(self.view_mode() == "table")
        view_menu.addSeparator()
        self.find_action = self._action("&Find", self.open_find, QKeySequence.StandardKey.Find)
        view_menu.addAction(self.find_action)
        view_menu.addSeparator()
        self.send_to_compose_action = self._action(
            "Send to &compose board", self.send_to_compose, QKeySequence("Ctrl+Shift+B")
        )
        self.send_to_compose_action.setEnabled(self.compose_tab is not None)  # once the Compose tab exists
        view_menu.addAction(self.send_to_compose_action)
        # Ctrl+Return (Ctrl+Enter on the keypad), as A1111's Ctrl+Enter: the prompt editors insert nothing
        # for it (plain Return is their new line), so it is free in them and everywhere in the window.
        self.render_action = self._action("&Render the board", self.render_board)
        self.render_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.render_action.setToolTip("Render the board, as its Render button does (Ctrl+Return)")
        self.render_action.setEnabled(self.compose_tab is not None)  # then as the board's button is
        view_menu.addAction(self.render_action)
        if self.compose_dock is not None:
            self._add_board_to_view_menu()

        help_menu = self.help_menu
        self.about_action = self._action("&About Atelier", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(self.about_action)

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | QKeySequence.StandardKey | None = None,
        icon_name: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if icon_name is not None:
            action.setIcon(icon(icon_name))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    # -- start-up -----------------------------------------------------------------------------------

    def start_background_work(self) -> None:
        """Called once the window is shown: first-start offer, then the file watcher and a scan."""
        settings = self.services.settings
        if not self.library.roots() and not settings.first_start_done:
            discovered = self.services.discover_folders()
            settings.first_start_done = True
            settings.save()
            if discovered:
                from desktop.dialogs.first_start_dialog import FirstStartDialog

                self.first_start_dialog = FirstStartDialog(discovered, self)
                self.first_start_dialog.accepted.connect(self._on_first_start_accepted)
                self.first_start_dialog.rejected.connect(self._start_watching_and_scanning)
                self.first_start_dialog.open()
                return
        self._start_watching_and_scanning()

    def _on_first_start_accepted(self) -> None:
        assert self.first_start_dialog is not None
        for path in self.first_start_dialog.chosen_paths():
            self._add_root(path, scan=False)
        self.reload()
        self._start_watching_and_scanning()

    def _start_watching_and_scanning(self) -> None:
        self.restart_watching()
        if self.library.roots():
            self.rescan()

    # -- filters and the result ---------------------------------------------------------------------

    def build_query(self) -> AssetQuery:
        state = self.filter_bar.state()
        current = self.model.query
        return AssetQuery(
            text=state.text,
            kinds=(state.kind,) if state.kind else (),
            architectures=(state.architecture,) if state.architecture else (),
            base_models=(state.base_model,) if state.base_model else (),
            tags=(state.tag,) if state.tag else (),
            collection=self._collection_scope,
            min_rating=state.min_rating,
            favorites_only=state.favorites_only,
            statuses=state.status.statuses(),
            root_id=self._root_scope,
            folder=self._folder_scope,
            has_update=state.has_update,
            hidden=state.hidden,
            sort=current.sort,
            descending=current.descending,
        )

    def _on_filters_changed(self, state: FilterState) -> None:
        if not _scope_matches(self._scope, state):
            # The user changed by hand what the sidebar entry had set: it no longer describes the view.
            self._scope = ALL_SCOPE
            self._syncing_sidebar = True
            try:
                self.sidebar.selectionModel().clearSelection()
                self.sidebar.selectionModel().setCurrentIndex(
                    QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate
                )
            finally:
                self._syncing_sidebar = False
        self._apply_query()

    def _apply_query(self) -> None:
        if self._closing:  # a filter bar's pending change after the window closed (its catalog may be too)
            return
        current_id = self.current_asset_id()
        query = self.build_query()
        if query != self.model.query:
            self.model.set_query(query)
            self._restore_selection(current_id)
            self._update_count()

    def reload(self) -> None:
        """Re-reads the result and the sidebar counts (after a scan, hashing or a folder change).

        The current file stays current; one that is gone (deleted, moved out of the view) hands its
        place to the row that took it, the next one, as a file manager does after a delete."""
        current = self.selection.currentIndex()
        current_id = self.current_asset_id()
        selected_ids = [self.model.asset_id(index.row()) for index in self.selection.selectedRows()]
        self.model.refresh()
        self.refresh_sidebar()
        self.filter_bar.set_tags(self.library.all_tags())
        self._restore_selection(current_id, current.row() if current.isValid() else None)
        self._select_also(selected_ids)
        self._update_count()

    def _select_also(self, asset_ids: Sequence[int | None]) -> None:
        """Adds the rows of ``asset_ids`` still shown to the selection (the current row stays current):
        a job over five selected files (Look up on Civitai) ends with the five still selected.

        One range per run of consecutive rows, so a library of 10,000 files selected whole stays one
        range through every reload; nothing to add when the one selected is the current row (restored)."""
        current_id = self.current_asset_id()
        if all(asset_id == current_id for asset_id in asset_ids):
            return
        rows = sorted(
            row
            for row in (self.model.row_of(asset_id) for asset_id in asset_ids if asset_id is not None)
            if row is not None
        )
        selection = QItemSelection()
        for first, last in _runs(rows):
            selection.select(self.model.index(first, 0), self.model.index(last, 0))
        if not selection.isEmpty():
            flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
            self.selection.select(selection, flags)

    def _restore_selection(self, asset_id: int | None, row_if_gone: int | None = None) -> None:
        row = self.model.row_of(asset_id) if asset_id is not None else None
        if row is None and row_if_gone is not None and self.model.rowCount() > 0:
            row = min(row_if_gone, self.model.rowCount() - 1)
        if row is None:
            self._show_details(None)
            return
        self.select_row(row)

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.selection.setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.current_view().scrollTo(index)
        # A model reset leaves the same row current without signalling; show the fresh record anyway.
        self.details.show_asset(self.model.record(row))

    def _show_library_page(self, has_roots: bool) -> None:
        """The empty-library page (with its "Add library folder…" button) while there is no folder."""
        if not has_roots:
            self.views.setCurrentWidget(self.empty_library)
        elif self._empty_library_shown():
            table = self.services.settings.view_mode == "table"
            self.views.setCurrentWidget(self.table if table else self.grid)

    def _update_count(self, roots: Sequence[RootRecord] | None = None) -> None:
        """The count in the status bar, and the empty library's page while there is no folder (``roots``
        when they were just read)."""
        has_roots = bool(roots if roots is not None else self.library.roots())
        self.status.show_count(self.model.rowCount(), self._total)
        self._show_library_page(has_roots)
        if not has_roots:
            hint = "Your library is empty.\nAdd a folder of models with File › Add library folder… (Ctrl+O)."
        else:
            hint = "No models match these filters."
        self._empty_text = hint
        for view in (self._grid, self._table):
            if view is not None:
                view.empty_text = hint

    def refresh_sidebar(
        self, facets: Facets | None = None, roots: Sequence[RootRecord] | None = None
    ) -> None:
        """Re-reads the sidebar's counts and folders (or shows ``facets`` and ``roots`` read already)."""
        facets = facets if facets is not None else self.library.facets()
        roots = roots if roots is not None else self.library.roots()
        self._total = facets.total
        self.filter_bar.set_base_models(facets.base_models)  # the architecture combo's labels
        self._syncing_sidebar = True  # re-selecting the scope must not re-apply it
        try:
            self.sidebar_model.set_facets(facets, list(roots))
            index = self.sidebar_model.find_scope(self._scope)
            if index.isValid():
                self.sidebar.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                )
            else:
                self.sidebar.selectionModel().clearSelection()
        finally:
            self._syncing_sidebar = False
        for section in Section:
            parent = self.sidebar_model.section_index(section)
            empty = self.sidebar_model.rowCount(parent) == 0
            self.sidebar.setRowHidden(int(section), QModelIndex(), empty)
            if not empty and int(section) not in self._collapsed_sections:
                self.sidebar.expand(parent)

    def _on_sidebar_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing_sidebar:
            return
        scope = current.data(SidebarRole.SCOPE)
        if isinstance(scope, SidebarScope):
            self.apply_scope(scope)

    def apply_scope(self, scope: SidebarScope) -> None:
        """A sidebar entry resets the structural filters to what it names; the search text stays."""
        self._scope = scope
        self._root_scope = scope.value if scope.kind is ScopeKind.ROOT else None
        self._collection_scope = scope.value if scope.kind is ScopeKind.COLLECTION else None
        self._folder_scope = scope.value if scope.kind is ScopeKind.FOLDER else None
        state = FilterState(
            text=self.filter_bar.state().text,
            kind=scope.value if scope.kind is ScopeKind.KIND else None,
            architecture=scope.value if scope.kind is ScopeKind.ARCHITECTURE else None,
            tag=scope.value if scope.kind is ScopeKind.TAG else None,
            favorites_only=scope.kind is ScopeKind.FAVORITES,
            status=StatusFilter.PROBLEMS if scope.kind is ScopeKind.PROBLEMS else StatusFilter.DEFAULT,
        )
        self.filter_bar.set_state(state)
        self._apply_query()

    # -- selection and editing ----------------------------------------------------------------------

    def current_asset_id(self) -> int | None:
        index = self.selection.currentIndex()
        return self.model.asset_id(index.row()) if index.isValid() else None

    def selected_records(self) -> list[AssetRecord]:
        return self.model.records(sorted({index.row() for index in self.selection.selectedRows()}))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        from core.errors import AtelierError

        try:
            record = self.model.record(current.row()) if current.isValid() else None
        except AtelierError as error:  # the catalog's server unreachable: the pane keeps what it shows
            self.status.flash(f"{str(error).rstrip('.')}: the details show once it answers again.")
            return
        self._show_details(record)

    def _on_asset_edited(self, record: AssetRecord) -> None:
        self.model.refresh_asset(record.id, record)
        self.refresh_sidebar()
        self.filter_bar.set_tags(self.library.all_tags())

    def _install_features(self) -> None:
        """Each organizing feature adds its actions to the Edit, Library and Organize menus and its
        section to the context menu; one line per feature, in the order the menus show them."""
        from desktop.organize.convert_dialog import install_convert
        from desktop.organize.curation_actions import install_curation
        from desktop.organize.duplicates_view import install_duplicates
        from desktop.organize.exchange_dialogs import install_exchange
        from desktop.organize.file_actions import install_file_actions
        from desktop.organize.mirror_dialog import install_mirrors
        from desktop.organize.shared_folders import install_shared_folders
        from desktop.organize.template_dialog import install_template
        from desktop.organize.updates_actions import install_updates

        self._features_installed = True
        install_file_actions(self)  # move, rename, delete, undo; sidebar folders and drops
        install_convert(self)  # Convert to safetensors… in the context menu
        install_exchange(self)  # File › Export / Import library list…
        install_updates(self)  # Library › Check for updates, the update section, daily check
        install_curation(self)  # Edit N files…, Hide, Write sidecars, Library › Deleted files…
        install_template(self)  # Organize › Organize by template…, and in the context menu
        install_mirrors(self)  # Organize › Share with other apps… (mirrors, ComfyUI yaml)
        install_shared_folders(self)  # the sidebar's Map on this computer… / Unmap (shared folders)
        install_duplicates(self)  # Organize › Find duplicates… (keep one, trash or link the others)

    def _show_context_menu(self, position: Any) -> None:
        from core.errors import AtelierError

        view = self.current_view()
        try:
            records = self.selected_records()
        except AtelierError as error:  # the catalog's server unreachable: no menu of actions that would fail
            from desktop.catalog_guard import not_available

            self.status.flash(not_available(error))
            return
        if not records:
            return
        menu = QMenu(self)
        first = records[0]
        open_action = menu.addAction(icon("folder-open"), "Open containing folder")
        open_action.triggered.connect(lambda: self._open_folder(first.path))
        copy_action = menu.addAction(icon("copy"), "Copy path" if len(records) == 1 else "Copy paths")
        copy_action.triggered.connect(
            # As shown: the clipboard holds text, and Qt would drop a name's bytes that are not UTF-8.
            lambda: QGuiApplication.clipboard().setText("\n".join(shown(r.path) for r in records))
        )
        favorite = not all(r.favorite for r in records)
        favorite_action = menu.addAction(
            icon("heart-filled" if favorite else "heart"),
            "Mark as favorite" if favorite else "Remove from favorites",
        )
        favorite_action.triggered.connect(lambda: self._set_favorite(records, favorite))
        unusable = sorted({_UNUSABLE[r.status] for r in records if r.status in _UNUSABLE})
        why_not = f" (not for {' or '.join(unusable)} files)"
        if self.services.look_up_civitai is not None:
            menu.addSeparator()
            if all(r.status in _UNUSABLE for r in records):
                menu.addAction(icon("search"), "Look up on Civitai" + why_not).setEnabled(False)
            else:
                menu.addAction(self.look_up_action)  # the usable files of the selection
        if self.compose_tab is not None:
            menu.addSeparator()
            if unusable:
                menu.addAction("Send to compose board" + why_not).setEnabled(False)
            else:
                menu.addAction(self.send_to_compose_action)
        for add_section in self.context_menu_sections:
            menu.addSeparator()
            add_section(menu, records)
        menu.popup(view.viewport().mapToGlobal(position))

    def _set_favorite(self, records: Sequence[AssetRecord], favorite: bool) -> None:
        from catalog.records import UserDataChanges
        from core.errors import AtelierError

        for record in records:
            try:
                updated = self.library.update_user_data(record.id, UserDataChanges(favorite=favorite))
            except AtelierError as error:  # the catalog's server unreachable: say so, show what it holds
                self.status.flash(f"Not saved: {str(error).rstrip('.')}.")
                return
            self.model.refresh_asset(record.id, updated)
        self.refresh_sidebar()
        current = self.current_asset_id()
        if current is not None and any(r.id == current for r in records):
            self.details.show_asset(self.library.get(current))

    def show_in_library(self, path: Path) -> None:
        """The Library tab with the file at ``path`` selected (a finished download): the filters that
        hide it are reset to All models first; a file not in the catalog is said in the status bar."""
        record = self.library.get_by_path(path)
        if record is None:
            self.status.flash(f"{path.name} is not in the library (yet): Library › Rescan adds it")
            return
        if self.tabs is not None:
            self.tabs.setCurrentWidget(self.splitter)
        if self.model.row_of(record.id) is None:
            self.filter_bar.set_state(FilterState())
            self.apply_scope(ALL_SCOPE)
        row = self.model.row_of(record.id)
        if row is None:  # hidden, or its kind or status kept out of every view
            self.status.flash(f"{path.name} is in the library but hidden by the filters")
            return
        self.select_row(row)
        self.current_view().setFocus(Qt.FocusReason.OtherFocusReason)

    def _open_folder(self, path: str) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        target = Path(path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(target if target.is_dir() else target.parent)))

    # -- views --------------------------------------------------------------------------------------

    def view_mode(self) -> str:
        return "table" if self._table is not None and self.views.currentWidget() is self._table else "grid"

    def current_view(self) -> QAbstractItemView:
        return self.table if self.view_mode() == "table" else self.grid

    def give_keys_back(self, _result: int = 0) -> None:
        """After one of the window's dialogs closed (OK or Esc): the window active again and its view
        focused, so Ctrl+Z, Del or F2 work at once, without a click first (no window manager hands the
        activation back on some desktops, Xvfb among them). Connect it to a dialog's ``finished``;
        deferred until the dialog is really gone."""

        def focus_view() -> None:
            if not self.isVisible() or QApplication.activeModalWidget() is not None:
                return  # another dialog followed (a conflict after a rename): it keeps the keys
            self.activateWindow()
            self.current_view().setFocus(Qt.FocusReason.ActiveWindowFocusReason)

        QTimer.singleShot(0, self, focus_view)

    def set_view_mode(self, mode: str) -> None:
        mode = "table" if mode == "table" else "grid"
        if not self._empty_library_shown():  # the placeholder stays until a folder
            self.views.setCurrentWidget(self.table if mode == "table" else self.grid)
        self.filter_bar.set_view_mode(mode)
        if self._menus_filled:
            self.grid_action.setChecked(mode == "grid")
            self.table_action.setChecked(mode == "table")
        current = self.selection.currentIndex()
        if current.isValid():
            self.current_view().scrollTo(current)
        settings = self.services.settings
        if settings.view_mode != mode:
            settings.view_mode = mode
            settings.save()

    def _on_sort_indicator_changed(self, column: int, order: Qt.SortOrder) -> None:
        """Columns the catalog cannot sort by put the indicator back on the real sort column."""
        if column < len(AssetColumn) and AssetColumn(column) in SORT_KEYS:
            descending = order == Qt.SortOrder.DescendingOrder
            self.filter_bar.set_sort(SORT_KEYS[AssetColumn(column)], descending)  # the grid's sort too
            return
        header = self.table.horizontalHeader()  # the table sent this: it exists
        header.blockSignals(True)
        sort_order = (
            Qt.SortOrder.DescendingOrder if self.model.query.descending else Qt.SortOrder.AscendingOrder
        )
        header.setSortIndicator(self.model.sort_column(), sort_order)
        header.blockSignals(False)

    def _on_sort_chosen(self, key: SortKey, descending: bool) -> None:
        """The filter bar's sort (the grid has no header) sorts the same query; the header shows it."""
        self.model.set_query(self.model.query._replace(sort=key, descending=descending))
        if self._table is None:  # it shows the query's sort when it is made
            return
        header = self._table.horizontalHeader()
        header.blockSignals(True)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        header.setSortIndicator(self.model.sort_column(), order)  # -1 (no column) for Date added
        header.blockSignals(False)

    # -- jobs ---------------------------------------------------------------------------------------

    def run_job(self, title: str, fn: JobFunction, *, is_news: NewsTest | None = None) -> None:
        """Runs ``fn`` now, or after the running job; a job already waiting is not queued twice.

        A scan asked for while a scan runs is queued, because files may have changed after the running
        pass walked past them (that is what the file watcher reports). ``is_news``: for a job nobody
        asked for, whether its outcome replaces the status bar's line (else the line before it stays).
        """
        if self._current_job is not None:
            if all(queued != title for queued, _, _ in self._queue):
                self._queue.append((title, fn, is_news))
            return
        handle = self.jobs.start(title, fn)
        self._current_job = handle
        self.status.track(handle, is_news=is_news)
        handle.signals.finished.connect(lambda result: self._on_job_finished(handle, result))
        handle.signals.ended.connect(lambda: self._on_job_ended(handle))

    def _chain(self, steps: ChainSteps) -> JobFunction:
        """The app's after-scan chain over this window's services, as one job (one Cancel stops it)."""
        from app.after_scan import ChainJobs, run_chain  # the app's jobs: not before the first paint

        services = self.services
        scan_roots = services.scan_roots

        def scan_then_show(
            root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken
        ) -> object:
            summary = scan_roots(root_ids, progress, cancel)
            self.scan_step_done.emit()
            return summary

        jobs = ChainJobs(
            scan_then_show,
            services.hash_pending,
            services.look_up_civitai,
            services.sync_mirrors,
            services.merge_search_index,
        )

        def job(progress: ProgressCallback, cancel: CancelToken) -> object:
            return run_chain(jobs, steps, progress, cancel)

        return job

    def rescan(self, root_ids: Sequence[int] | None = None, *, by_watcher: bool = False) -> None:
        """Scan (every folder, or ``root_ids``), then hash and look up what is new, as the settings say.

        A scan the file watcher started (``by_watcher``: after Atelier's own moves, too) leaves the status
        bar's line alone when it changed nothing: "Organize by template: moved 7 files" stays readable,
        not replaced by "Scan: … 0 new"."""
        from app.after_scan import ChainSteps

        settings = self.services.settings
        steps = ChainSteps(
            root_ids=tuple(root_ids) if root_ids is not None else None,
            hash=settings.hash_in_background,
            look_up=settings.auto_lookup_civitai,
        )
        self.run_job(SCAN_TITLE, self._chain(steps), is_news=chain_changed_something if by_watcher else None)

    def hash_now(self) -> None:
        from app.after_scan import ChainSteps

        steps = ChainSteps(scan=False, look_up=self.services.settings.auto_lookup_civitai)
        self.run_job(HASH_TITLE, self._chain(steps))

    def look_up_selection(self) -> None:
        """Asks Civitai afresh about the selected files (hashing those without hashes first)."""
        ids = tuple(r.id for r in self.selected_records() if r.status is FileStatus.OK)
        if self.services.look_up_civitai is None:
            return
        if not ids:
            self.status.flash("Select model files to look up (damaged, unsafe or missing files cannot be)")
            return
        from app.after_scan import ChainSteps, LookupRequest

        steps = ChainSteps(scan=False, hash=False, lookup=LookupRequest(asset_ids=ids, force=True))
        self.run_job(LOOKUP_TITLE, self._chain(steps))

    @property
    def current_job(self) -> JobHandle | None:
        return self._current_job

    def _on_job_finished(self, _handle: JobHandle, result: object) -> None:
        """Shows what the job changed: rows, counts, covers found on Civitai, the details pane."""
        self.thumbnails.forget_failures()
        self.reload()
        if chain_changed_something(result):
            self._refresh_library_marks()

    def _refresh_library_marks(self) -> None:
        """The site tabs' tiles and open pages say again what the library has, after a job that may have
        changed it. Not after a scan that found everything in place: the watcher's rescan of a download
        that landed (the tabs marked it already) or of Atelier's own moves."""
        for tab in (self.civitai_tab, self.huggingface_tab):
            if tab is not None:
                tab.refresh_library_marks()

    def _on_job_ended(self, handle: JobHandle) -> None:
        if handle is self._current_job:
            self._current_job = None
        if handle.token.cancelled or handle.error is not None:
            self._refresh_library_marks()  # the job may have written part of its work
        if handle.token.cancelled:
            self.reload()  # a cancelled scan still wrote what it found
            self._queue.clear()  # the user asked to stop: do not start the follow-up work
        self.job_ended.emit(handle.title)
        if self._queue and self._current_job is None:
            title, fn, is_news = self._queue.popleft()
            self.run_job(title, fn, is_news=is_news)

    # -- folders, settings, watching ----------------------------------------------------------------

    def choose_and_add_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog  # the dialogs' classes: not before the first frame

        chosen = QFileDialog.getExistingDirectory(self, "Add a library folder")
        if chosen:
            self.add_folder(Path(chosen))

    def add_folder(self, path: Path) -> None:
        root_id = self._add_root(path, scan=False)
        if root_id is None:
            return
        self.reload()
        self.restart_watching()
        self.rescan([root_id])

    def _add_root(self, path: Path, scan: bool) -> int | None:
        try:
            root = self.services.add_root(path)
        except (OSError, ValueError) as exc:  # a shared folder not mapped here: its box offers to map it
            from desktop.organize.shared_folders import show_add_refusal

            show_add_refusal(self, path, exc)
            return None
        if scan:
            self.rescan([root.id])
        return root.id

    def open_settings(self) -> None:
        from catalog.errors import CatalogUnreachableError
        from desktop.catalog_guard import not_available
        from desktop.dialogs.settings_dialog import SettingsDialog

        # Settings live in settings.json: they open and save while the catalog's server is down (the
        # catalog field is the way to this computer's own catalog then); only the folders say why not.
        roots: list[RootRecord] | None
        try:
            roots, problem = list(self.library.roots()), ""
        except CatalogUnreachableError as error:
            roots, problem = None, not_available(error)
        dialog = SettingsDialog(
            self.services.settings, roots, self, remote=self.services.remote, folders_problem=problem
        )
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.added_paths(), dialog.removed_root_ids())

    def apply_settings(self, added: Sequence[Path] = (), removed: Sequence[int] = ()) -> None:
        """Applies saved settings and folder changes from the settings dialog."""
        settings = self.services.settings
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, settings.theme)
        if settings.thumbnail_size != self.delegate.tile_width:
            self.delegate.set_tile_width(settings.thumbnail_size)
            self.thumbnails.set_size(self.delegate.image_size())
            self.grid.doItemsLayout()
        for root_id in removed:
            self.library.remove_root(root_id)
        new_ids = [root_id for root_id in (self._add_root(path, scan=False) for path in added) if root_id]
        if added or removed:
            if self._root_scope in removed:
                self.apply_scope(ALL_SCOPE)
            self.reload()
        if added or removed or settings.watch_folders != (self._watcher is not None):
            from catalog.errors import CatalogUnreachableError

            try:
                self.restart_watching()
            except CatalogUnreachableError:  # the settings are saved; the folders are not readable now
                self.status.flash("Settings saved; the folders are watched once the catalog server answers")
        if new_ids:
            self.rescan(new_ids)
        if self.downloads_tab is not None:
            self.downloads_tab.settings_changed()  # a new download folder is the default at once

    def restart_watching(self) -> None:
        """(Re)starts the watcher on the current roots; the lead's watcher snapshots the root list."""
        self.stop_watching()
        start = self.services.start_watching
        if start is None or not self.services.settings.watch_folders or not self.library.roots():
            return
        self._watcher = start(self.files_changed.emit)

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def _on_files_changed_settled(self) -> None:
        self.rescan(by_watcher=True)

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(
            self,
            "About Atelier",
            "<h3>Atelier</h3><p>A model library for Stable Diffusion: checkpoints, LoRAs, embeddings, "
            "hypernetworks and VAEs from Civitai, Hugging Face and your existing folders, in one place.</p>",
        )

    # -- shutdown -----------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._closing:
            self._remember_shape()
        self._closing = True
        if self._details is not None:
            self._details.save_notes()
        self.stop_watching()
        if self.live_changes is not None:
            self.live_changes.stop()
        self._queue.clear()
        if self.downloads is not None:
            self.downloads.shutdown()
        for tab in (self.civitai_tab, self.huggingface_tab, self.compose_tab):
            if tab is not None:
                tab.shutdown()
        self.jobs.shutdown()
        super().closeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1360, 860)


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Runs of consecutive numbers in sorted ``rows``, as (first, last): [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(row, runs[-1][1]))
        else:
            runs.append((row, row))
    return runs


def _scope_matches(scope: SidebarScope, state: FilterState) -> bool:
    """Whether the filter bar still shows what the sidebar entry ``scope`` selected."""
    match scope.kind:
        case ScopeKind.KIND:
            return bool(state.kind == scope.value)
        case ScopeKind.ARCHITECTURE:
            return bool(state.architecture == scope.value)
        case ScopeKind.TAG:
            return bool(state.tag == scope.value)
        case ScopeKind.FAVORITES:
            return state.favorites_only
        case ScopeKind.PROBLEMS:
            return state.status is StatusFilter.PROBLEMS
        case _:
            return True


def chain_changed_something(result: object) -> bool:
    """Whether a window job's outcome is news: for a scan chain, its own ``is_news`` (a scan after
    Atelier's own moves finds them all in place already); any other job may have changed the library."""
    from app.after_scan import ChainSummary

    return not isinstance(result, ChainSummary) or result.is_news()


def _tab_stops_in(pane: QWidget) -> list[QWidget]:
    """The widgets inside ``pane`` that Tab stops at, in focus chain order (Qt keeps a widget's
    descendants together right after it in the chain). Qt's ``setTabOrder`` ignores a widget without
    Tab focus, as the details pane itself is, so the window's chain is laid through these."""
    stops: list[QWidget] = []
    widget = pane.nextInFocusChain()
    while widget is not None and pane.isAncestorOf(widget):
        if widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value:
            stops.append(widget)
        widget = widget.nextInFocusChain()
    return stops
