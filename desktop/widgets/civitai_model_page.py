"""A Civitai model's page: description, versions, files with download buttons, trigger words, examples.

The model is fetched (``get_model``) and compared with the library (``find_by_hash`` on every file's
SHA-256) on a worker thread; the page only ever shows finished records. The description is the site's
HTML in a ``QTextBrowser`` that never loads remote resources (no tracking pixels, no stalls); example
images come from the shared ``RemoteImageCache``, blurred above the user's NSFW level.

The page keeps its width whatever the model: long names and notes wrap, trigger words flow onto new
lines, the version list is as wide as the pane, and it never scrolls sideways. Types, base models and
file formats are shown in the user's words ("Embedding", "Flux.1 Dev", "SafeTensors"). Before a model is
picked, and when one could not be loaded, a ``PaneState`` says so (with Retry).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRectF, QSize, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QImage, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.downloads import DownloadStatus
from core.jobs import CancelToken, ProgressCallback
from core.sizes import human_size as core_human_size
from core.sources.civitai_records import CivitaiFile, CivitaiImage, CivitaiModel, CivitaiVersion
from core.sources.errors import NotFoundError
from core.sources.site_words import (
    CIVITAI_BASE_MODEL_LABELS,
    CIVITAI_FORMAT_LABELS,
    CIVITAI_TYPE_LABELS,
    site_label,
)
from desktop.delegates.thumbnail_delegate import crop_to_fill
from desktop.labels import precision_label
from desktop.qt_namespace import USER_ROLE, Qt
from desktop.remote_images import RemoteImageCache
from desktop.resources import icon
from desktop.services import AssetLibrary
from desktop.widgets.flow_layout import FlowLayout
from desktop.widgets.pane_state import PaneState, StateText, wrapping_label
from desktop.widgets.wrap_label import BreakAnywhereDelegate
from desktop.workers import JobRunner

EMPTY_PAGE = StateText(
    "No model selected", "Pick a model to see its versions, files, trigger words and example images."
)
IMAGE_URL_ROLE = USER_ROLE + 1
IMAGE_ROLE = USER_ROLE + 2
FILE_COLUMNS = ("File", "Size", "Format", "Precision", "In library", "")
EXAMPLE_SIZE = QSize(120, 160)  # portrait, as most example renders are
EXAMPLE_GAP = 6
EXAMPLE_ROWS = 2  # the example box shows this many whole rows before it scrolls
QUEUE_WORDS = {DownloadStatus.RUNNING: "Downloading…", DownloadStatus.PAUSED: "Paused"}  # else "Queued"
BUTTON_WORDS = ("Download", "In library", "Queued", *QUEUE_WORDS.values())


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """A fetched model with what the library already has of it (computed on the worker)."""

    model: CivitaiModel
    owned_sha256: frozenset[str] = field(default_factory=frozenset)
    owned_paths: Mapping[str, str] = field(default_factory=dict)  # SHA-256 -> the library's file
    # The "Not available: …" line when the catalog (its server) did not answer: what the library has of
    # the model is not known, the model is shown all the same.
    library_unknown: str = ""

    def owns(self, file: CivitaiFile) -> bool:
        return file.sha256 is not None and file.sha256.upper() in self.owned_sha256

    def owned_path(self, file: CivitaiFile) -> str | None:
        """Where the library has ``file`` (its Download button says so instead of copying it again)."""
        return self.owned_paths.get(file.sha256.upper()) if file.sha256 else None

    def owned_versions(self) -> list[CivitaiVersion]:
        return [v for v in self.model.versions if any(self.owns(f) for f in v.files)]

    def newer_version(self) -> CivitaiVersion | None:
        """The newest version when the library has only older ones (Civitai lists newest first)."""
        owned = self.owned_versions()
        if not owned or not self.model.versions:
            return None
        newest = self.model.versions[0]
        return None if newest in owned else newest


def fetch_details(client: Any, library: AssetLibrary, model_id: int) -> ModelDetails:
    """The model from Civitai and what the library has of it; a catalog that does not answer leaves the
    second unknown (``library_unknown`` says so) instead of hiding the site's answer."""
    return library_details(client.get_model(model_id), library)


def library_details(model: CivitaiModel, library: AssetLibrary) -> ModelDetails:
    """``model`` with what the library has of it now (worker thread): asked again when a download lands,
    so the page's marks follow the library without asking Civitai again."""
    from catalog.errors import CatalogUnreachableError

    owned: dict[str, str] = {}
    try:
        for version in model.versions:
            for file in version.files:
                found = library.copies_there(file.sha256) if file.sha256 else []
                if file.sha256 and found:
                    owned[file.sha256.upper()] = found[0].path
    except CatalogUnreachableError as error:
        from desktop.catalog_guard import not_available

        return ModelDetails(model, library_unknown=not_available(error))
    return ModelDetails(model, frozenset(owned), owned)


def human_size(size: int | None) -> str:
    """A file's size from the site, "?" when it does not say."""
    return "?" if size is None else core_human_size(size)


def image_parameters(image: CivitaiImage) -> str:
    """The prompt and generation parameters of an example image, A1111-style, for reading and copying."""
    lines = [image.prompt or "(no prompt)"]
    if image.negative:
        lines.append(f"Negative prompt: {image.negative}")
    params = [
        f"{label}: {value}"
        for label, value in (
            ("Steps", image.steps),
            ("Sampler", image.sampler),
            ("CFG scale", image.cfg),
            ("Seed", image.seed),
            ("Size", "x".join(map(str, image.size)) if image.size else None),
        )
        if value is not None
    ]
    if params:
        lines.append(", ".join(params))
    return "\n".join(lines)


_TAG = re.compile(r"<[^>]+>")
_COLOUR_ATTRIBUTE = re.compile(r"""\s(?:color|bgcolor)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_COLOUR_DECLARATION = re.compile(
    r"(?<![\w-])(?:background-color|background|color)\s*:[^;\"']*;?", re.IGNORECASE
)


def themed_html(html: str | None) -> str:
    """A description's HTML without the site's inline colours (``style="color:rgb(193,194,197)"``,
    ``<font color>``, backgrounds): they were chosen for Civitai's dark page and read light grey on
    the window's own theme. Only inside tags: a word "color" in the text stays."""

    def plain(tag: re.Match[str]) -> str:
        text = _COLOUR_ATTRIBUTE.sub("", tag.group(0))
        return _COLOUR_DECLARATION.sub("", text)

    return _TAG.sub(plain, html or "")


def example_tile(image: QImage) -> QImage:
    """An example image cropped to fill one cell of the example grid (see ``crop_to_fill``)."""
    area = crop_to_fill(image, QRectF(0, 0, EXAMPLE_SIZE.width(), EXAMPLE_SIZE.height()))
    return image.copy(area.toRect()).scaled(
        EXAMPLE_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class OfflineTextBrowser(QTextBrowser):
    """Renders the description's HTML without fetching anything: remote images would stall and track."""

    def loadResource(self, kind: int, name: QUrl | str) -> Any:  # noqa: N802
        if QUrl(name).scheme() in ("http", "https", "ftp"):
            return None
        return super().loadResource(kind, name)


class CivitaiModelPage(QWidget):
    """``download_requested(model, version, file)`` when a file's Download button is clicked."""

    download_requested = Signal(object, object, object)
    loaded = Signal()
    failed = Signal(str)
    copied = Signal(str)
    notice = Signal(str)  # a line for the status bar (the library's copies could not be asked)

    def __init__(
        self,
        client: Callable[[], Any],
        library: AssetLibrary,
        images: RemoteImageCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._library = library
        self._images = images
        self._details: ModelDetails | None = None
        self._queue: dict[int, DownloadStatus] = {}  # Civitai file id -> its download's status
        self._generation = 0
        self.jobs = JobRunner(self, max_threads=1)

        self._last_request: tuple[str, object] | None = None  # ("model", id) / ("hash", digest), for Retry
        self.title = wrapping_label()
        self.title.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = wrapping_label()
        self.newer_badge = wrapping_label()
        self.newer_badge.setStyleSheet("color: #d97706; font-weight: 600;")
        self.newer_badge.hide()
        self.description = OfflineTextBrowser()
        self.description.setOpenExternalLinks(True)
        self.description.setMinimumHeight(120)
        self.versions = QComboBox()
        # As wide as the pane allows, never as wide as the longest version name.
        self.versions.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.versions.setMinimumContentsLength(12)
        self.versions.currentIndexChanged.connect(self._show_version)
        self.version_info = wrapping_label()
        self.files = QTableWidget(0, len(FILE_COLUMNS))
        self.files.setHorizontalHeaderLabels(list(FILE_COLUMNS))
        self.files.verticalHeader().hide()
        self.files.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.files.horizontalHeader()
        for column in range(1, len(FILE_COLUMNS)):  # the facts as wide as they are, the name takes the rest
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # The button column as wide as its longest word ("Downloading…") from the start: the column
        # neither cuts the word nor jumps when a button changes.
        header.setSectionResizeMode(len(FILE_COLUMNS) - 1, QHeaderView.ResizeMode.Fixed)
        widest = max(QPushButton(word).sizeHint().width() for word in BUTTON_WORDS)
        self.files.setColumnWidth(len(FILE_COLUMNS) - 1, widest + 4)
        # A file name wraps (anywhere, it has no spaces) rather than being cut to "pixel_ar…etensors".
        self.files.setWordWrap(True)
        self.files.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.files.setItemDelegateForColumn(0, BreakAnywhereDelegate(self.files))
        self.files.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header.setMinimumSectionSize(40)
        # Wrapped names re-flow once the columns have settled, and the table follows any row's new height:
        # fitting inside a column's resize read the other columns' old widths, and a row that grew
        # later was left taller than the table (its last line hidden).
        self._files_fit = QTimer(self)
        self._files_fit.setSingleShot(True)
        self._files_fit.setInterval(0)
        self._files_fit.timeout.connect(self._fit_files_table)
        header.sectionResized.connect(lambda *_args: self._files_fit.start())
        self.files.verticalHeader().sectionResized.connect(lambda *_args: self._files_fit.start())
        self.trigger_box = QWidget()
        self.trigger_layout = FlowLayout(self.trigger_box)
        self.trigger_buttons: list[QPushButton] = []
        self.image_model = QStandardItemModel(self)
        self.image_view = QListView()
        self.image_view.setViewMode(QListView.ViewMode.IconMode)
        # Every example in a cell of one size, cropped to fill it (a landscape image is not a half-height
        # tile among portraits), the box as tall as a few whole rows (:meth:`_fit_image_view`).
        self.image_view.setIconSize(EXAMPLE_SIZE)
        self.image_view.setGridSize(EXAMPLE_SIZE + QSize(EXAMPLE_GAP, EXAMPLE_GAP))
        self.image_view.setUniformItemSizes(True)
        self.image_view.setMovement(QListView.Movement.Static)
        self.image_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.image_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.image_view.setModel(self.image_model)
        self.image_view.installEventFilter(self)
        self.image_view.selectionModel().currentChanged.connect(self._on_image_selected)
        self.no_images = QLabel("No example images for this version")
        self.no_images.setProperty("secondary", True)
        self.no_images.hide()
        self.image_info = QPlainTextEdit()
        self.image_info.setReadOnly(True)
        self.image_info.setMaximumHeight(110)
        self.image_info.hide()  # shown with the parameters of a picked image, never as an empty box
        images.loaded.connect(self._on_image_loaded)

        self.form = QFormLayout()
        self.form.addRow("Version", self.versions)
        self.form.addRow("", self.version_info)
        self.form.addRow("Trigger words", self.trigger_box)  # hidden for a version without any
        content = QWidget()
        layout = QVBoxLayout(content)
        for widget in (self.title, self.subtitle, self.newer_badge):
            layout.addWidget(widget)
        layout.addLayout(self.form)
        layout.addWidget(self.files)
        layout.addWidget(QLabel("Example images"))
        layout.addWidget(self.no_images)
        layout.addWidget(self.image_view)
        layout.addWidget(self.image_info)
        layout.addWidget(QLabel("Description"))
        layout.addWidget(self.description, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # content wraps instead
        scroll.setWidget(content)
        # Until a result is picked (or when it could not be loaded), a state instead of empty fields.
        self.empty_hint = PaneState()
        self.empty_hint.show_state(EMPTY_PAGE)
        self.empty_hint.action_clicked.connect(lambda _action: self.retry())
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_hint)
        self.stack.addWidget(scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

    # -- loading ------------------------------------------------------------------------------------

    @property
    def details(self) -> ModelDetails | None:
        return self._details

    def show_model(self, model_id: int) -> None:
        """Fetches the model and the library's copies of it on a worker, then shows them."""
        self._generation += 1
        generation = self._generation
        client, library = self._client, self._library
        self._last_request = ("model", model_id)
        self._show_loading("Loading the model…")

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> ModelDetails:
            return fetch_details(client(), library, model_id)

        handle = self.jobs.start("Civitai model", job)
        handle.signals.progressed.connect(lambda progress: self._on_waiting(generation, progress.message))
        handle.signals.finished.connect(lambda details: self._on_loaded(generation, details))
        handle.signals.failed.connect(lambda message: self._on_failed(generation, message))

    def show_file_with_hash(self, file_hash: str) -> None:
        """Finds the Civitai version owning a file with this hash (AutoV2, SHA256...) and shows its model
        with that version selected, so a missing asset of a replayed image is one click from Download."""
        self._generation += 1
        generation = self._generation
        client, library = self._client, self._library
        self._last_request = ("hash", file_hash)
        self._show_loading("Looking up the file on Civitai…")

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> tuple[ModelDetails, int]:
            version = client().version_by_hash(file_hash)
            if version is None or version.model_id is None:
                raise NotFoundError(f"Civitai has no file with hash {file_hash}.", status=404)
            return fetch_details(client(), library, version.model_id), version.id

        handle = self.jobs.start("Civitai hash lookup", job)
        handle.signals.progressed.connect(lambda progress: self._on_waiting(generation, progress.message))
        handle.signals.finished.connect(lambda found: self._on_found(generation, *found))
        handle.signals.failed.connect(lambda message: self._on_failed(generation, message))

    def refresh_library(self) -> None:
        """Marks the shown model's files again against the library (a download landed, a scan or lookup
        ended): "In library", the version's ✓ and the "Newer version" line follow without a new fetch.
        The version picked stays picked; a model opened meanwhile wins over this answer."""
        details = self._details
        if details is None or self.stack.currentIndex() != 1:
            return
        generation, library, model = self._generation, self._library, details.model

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> ModelDetails:
            return library_details(model, library)

        handle = self.jobs.start("Civitai model in the library", job)
        handle.signals.finished.connect(lambda fresh: self._on_refreshed(generation, fresh))

    def _on_refreshed(self, generation: int, fresh: ModelDetails) -> None:
        current = self.current_version()
        if generation != self._generation or self._details is None:
            return
        if fresh.model is not self._details.model or fresh == self._details:
            return
        self.set_details(fresh)
        row = self.versions.findData(current.id) if current is not None else -1
        if row >= 0:
            self.versions.setCurrentIndex(row)

    def _on_found(self, generation: int, details: ModelDetails, version_id: int) -> None:
        if generation != self._generation:
            return
        self.set_details(details)
        row = self.versions.findData(version_id)
        if row >= 0:
            self.versions.setCurrentIndex(row)
        self.loaded.emit()

    def retry(self) -> None:
        """Asks again for what the page showed last (a model or a hash lookup)."""
        match self._last_request:
            case ("model", int(model_id)):
                self.show_model(model_id)
            case ("hash", str(file_hash)):
                self.show_file_with_hash(file_hash)

    def _show_loading(self, title: str) -> None:
        self.empty_hint.show_state(StateText(title))
        self.stack.setCurrentWidget(self.empty_hint)

    def _on_waiting(self, generation: int, text: str) -> None:
        if generation == self._generation and text and not self.empty_hint.state.action:
            self.empty_hint.show_state(StateText(self.empty_hint.state.title, text))

    def _on_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.title.setText("Could not load this model")
            self.empty_hint.show_state(StateText("Could not load this model", message, "Retry"))
            self.stack.setCurrentWidget(self.empty_hint)
            self.failed.emit(message)

    def _on_loaded(self, generation: int, details: ModelDetails) -> None:
        if generation != self._generation:
            return
        self.set_details(details)
        self.loaded.emit()
        if details.library_unknown:
            self.notice.emit(details.library_unknown)

    def set_details(self, details: ModelDetails) -> None:
        self._details = details
        model = details.model
        self.stack.setCurrentIndex(1)
        self.title.setText(model.name)
        creator = f" by {model.creator}" if model.creator else ""
        kind = site_label(CIVITAI_TYPE_LABELS, model.type)
        self.subtitle.setText(f"{kind}{creator}" + (f" · {', '.join(model.tags[:6])}" if model.tags else ""))
        newer = details.newer_version()
        if newer is not None:
            have = ", ".join(v.name for v in details.owned_versions())
            self.newer_badge.setText(f"Newer version available: {newer.name} (you have {have})")
        self.newer_badge.setVisible(newer is not None)
        self.description.setHtml(themed_html(model.description_html) or "<p><i>No description.</i></p>")
        self.versions.blockSignals(True)
        self.versions.clear()
        for version in model.versions:
            owned = " ✓" if version in details.owned_versions() else ""
            base = site_label(CIVITAI_BASE_MODEL_LABELS, version.base_model) or "base model unknown"
            self.versions.addItem(f"{version.name} ({base}){owned}", version.id)
        self.versions.blockSignals(False)
        self._show_version(0)

    def current_version(self) -> CivitaiVersion | None:
        if self._details is None:
            return None
        row = self.versions.currentIndex()
        versions = self._details.model.versions
        return versions[row] if 0 <= row < len(versions) else None

    def _show_version(self, _row: int) -> None:
        version = self.current_version()
        details = self._details
        self.files.setRowCount(0)
        self._set_trigger_words(version.trained_words if version else ())
        self.image_model.clear()
        self.image_info.clear()
        self.image_info.hide()
        if version is None or details is None:
            self.version_info.clear()
            return
        base = site_label(CIVITAI_BASE_MODEL_LABELS, version.base_model) or "unknown"
        self.version_info.setText(f"Base model: {base}")
        self.files.setRowCount(len(version.files))
        for row, file in enumerate(version.files):
            values = (
                file.name,
                human_size(file.size_bytes),
                site_label(CIVITAI_FORMAT_LABELS, file.format),
                precision_label(file.fp),
                "?" if details.library_unknown else "✓ In library" if details.owns(file) else "",
            )
            for column, value in enumerate(values):
                self.files.setItem(row, column, QTableWidgetItem(value))
            self.files.setCellWidget(
                row, len(FILE_COLUMNS) - 1, self._download_button(details, version, file)
            )
        for image in version.images:
            if image.type != "image" or not image.url:
                continue
            item = QStandardItem()
            item.setEditable(False)
            item.setSizeHint(EXAMPLE_SIZE)  # a whole cell to click before its image arrives
            item.setData(image.url, IMAGE_URL_ROLE)
            item.setData(image, IMAGE_ROLE)
            item.setToolTip(image.prompt or "")
            cached = self._images.get(image.url, image.nsfw_level)
            if cached is not None:
                item.setData(example_tile(cached), Qt.ItemDataRole.DecorationRole)
            self.image_model.appendRow(item)
        has_images = self.image_model.rowCount() > 0
        self.image_view.setVisible(has_images)
        self.no_images.setVisible(not has_images)
        self._fit_files_table()
        self._fit_image_view()

    def _fit_image_view(self) -> None:
        """The example box as tall as its rows at the pane's width, at least one and at most
        :data:`EXAMPLE_ROWS` (24 images scroll inside it, in whole rows, never a 165 px strip)."""
        view = self.image_view
        cell = view.gridSize()
        width = max(cell.width(), view.viewport().width() or view.width())
        per_row = max(1, width // cell.width())
        rows = min(EXAMPLE_ROWS, max(1, -(-self.image_model.rowCount() // per_row)))
        view.setFixedHeight(rows * cell.height() + 2 * view.frameWidth())  # no sliver of the next row

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.image_view and event.type() == QEvent.Type.Resize:
            self._fit_image_view()  # a narrower pane holds fewer per row: more rows
        return super().eventFilter(watched, event)

    def _fit_files_table(self) -> None:
        """Rows as tall as their wrapped names; the table as tall as its rows (up to a few), plus the
        horizontal scroll bar when the columns are wider than a narrow pane (the bar would otherwise
        take its height from the rows and hide a wrapped name's last line)."""
        files = self.files
        files.resizeRowsToContents()
        rows = sum(files.rowHeight(row) for row in range(min(files.rowCount(), 4)))
        frame = 2 * files.frameWidth()
        header = files.horizontalHeader()
        bar = files.horizontalScrollBar().sizeHint().height() if header.length() > header.width() else 0
        files.setFixedHeight(header.height() + max(rows, 28) + bar + frame + 2)

    def show_queue(self, queue: Mapping[int, DownloadStatus]) -> None:
        """The files of the download queue (Civitai file id -> status): their Download buttons say
        "Queued", "Downloading…" or "Paused" instead, disabled, so a second click cannot look like it
        did nothing. Only the buttons change (the table keeps its scroll and the picked image)."""
        if queue == self._queue:
            return
        self._queue = dict(queue)
        version, details = self.current_version(), self._details
        if version is None or details is None:
            return
        for row, file in enumerate(version.files[: self.files.rowCount()]):
            self.files.setCellWidget(
                row, len(FILE_COLUMNS) - 1, self._download_button(details, version, file)
            )

    def _download_button(
        self, details: ModelDetails, version: CivitaiVersion, file: CivitaiFile
    ) -> QPushButton:
        """ "Download"; a disabled "In library" naming the file the library has (no second copy); a
        disabled "Queued" / "Downloading…" / "Paused" while the file is in the download queue."""
        owned = details.owned_path(file)
        if owned is not None:
            button = QPushButton("In library")
            button.setEnabled(False)
            button.setToolTip(f"Already in the library: {owned}")
            return button
        queued = self._queue.get(file.id) if file.id is not None else None
        if queued is not None:
            button = QPushButton(QUEUE_WORDS.get(queued, "Queued"))
            button.setEnabled(False)
            button.setToolTip("In the download queue: the Downloads tab shows its progress")
            return button
        button = QPushButton("Download")
        button.clicked.connect(
            lambda _checked=False: self.download_requested.emit(details.model, version, file)
        )
        return button

    def _set_trigger_words(self, words: tuple[str, ...]) -> None:
        self.form.setRowVisible(self.trigger_box, bool(words))  # no empty "Trigger words" row
        for button in self.trigger_buttons:
            self.trigger_layout.removeWidget(button)
            button.deleteLater()
        self.trigger_buttons = []
        for word in words:
            button = QPushButton(icon("copy"), word)
            button.setToolTip("Copy to the clipboard")
            button.clicked.connect(lambda _checked=False, w=word: self.copy_text(w))
            self.trigger_layout.addWidget(button)
            self.trigger_buttons.append(button)

    def copy_text(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)

    # -- images -------------------------------------------------------------------------------------

    def _on_image_loaded(self, url: str) -> None:
        for row in range(self.image_model.rowCount()):
            item = self.image_model.item(row)
            if item.data(IMAGE_URL_ROLE) == url:
                image = item.data(IMAGE_ROLE)
                cached = self._images.get(url, image.nsfw_level if isinstance(image, CivitaiImage) else None)
                if cached is not None:
                    item.setData(example_tile(cached), Qt.ItemDataRole.DecorationRole)

    def _on_image_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        image = current.data(IMAGE_ROLE) if current.isValid() else None
        text = image_parameters(image) if isinstance(image, CivitaiImage) else ""
        self.image_info.setPlainText(text)
        self.image_info.setVisible(bool(text))

    def shutdown(self) -> None:
        self.jobs.shutdown(2000)
