"""The Civitai tab: search and filters, an endlessly scrolling grid of results, and the model page.

The tab only composes: ``CivitaiResultsModel`` pages results in on scroll, ``CivitaiModelPage`` shows
the clicked model, and a file's Download button becomes a ``DownloadRequest`` for the shared
``DownloadManager`` (into the folder of the model's kind under the download root).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.download_paths import (
    CIVITAI_BASE_MODELS,
    CIVITAI_PERIODS,
    CIVITAI_SORTS,
    CIVITAI_TYPES,
    NoDownloadRootError,
)
from app.download_requests import civitai_request
from core.sources.civitai_records import CivitaiFile, CivitaiModel, CivitaiVersion
from desktop.delegates.remote_tile_delegate import RemoteTileDelegate
from desktop.download_manager import DownloadManager
from desktop.models.civitai_results_model import CivitaiQuery, CivitaiResultsModel, CivitaiRole
from desktop.remote_images import RemoteImageCache
from desktop.services import AssetLibrary, RemoteServices
from desktop.widgets.civitai_model_page import CivitaiModelPage

COVER_SIZE = QSize(180, 240)


def _checkable_menu(button: QToolButton, labels: tuple[str, ...]) -> list[QAction]:
    menu = QMenu(button)
    actions = []
    for label in labels:
        action = menu.addAction(label)
        action.setCheckable(True)
        actions.append(action)
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    return actions


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
        self.type_actions = _checkable_menu(self.types_button, CIVITAI_TYPES)
        self.base_button = QToolButton()
        self.base_button.setText("Base models")
        self.base_actions = _checkable_menu(self.base_button, CIVITAI_BASE_MODELS)
        self.sort = QComboBox()
        self.sort.addItems(CIVITAI_SORTS)
        self.sort.setCurrentText("Most Downloaded")
        self.period = QComboBox()
        self.period.addItems(CIVITAI_PERIODS)
        self.nsfw = QCheckBox("NSFW")
        self.nsfw.setToolTip("Include NSFW models; images above your level (Settings › Sites) stay blurred")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        self.status = QLabel()

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
        self.model.page_loaded.connect(lambda rows: self.status.setText(f"{rows} models"))
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

        self.page = CivitaiModelPage(remote.civitai, library, images)
        self.page.download_requested.connect(self.download)
        self.page.failed.connect(self._on_failed)
        self.page.copied.connect(lambda text: self.message.emit(f"Copied “{text}”"))

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.results, 1)
        left_layout.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.page)
        splitter.setSizes([700, 520])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def query(self) -> CivitaiQuery:
        return CivitaiQuery(
            text=self.search_field.text().strip(),
            types=tuple(a.text() for a in self.type_actions if a.isChecked()),
            base_models=tuple(a.text() for a in self.base_actions if a.isChecked()),
            sort=self.sort.currentText() or None,
            period=self.period.currentText() or None,
            nsfw=self.nsfw.isChecked(),
        )

    def search(self) -> None:
        self.status.setText("Searching…")
        self.model.search(self.query())

    def find_file(self, file_hash: str) -> None:
        """Shows the model whose file has ``file_hash`` (the model page offers its Download button)."""
        self.status.setText(f"Looking up {file_hash}…")
        self.page.show_file_with_hash(file_hash)

    def _on_loading(self, loading: bool) -> None:
        if loading:
            self.status.setText("Loading…")

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        self.message.emit(message)

    def open_result(self, index: QModelIndex) -> None:
        model = index.data(CivitaiRole.MODEL)
        if isinstance(model, CivitaiModel):
            self.page.show_model(model.id)

    def download(self, model: CivitaiModel, version: CivitaiVersion, file: CivitaiFile) -> int | None:
        """Queues ``file``; returns the download id, or None when there is nowhere to put it."""
        settings = self.remote.settings
        url = file.download_url or self.remote.civitai().download_url(version.id, file.id, version=version)
        try:
            request = civitai_request(
                model,
                version,
                file,
                url,
                roots=self.library.roots(),
                preferred_root=settings.download_root,
                subfolder=settings.download_subfolder,
            )
        except NoDownloadRootError as exc:
            self._on_failed(str(exc))
            return None
        download_id = self.manager.enqueue(request)
        self.message.emit(f"Downloading {file.name} to {request.target_dir}")
        return download_id

    def shutdown(self) -> None:
        self.model.shutdown()
        self.page.shutdown()
