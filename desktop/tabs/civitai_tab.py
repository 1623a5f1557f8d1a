"""The Civitai tab: search and filters, an endlessly scrolling grid of results, and the model page.

The tab only composes: ``CivitaiResultsModel`` pages results in on scroll, ``CivitaiModelPage`` shows
the clicked model, and a file's Download button becomes a ``DownloadRequest`` for the shared
``DownloadManager`` (into the folder of the model's kind under the download root).

Where the grid has nothing to show, a ``PaneState`` says why and what to do: before the first search
(what can be searched), while searching (and what the site asked us to wait), when nothing matched (try
fewer words or another base model) and when Civitai could not be reached (the reason, and Retry). The
filters show the user's words ("Embedding", "All time"); the API's values ride along as item data.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, QTimer, Signal
from PySide6.QtGui import QAction, QFontMetrics, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.download_paths import (
    CIVITAI_BASE_MODELS,
    CIVITAI_PERIODS,
    CIVITAI_SORTS,
    CIVITAI_TYPES,
)
from app.download_requests import civitai_request
from core.downloads import DownloadSource, DownloadStatus
from core.net import host_of
from core.sources.civitai_records import CivitaiFile, CivitaiModel, CivitaiVersion
from core.sources.site_words import (
    CIVITAI_BASE_MODEL_LABELS,
    CIVITAI_PERIOD_LABELS,
    CIVITAI_SORT_LABELS,
    CIVITAI_TYPE_LABELS,
    site_label,
)
from desktop.delegates.remote_tile_delegate import RemoteTileDelegate
from desktop.download_manager import DownloadManager
from desktop.models.civitai_results_model import CivitaiQuery, CivitaiResultsModel, CivitaiRole
from desktop.qt_namespace import Qt
from desktop.remote_images import RemoteImageCache
from desktop.services import AssetLibrary, RemoteServices
from desktop.widgets.civitai_model_page import CivitaiModelPage
from desktop.widgets.elided_label import ElidedLabel
from desktop.widgets.pane_state import PaneState, StateText

COVER_SIZE = QSize(180, 240)
RESULTS_MIN_WIDTH = 2 * COVER_SIZE.width() + 40  # two tiles: the grid never gets narrower than that
PAGE_MIN_WIDTH = 380
DEFAULT_SORT = "Most Downloaded"

# A changed filter searches again once the user stops ticking: three ticks in a row are one search.
REFILTER_DELAY_MS = 400

RETRY = "Retry"
FILTER_TEXT_WIDTH = 170  # px: a filter button names its ticked choices up to this wide, then "…"
# A download that will still write the file: its Download button on the page says so instead.
IN_QUEUE = frozenset(
    (DownloadStatus.QUEUED, DownloadStatus.RUNNING, DownloadStatus.PAUSED, DownloadStatus.INTERRUPTED)
)
CLEAR_FILTERS = "Clear filters"
BROWSE = "Show the most downloaded"


class TickMenu(QMenu):
    """A menu of checkboxes that stays open while they are ticked (choosing Pony and Flux.1 Dev is one
    trip, not two); a click outside it or Esc closes it as any menu."""

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._toggle(self.actionAt(event.position().toPoint())):
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        ticks = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if event.key() in ticks and self._toggle(self.activeAction()):
            event.accept()
            return
        super().keyPressEvent(event)

    @staticmethod
    def _toggle(action: QAction | None) -> bool:
        if action is None or not action.isCheckable() or not action.isEnabled():
            return False
        action.trigger()  # ticks or unticks it, as a click would, without closing the menu
        return True


def _checkable_menu(button: QToolButton, values: tuple[str, ...], labels: dict[str, str]) -> list[QAction]:
    """One checkable action per API value; the action shows the label and carries the value as data."""
    menu = TickMenu(button)
    actions = []
    for value in values:
        action = menu.addAction(site_label(labels, value))
        action.setData(value)
        action.setCheckable(True)
        actions.append(action)
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    return actions


def _labelled_combo(values: tuple[str, ...], labels: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    for value in values:
        combo.addItem(site_label(labels, value), value)
    return combo


def empty_state() -> StateText:
    return StateText(
        "Search Civitai",
        "Type a model name, a creator or a tag (for example “detail tweaker” or “anime”) and press "
        "Enter. Types and Base models narrow the search; Search with an empty field browses everything.",
        BROWSE,
    )


def no_result_state(query: CivitaiQuery) -> StateText:
    filtered = bool(query.types or query.base_models)
    what = f"“{query.text}”" if query.text else "these filters"
    if query.text and filtered:
        advice = "Try fewer words, or another type or base model."
    elif query.text:
        advice = "Try fewer words, or another spelling."
    else:
        advice = "Try another type or base model."
    if not query.nsfw:
        advice += " NSFW models are hidden unless NSFW is ticked."
    return StateText(f"No models match {what}", advice, CLEAR_FILTERS if filtered else "")


def error_state(message: str) -> StateText:
    return StateText("Could not search Civitai", message, RETRY)


class CivitaiTab(QWidget):
    """``message`` carries errors and confirmations for the status bar."""

    message = Signal(str)

    def __init__(
        self,
        remote: RemoteServices,
        library: AssetLibrary,
        manager: DownloadManager,
        images: RemoteImageCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.remote = remote
        self.library = library
        self.manager = manager
        self.search_field = QLineEdit()
        self.search_field.setPlaceholderText("Search Civitai models…")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.returnPressed.connect(self.search)
        self.types_button = QToolButton()
        self.types_button.setText("Types")
        self.type_actions = _checkable_menu(self.types_button, CIVITAI_TYPES, CIVITAI_TYPE_LABELS)
        self.base_button = QToolButton()
        self.base_button.setText("Base models")
        self.base_actions = _checkable_menu(self.base_button, CIVITAI_BASE_MODELS, CIVITAI_BASE_MODEL_LABELS)
        # A changed filter searches again by itself (once a search was made), after the last of quick ticks.
        self.refilter_timer = QTimer(self)
        self.refilter_timer.setSingleShot(True)
        self.refilter_timer.setInterval(REFILTER_DELAY_MS)
        self.refilter_timer.timeout.connect(self._search_again)
        for action in (*self.type_actions, *self.base_actions):
            action.toggled.connect(self._update_filter_buttons)
            action.toggled.connect(self._filter_changed)
        self.sort = _labelled_combo(CIVITAI_SORTS, CIVITAI_SORT_LABELS)
        self.sort.setCurrentIndex(max(0, self.sort.findData(DEFAULT_SORT)))
        self.period = _labelled_combo(CIVITAI_PERIODS, CIVITAI_PERIOD_LABELS)
        self.nsfw = QCheckBox("NSFW")
        self.nsfw.setToolTip("Include NSFW models; images above your level (Settings › Sites) stay blurred")
        self.sort.currentIndexChanged.connect(self._filter_changed)
        self.period.currentIndexChanged.connect(self._filter_changed)
        self.nsfw.toggled.connect(self._filter_changed)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)

        bar = QHBoxLayout()
        bar.addWidget(self.search_field, 1)
        for widget in (
            self.types_button,
            self.base_button,
            self.sort,
            self.period,
            self.nsfw,
            self.search_button,
        ):
            bar.addWidget(widget)

        self.model = CivitaiResultsModel(remote.civitai, library, images, self)
        self.model.failed.connect(self._on_failed)
        self.model.loading_changed.connect(self._on_loading)
        self.model.page_loaded.connect(self._on_page_loaded)
        self.model.waiting.connect(self._on_waiting)
        self.results = QListView()
        self.results.setViewMode(QListView.ViewMode.IconMode)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)
        self.results.setMovement(QListView.Movement.Static)
        self.results.setUniformItemSizes(True)
        self.results.setSpacing(6)
        self.results.setMouseTracking(True)  # hover highlight
        self.tiles = RemoteTileDelegate(COVER_SIZE, self.results)
        self.results.setItemDelegate(self.tiles)
        self.results.setModel(self.model)
        self.results.clicked.connect(self.open_result)

        self.state = PaneState()
        self.state.action_clicked.connect(self._on_state_action)
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.state)
        self.results_stack.addWidget(self.results)
        self.status = ElidedLabel(mode=Qt.TextElideMode.ElideRight)  # an error never widens the pane
        self.retry_button = QPushButton(RETRY)
        self.retry_button.setToolTip("Ask Civitai again for the page that failed")
        self.retry_button.clicked.connect(self.retry)
        self.retry_button.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.retry_button)

        self.page = CivitaiModelPage(remote.civitai, library, images)
        self.page.download_requested.connect(self.download)
        self.page.failed.connect(self.message)
        self.page.notice.connect(self.message)
        self.page.copied.connect(lambda text: self.message.emit(f"Copied “{text}”"))
        self.page.setMinimumWidth(PAGE_MIN_WIDTH)
        # A file that lands in the library marks the open page and the tiles at once ("In library").
        manager.completed.connect(lambda _record, _path: self.refresh_library_marks())
        # A file in the queue says so on its Download button ("Queued", "Downloading…").
        manager.changed.connect(self._show_queue)
        manager.progressed.connect(lambda _id, _progress: self._show_queue())  # "Queued" -> "Downloading…"
        self._show_queue()

        left = QWidget()
        left.setMinimumWidth(RESULTS_MIN_WIDTH)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.results_stack, 1)
        left_layout.addLayout(status_row)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.page)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([700, 520])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._show_state(empty_state())

    # -- the query ----------------------------------------------------------------------------------

    def query(self) -> CivitaiQuery:
        """What the fields say, in the API's values."""
        return CivitaiQuery(
            text=self.search_field.text().strip(),
            types=tuple(str(a.data()) for a in self.type_actions if a.isChecked()),
            base_models=tuple(str(a.data()) for a in self.base_actions if a.isChecked()),
            sort=self.sort.currentData() or None,
            period=self.period.currentData() or None,
            nsfw=self.nsfw.isChecked(),
        )

    def check_filter(self, actions: list[QAction], value: str, checked: bool = True) -> None:
        """Ticks the type or base model whose API value is ``value`` (menus and tests use the values)."""
        next(a for a in actions if a.data() == value).setChecked(checked)

    def clear_filters(self) -> None:
        for action in (*self.type_actions, *self.base_actions):
            action.setChecked(False)

    def _update_filter_buttons(self) -> None:
        """The menu buttons say what is ticked ("Types: LoRA, LyCORIS"), bold, elided to
        :data:`FILTER_TEXT_WIDTH` so a long choice cannot push the bar about; the tooltip has it all."""
        for button, actions, name in (
            (self.types_button, self.type_actions, "Types"),
            (self.base_button, self.base_actions, "Base models"),
        ):
            ticked = [a.text() for a in actions if a.isChecked()]
            button.setToolTip(f"{name}: {', '.join(ticked)}" if ticked else f"{name}: any")
            font = button.font()
            font.setBold(bool(ticked))
            button.setFont(font)
            text = f"{name}: {', '.join(ticked)}" if ticked else name
            button.setText(
                QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, FILTER_TEXT_WIDTH)
            )

    def _filter_changed(self) -> None:
        if self.model.query is not None:  # before the first search a filter only prepares one
            self.refilter_timer.start()

    def _search_again(self) -> None:
        if self.model.query is not None and self.query() != self.model.query:
            self.search()

    def refresh_library_marks(self) -> None:
        """The open model page and the result tiles say again what the library has ("In library", the
        "Newer version" line): called when a download lands and when the library changes."""
        self.page.refresh_library()
        self.model.refresh_library()

    # -- searching ----------------------------------------------------------------------------------

    def search(self) -> None:
        self.refilter_timer.stop()  # this search already has the filters
        self.status.setText("Searching…")
        self.retry_button.hide()
        self.model.search(self.query())

    def retry(self) -> None:
        """Asks again for what failed: the search's first page, or the page after the ones shown."""
        self.retry_button.hide()
        if self.model.failed_page:
            self.status.setText("Trying again…")
            self.model.retry()
        else:
            self.search()

    def find_file(self, file_hash: str) -> None:
        """Shows the model whose file has ``file_hash`` (the model page offers its Download button)."""
        self.status.setText(f"Looking up {file_hash}…")
        self.page.show_file_with_hash(file_hash)

    def _site(self) -> str:
        return host_of(str(getattr(self.remote.settings, "civitai_base_url", "") or "civitai.com"))

    def _show_state(self, state: StateText) -> None:
        self.state.show_state(state)
        self.results_stack.setCurrentWidget(self.state)

    def _on_loading(self, loading: bool) -> None:
        if not loading:
            return
        if self.model.rowCount() == 0:
            self._show_state(StateText(f"Searching {self._site()}…"))
            self.status.setText("Searching…")
        else:
            self.status.setText("Loading more…")

    def _on_waiting(self, text: str) -> None:
        self.status.setText(text)
        if self.results_stack.currentWidget() is self.state and not self.state.state.action:
            self._show_state(StateText(self.state.state.title, text))

    def _on_page_loaded(self, rows: int) -> None:
        query = self.model.query
        if rows == 0 and query is not None:
            self._show_state(no_result_state(query))
            self.status.setText("No models found")
            return
        self.results_stack.setCurrentWidget(self.results)
        more = " — scroll for more" if self.model.canFetchMore(QModelIndex()) else ""
        self.status.setText(f"{rows} model{'s' if rows != 1 else ''}{more}")

    def _on_failed(self, message: str) -> None:
        if self.model.rowCount() == 0:
            self._show_state(error_state(message))
            self.status.setText("")
        else:
            self.status.setText(message)
            self.retry_button.setVisible(self.model.failed_page)
        self.message.emit(message)

    def _on_state_action(self, action: str) -> None:
        if action == RETRY:
            self.retry()
        elif action == CLEAR_FILTERS:
            self.clear_filters()
            self.search()
        else:
            self.search()

    def open_result(self, index: QModelIndex) -> None:
        model = index.data(CivitaiRole.MODEL)
        if isinstance(model, CivitaiModel):
            self.page.show_model(model.id)

    def download(self, model: CivitaiModel, version: CivitaiVersion, file: CivitaiFile) -> int | None:
        """Queues ``file``; returns the download id, or None when there is nowhere to put it."""
        settings = self.remote.settings
        url = file.download_url or self.remote.civitai().download_url(version.id, file.id, version=version)
        return self.manager.enqueue_from_site(
            lambda: civitai_request(
                model,
                version,
                file,
                url,
                roots=self.library.roots(),
                preferred_root=settings.download_root,
                subfolder=settings.download_subfolder,
            ),
            file.name,
            self.message.emit,
        )

    def _show_queue(self) -> None:
        """Tells the page which Civitai files are in the download queue, and how far they are."""
        queue: dict[int, DownloadStatus] = {}
        for record in self.manager.records():
            file_id = record.remote_ids.get("file_id")
            if record.status in IN_QUEUE and record.source is DownloadSource.CIVITAI and file_id is not None:
                # The stored row says "queued" until the job ends; the manager knows it is running.
                running = self.manager.is_running(record.id) and record.status is not DownloadStatus.PAUSED
                queue[int(file_id)] = DownloadStatus.RUNNING if running else record.status
        self.page.show_queue(queue)

    def shutdown(self) -> None:
        self.model.shutdown()
        self.page.shutdown()
