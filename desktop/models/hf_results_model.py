"""Hugging Face search results: one row per repository, loaded page by page as the list scrolls.

``start(fetch)`` begins a new search; the view's ``fetchMore`` asks for the next page, which ``fetch``
(offset, limit) returns from a worker thread. A page arriving for an older search is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Signal

from core.jobs import CancelToken, Progress, ProgressCallback
from core.sources.hf_records import HfModelSummary
from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt
from desktop.workers import JobRunner

AnyIndex = QModelIndex | QPersistentModelIndex
SUMMARY_ROLE = USER_ROLE + 1
PAGE_SIZE = 50

PageFetcher = Callable[[int, int], list[HfModelSummary]]  # (offset, limit) -> rows


class HfResultsModel(QAbstractListModel):
    page_loaded = Signal(int)  # rows loaded so far
    failed = Signal(str)
    waiting = Signal(str)  # "huggingface.co answered HTTP 503 — trying again in 2 s…"

    def __init__(self, parent: QObject | None = None, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self._rows: list[HfModelSummary] = []
        self._page_size = page_size
        self._fetch: PageFetcher | None = None
        self._loading = False
        self._exhausted = True
        self._generation = 0
        self.jobs = JobRunner(self, max_threads=1)

    def start(self, fetch: PageFetcher) -> None:
        """Forget the current results and load the first page of a new search."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self.endResetModel()
        self._fetch = fetch
        self._exhausted = False
        self._loading = False
        self._load_next()

    def set_results(self, rows: list[HfModelSummary]) -> None:
        """Show a fixed list (no further pages)."""
        self._generation += 1
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()
        self._fetch, self._exhausted, self._loading = None, True, False

    @property
    def loading(self) -> bool:
        return self._loading

    def summary(self, row: int) -> HfModelSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and self._fetch is not None and not self._exhausted and not self._loading

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008, N802
        if self.canFetchMore(parent):
            self._load_next()

    def _load_next(self) -> None:
        fetch, offset, generation, size = self._fetch, len(self._rows), self._generation, self._page_size
        if fetch is None:
            return
        self._loading = True

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> list[HfModelSummary]:
            return fetch(offset, size)

        handle = self.jobs.start("Hugging Face results", job)
        handle.signals.progressed.connect(
            lambda progress, g=generation: (
                self.waiting.emit(progress.message) if g == self._generation else None
            )
        )
        handle.signals.finished.connect(lambda rows, g=generation: self._on_page(g, rows))
        handle.signals.failed.connect(lambda message, g=generation: self._on_failed(g, message))

    def _on_progress(self, generation: int, progress: Progress) -> None:
        if generation == self._generation and progress.message:
            self.waiting.emit(progress.message)

    def _on_page(self, generation: int, rows: object) -> None:
        if generation != self._generation or not isinstance(rows, list):
            return
        self._loading = False
        if len(rows) < self._page_size:
            self._exhausted = True
        if rows:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self.page_loaded.emit(len(self._rows))

    def _on_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._exhausted = True  # a retry is a new search: no hammering a failing site on every scroll
        self.failed.emit(message)

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        summary = self.summary(index.row()) if index.isValid() else None
        if summary is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            gated = " · gated (needs a token)" if summary.gated else ""
            return f"{summary.repo_id}   ·  {summary.downloads:,} downloads · {summary.likes} likes{gated}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return ", ".join(summary.tags[:20])
        if role == SUMMARY_ROLE:
            return summary
        return None
