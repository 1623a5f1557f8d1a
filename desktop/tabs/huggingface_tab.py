"""The Hugging Face tab: search with author, tag filters and sort; a repository's files; downloads.

Searching and fetching a repository run on a worker (``huggingface_hub`` blocks on the network); each
model file gets a Download button that queues it into the folder of the kind guessed from the
repository's tags (``lora`` -> the LoRA folder...). A diffusers pipeline is a folder of components, not a
single file: the tab says so, since downloading one component alone rarely gives a usable model.

Like the Civitai tab, an empty list says why (before a search, nothing found, the Hub unreachable, with
Retry), the sort choices are in the user's words, and long messages wrap instead of widening the panes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.download_requests import hf_request
from app.site_keys import HUGGING_FACE
from core.jobs import CancelToken, Progress, ProgressCallback
from core.net import host_of
from core.sources.hf_records import HfFile, HfModelDetail, HfModelSummary
from core.sources.site_words import HF_SORT_LABELS, site_label
from desktop.download_manager import DownloadManager
from desktop.models.hf_files_model import HfColumn, HfFileRow, HfFilesModel
from desktop.models.hf_results_model import SUMMARY_ROLE, HfResultsModel
from desktop.qt_namespace import Qt
from desktop.services import AssetLibrary, RemoteServices
from desktop.widgets.elided_label import ElidedLabel
from desktop.widgets.pane_state import PaneState, StateText, wrapping_label
from desktop.workers import JobRunner

if TYPE_CHECKING:  # huggingface_hub is imported only when a search runs
    from core.sources.huggingface import SortKey

HF_SORTS = ("downloads", "likes", "trending_score", "last_modified", "created_at")
RETRY = "Retry"
RESULTS_MIN_WIDTH = 320
REPOSITORY_MIN_WIDTH = 380

EMPTY_RESULTS = StateText(
    "Search Hugging Face",
    "Type part of a repository name (for example “stable-diffusion” or “lora”), an author, or tags such as "
    "diffusers, lora or base_model:… and press Enter.",
)
# A gated repository's files need a token with access: said on the Download button and when it is clicked
# without one (nothing is queued then: the Hub would refuse the file).
NEEDS_TOKEN = (
    "{repo} is gated: add a Hugging Face token with access in Settings › Sites (or set HF_TOKEN), "
    "then press Download again"
)
EMPTY_REPOSITORY = StateText(
    "No repository selected", "Pick a repository to see its files and download them."
)


def no_result_state(text: str, author: str, tags: list[str]) -> StateText:
    what = f"“{text}”" if text else "this search"
    hints = []
    if author:
        hints.append("check the author's exact name")
    if tags:
        hints.append("remove a tag")
    hints.append("try part of the name only")
    return StateText(f"No repositories match {what}", "Try again: " + ", or ".join(hints) + ".")


def split_tags(text: str) -> list[str]:
    """``"diffusers, lora base_model:x"`` -> three tags (commas or spaces separate them)."""
    return [tag for tag in text.replace(",", " ").split() if tag]


def marked_rows(library: AssetLibrary, files: Sequence[HfFile]) -> list[HfFileRow]:
    """The repository's files, each marked when the library has a copy there (worker thread)."""
    return [HfFileRow(file, bool(file.sha256 and library.copies_there(file.sha256))) for file in files]


def fetch_repository(
    client: Any, library: AssetLibrary, repo_id: str
) -> tuple[HfModelDetail, list[HfFileRow], str]:
    """The repository from the Hub, its files marked when the library has them, and "" (or the
    "Not available: …" line when the catalog did not answer: the files are shown, none marked)."""
    from catalog.errors import CatalogUnreachableError

    detail: HfModelDetail = client.model_info(repo_id)
    try:
        rows = marked_rows(library, detail.files)
    except CatalogUnreachableError as error:
        from desktop.catalog_guard import not_available

        return detail, [HfFileRow(f) for f in detail.files], not_available(error)
    return detail, rows, ""


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
        # A file that lands in the library marks the open repository's row at once ("In library").
        manager.completed.connect(lambda _record, _path: self.refresh_library_marks())
        self._generation = 0
        self._detail: HfModelDetail | None = None
        self._repo_id = ""
        self._last_search: tuple[str, str, list[str]] = ("", "", [])

        self.search_field = QLineEdit()
        self.search_field.setPlaceholderText("Search Hugging Face models…")
        self.search_field.returnPressed.connect(self.search)
        self.author = QLineEdit()
        self.author.setPlaceholderText("Author")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("Tags: diffusers, lora, base_model:…")
        self.sort = QComboBox()
        for value in HF_SORTS:
            self.sort.addItem(site_label(HF_SORT_LABELS, value), value)
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
        self.results_model.waiting.connect(self._on_waiting)
        self.results = QListView()
        self.results.setModel(self.results_model)
        self.results.setUniformItemSizes(True)
        self.results.setSpacing(4)  # rows readable at a glance, like the library table
        self.results.selectionModel().currentChanged.connect(self._on_current_changed)
        self.results_state = PaneState()
        self.results_state.show_state(EMPTY_RESULTS)
        self.results_state.action_clicked.connect(lambda _action: self.search())
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.results_state)
        self.results_stack.addWidget(self.results)
        self.status = ElidedLabel(mode=Qt.TextElideMode.ElideRight)

        self.repo_title = wrapping_label()
        self.repo_title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.repo_note = wrapping_label()
        self.files_model = HfFilesModel(self)
        self.files = QTableView()
        self.files.setModel(self.files_model)
        self.files.verticalHeader().hide()
        self.files.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.files.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files.horizontalHeader().setSectionResizeMode(HfColumn.PATH, QHeaderView.ResizeMode.Stretch)

        left = QWidget()
        left.setMinimumWidth(RESULTS_MIN_WIDTH)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.results_stack, 1)
        left_layout.addWidget(self.status)
        repository = QWidget()
        right_layout = QVBoxLayout(repository)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.repo_title)
        right_layout.addWidget(self.repo_note)
        right_layout.addWidget(self.files, 1)
        self.repo_state = PaneState()
        self.repo_state.show_state(EMPTY_REPOSITORY)
        self.repo_state.action_clicked.connect(lambda _action: self._retry_repository())
        self.repo_stack = QStackedWidget()
        self.repo_stack.setMinimumWidth(REPOSITORY_MIN_WIDTH)
        self.repo_stack.addWidget(self.repo_state)
        self.repo_stack.addWidget(repository)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(self.repo_stack)
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
        sort = cast("SortKey", self.sort.currentData() or "downloads")
        client = self.remote.huggingface
        self._last_search = (text, author, tags)

        def fetch(offset: int, limit: int) -> list[HfModelSummary]:
            return client().search_models(
                text, author=author or None, tags=tags, sort=sort, limit=limit, offset=offset
            )

        self.status.setText("Searching…")
        endpoint = str(getattr(self.remote.settings, "hf_endpoint", "") or "https://huggingface.co")
        self._show_results_state(StateText(f"Searching {host_of(endpoint)}…"))
        self.results_model.start(fetch)

    def _on_waiting(self, text: str) -> None:
        self.status.setText(text)
        if self.results_stack.currentWidget() is self.results_state and not self.results_state.state.action:
            self.results_state.show_state(StateText(self.results_state.state.title, text))

    def _show_results_state(self, state: StateText) -> None:
        self.results_state.show_state(state)
        self.results_stack.setCurrentWidget(self.results_state)

    def _on_page_loaded(self, rows: int) -> None:
        if rows == 0:
            self._show_results_state(no_result_state(*self._last_search))
            self.status.setText("No repositories found")
        else:
            self.results_stack.setCurrentWidget(self.results)
            more = "" if not self.results_model.canFetchMore() else " — scroll for more"
            self.status.setText(f"{rows} repositor{'ies' if rows != 1 else 'y'}{more}")
        self.results_loaded.emit(rows)

    def _on_failed(self, message: str) -> None:
        if self.results_model.rowCount() == 0:
            self._show_results_state(StateText("Could not search Hugging Face", message, RETRY))
            self.status.setText("")
        else:
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

        def job(
            _progress: ProgressCallback, _cancel: CancelToken
        ) -> tuple[HfModelDetail, list[HfFileRow], str]:
            return fetch_repository(client(), library, repo_id)

        self._repo_id = repo_id
        self.repo_state.show_state(StateText(f"Loading {repo_id}…"))
        self.repo_stack.setCurrentWidget(self.repo_state)
        handle = self.jobs.start("Hugging Face repository", job)
        handle.signals.progressed.connect(lambda progress: self._on_repository_wait(generation, progress))
        handle.signals.finished.connect(lambda result: self._on_repository(generation, result))
        handle.signals.failed.connect(lambda message: self._on_repository_failed(generation, message))

    def _on_repository_wait(self, generation: int, progress: Progress) -> None:
        if generation == self._generation and progress.message:
            self.repo_state.show_state(StateText(self.repo_state.state.title, progress.message))

    def _on_repository_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.repo_state.show_state(StateText(f"Could not open {self._repo_id}", message, RETRY))
        self.repo_stack.setCurrentWidget(self.repo_state)
        self.message.emit(message)

    def _retry_repository(self) -> None:
        if self._repo_id:
            self.open_repository(self._repo_id)

    def _on_repository(self, generation: int, result: tuple[HfModelDetail, list[HfFileRow], str]) -> None:
        if generation != self._generation:
            return
        detail, rows, library_unknown = result
        self._detail = detail
        self.repo_stack.setCurrentIndex(1)
        self.repo_title.setText(detail.repo_id)
        notes = []
        if detail.is_diffusers_pipeline:
            notes.append(
                "This repository is a diffusers pipeline (a folder of components); single files below are "
                "components or single-file checkpoints."
            )
        if detail.gated:
            none_set = "" if self._has_token() else " No token is set yet."
            notes.append(
                f"Gated: downloads need a Hugging Face token with access (Settings › Sites).{none_set}"
            )
        if detail.base_models:
            notes.append(f"Base model: {', '.join(detail.base_models)}")
        self.repo_note.setText("\n".join(notes))
        self._show_files(rows)
        self.repository_loaded.emit(detail.repo_id)
        if library_unknown:  # which files the library has is not known: said in the status bar
            self.message.emit(library_unknown)

    def _show_files(self, rows: list[HfFileRow]) -> None:
        self.files_model.set_rows(rows)
        for number, row in enumerate(rows):
            if row.file.is_model_weight:
                button = self._download_button(row)
                self.files.setIndexWidget(self.files_model.index(number, HfColumn.DOWNLOAD), button)

    def refresh_library_marks(self) -> None:
        """The open repository's files say again whether the library has them ("In library" or
        Download): called when a download lands and when a job changed the library (a file deleted on
        disk and rescanned must be downloadable again), as the Civitai tab's are."""
        detail = self._detail
        if detail is None:
            return
        generation, library = self._generation, self.library

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> list[HfFileRow]:
            return marked_rows(library, detail.files)

        handle = self.jobs.start("Hugging Face library marks", job)
        handle.signals.finished.connect(lambda rows: self._on_marks(generation, rows))

    def _on_marks(self, generation: int, rows: list[HfFileRow]) -> None:
        if generation == self._generation and self._detail is not None:
            self._show_files(rows)

    def _download_button(self, row: HfFileRow) -> QPushButton:
        """ "Download", or a disabled "In library" naming the file the library has (no second copy)."""
        owned = self.library.copies_there(row.file.sha256) if row.in_library and row.file.sha256 else []
        if owned:
            button = QPushButton("In library")
            button.setEnabled(False)
            button.setToolTip(f"Already in the library: {owned[0].path}")
            return button
        button = QPushButton("Download")
        button.clicked.connect(lambda _checked=False, f=row.file: self.download(f))
        detail = self._detail
        if detail is not None and detail.gated and not self._has_token():
            button.setToolTip(NEEDS_TOKEN.format(repo=detail.repo_id))
        return button

    def _has_token(self) -> bool:
        """Whether a Hugging Face token is set (Settings › Sites or HF_TOKEN), read when asked: one added
        after the repository was opened counts at the next click."""
        return bool(self.remote.tokens.get(HUGGING_FACE))

    @property
    def detail(self) -> HfModelDetail | None:
        return self._detail

    def download(self, file: HfFile) -> int | None:
        detail = self._detail
        if detail is None:
            return None
        if detail.gated and not self._has_token():
            self.message.emit(NEEDS_TOKEN.format(repo=detail.repo_id))
            return None
        settings = self.remote.settings
        url = self.remote.huggingface().file_url(detail.repo_id, file.path, revision=detail.sha or "main")
        return self.manager.enqueue_from_site(
            lambda: hf_request(
                detail,
                file,
                url,
                roots=self.library.roots(),
                preferred_root=settings.download_root,
                subfolder=settings.download_subfolder,
            ),
            file.name,
            self.message.emit,
        )

    def shutdown(self) -> None:
        self.jobs.shutdown(2000)
