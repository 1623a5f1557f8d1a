"""The Hugging Face tab: search with author, tag filters and sort; a repository's files; downloads.

Searching and fetching a repository run on a worker (``huggingface_hub`` blocks on the network); each
model file gets a Download button that queues it into the folder of the kind guessed from the
repository's tags (``lora`` -> the LoRA folder...). A diffusers pipeline is a folder of components, not a
single file: the tab says so, since downloading one component alone rarely gives a usable model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.download_paths import NoDownloadRootError
from app.download_requests import hf_request
from core.jobs import CancelToken, ProgressCallback
from core.sources.hf_records import HfFile, HfModelDetail, HfModelSummary
from desktop.download_manager import DownloadManager
from desktop.models.hf_files_model import HfColumn, HfFileRow, HfFilesModel
from desktop.models.hf_results_model import SUMMARY_ROLE, HfResultsModel
from desktop.services import AssetLibrary, RemoteServices
from desktop.workers import JobRunner

if TYPE_CHECKING:  # huggingface_hub is imported only when a search runs
    from core.sources.huggingface import SortKey

HF_SORTS = ("downloads", "likes", "last_modified", "created_at", "trending_score")


def split_tags(text: str) -> list[str]:
    """``"diffusers, lora base_model:x"`` -> three tags (commas or spaces separate them)."""
    return [tag for tag in text.replace(",", " ").split() if tag]


def fetch_repository(
    client: Any, library: AssetLibrary, repo_id: str
) -> tuple[HfModelDetail, list[HfFileRow]]:
    detail: HfModelDetail = client.model_info(repo_id)
    rows = [HfFileRow(f, bool(f.sha256 and library.find_by_hash(f.sha256))) for f in detail.files]
    return detail, rows


class HuggingFaceTab(QWidget):
    message = Signal(str)
    results_loaded = Signal(int)
    repository_loaded = Signal(str)

    def __init__(
        self,
        remote: RemoteServices,
        library: AssetLibrary,
        manager: DownloadManager,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.remote = remote
        self.library = library
        self.manager = manager
        self.jobs = JobRunner(self, max_threads=2)
        self._generation = 0
        self._detail: HfModelDetail | None = None

        self.search_field = QLineEdit()
        self.search_field.setPlaceholderText("Search Hugging Face models…")
        self.search_field.returnPressed.connect(self.search)
        self.author = QLineEdit()
        self.author.setPlaceholderText("Author")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("Tags: diffusers, lora, base_model:…")
        self.sort = QComboBox()
        self.sort.addItems(HF_SORTS)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        bar = QHBoxLayout()
        bar.addWidget(self.search_field, 2)
        bar.addWidget(self.author, 1)
        bar.addWidget(self.tags, 2)
        bar.addWidget(self.sort)
        bar.addWidget(self.search_button)

        self.results_model = HfResultsModel(self)
        self.results_model.page_loaded.connect(self._on_page_loaded)
        self.results_model.failed.connect(self._on_failed)
        self.results = QListView()
        self.results.setModel(self.results_model)
        self.results.setUniformItemSizes(True)
        self.results.setSpacing(4)  # rows readable at a glance, like the library table
        self.results.selectionModel().currentChanged.connect(self._on_current_changed)
        self.status = QLabel()

        self.repo_title = QLabel()
        self.repo_title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.repo_note = QLabel()
        self.repo_note.setWordWrap(True)
        self.files_model = HfFilesModel(self)
        self.files = QTableView()
        self.files.setModel(self.files_model)
        self.files.verticalHeader().hide()
        self.files.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.files.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files.horizontalHeader().setSectionResizeMode(HfColumn.PATH, QHeaderView.ResizeMode.Stretch)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.results, 1)
        left_layout.addWidget(self.status)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.repo_title)
        right_layout.addWidget(self.repo_note)
        right_layout.addWidget(self.files, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([520, 700])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

    # -- search -------------------------------------------------------------------------------------

    def search(self) -> None:
        text, author, tags = (
            self.search_field.text().strip(),
            self.author.text().strip(),
            split_tags(self.tags.text()),
        )
        sort = cast("SortKey", self.sort.currentText())
        client = self.remote.huggingface

        def fetch(offset: int, limit: int) -> list[HfModelSummary]:
            return client().search_models(
                text, author=author or None, tags=tags, sort=sort, limit=limit, offset=offset
            )

        self.status.setText("Searching…")
        self.results_model.start(fetch)

    def _on_page_loaded(self, rows: int) -> None:
        more = "" if not self.results_model.canFetchMore() else " (scroll for more)"
        self.status.setText(f"{rows} repositories{more}")
        self.results_loaded.emit(rows)

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        self.message.emit(message)

    # -- one repository -----------------------------------------------------------------------------

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        summary = current.data(SUMMARY_ROLE) if current.isValid() else None
        if isinstance(summary, HfModelSummary):
            self.open_repository(summary.repo_id)

    def open_repository(self, repo_id: str) -> None:
        self._generation += 1
        generation = self._generation
        client, library = self.remote.huggingface, self.library

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> tuple[HfModelDetail, list[HfFileRow]]:
            return fetch_repository(client(), library, repo_id)

        self.repo_title.setText(f"{repo_id} — loading…")
        handle = self.jobs.start("Hugging Face repository", job)
        handle.signals.finished.connect(lambda result: self._on_repository(generation, result))
        handle.signals.failed.connect(self._on_failed)

    def _on_repository(self, generation: int, result: tuple[HfModelDetail, list[HfFileRow]]) -> None:
        if generation != self._generation:
            return
        detail, rows = result
        self._detail = detail
        self.repo_title.setText(detail.repo_id)
        notes = []
        if detail.is_diffusers_pipeline:
            notes.append(
                "This repository is a diffusers pipeline (a folder of components); single files below are "
                "components or single-file checkpoints."
            )
        if detail.gated:
            notes.append("Gated: downloads need a Hugging Face token with access (Settings › Sites).")
        if detail.base_models:
            notes.append(f"Base model: {', '.join(detail.base_models)}")
        self.repo_note.setText("\n".join(notes))
        self.files_model.set_rows(rows)
        for number, row in enumerate(rows):
            if row.file.is_model_weight:
                button = QPushButton("Download")
                button.clicked.connect(lambda _checked=False, f=row.file: self.download(f))
                self.files.setIndexWidget(self.files_model.index(number, HfColumn.DOWNLOAD), button)
        self.repository_loaded.emit(detail.repo_id)

    @property
    def detail(self) -> HfModelDetail | None:
        return self._detail

    def download(self, file: HfFile) -> int | None:
        detail = self._detail
        if detail is None:
            return None
        settings = self.remote.settings
        url = self.remote.huggingface().file_url(detail.repo_id, file.path, revision=detail.sha or "main")
        try:
            request = hf_request(
                detail,
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
        self.jobs.shutdown(2000)
