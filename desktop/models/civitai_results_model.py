"""Civitai search results as an endlessly scrolling list model.

Civitai pages by cursor. ``canFetchMore`` says whether the last page had a ``next_cursor``; ``fetchMore``
(called by the view when the user scrolls to the end) asks for the next page on a worker thread through
``JobRunner``, so the GUI never waits for the network. Each page is checked against the library in the
same worker (``find_by_hash`` on every file's SHA-256) to badge models the user already has.

A new search bumps a generation number: pages of an older search that arrive late are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Signal
from PySide6.QtGui import QColor

from core.jobs import CancelToken, ProgressCallback
from core.sources.civitai_records import CivitaiModel, CivitaiSearchPage
from core.sources.site_words import CIVITAI_TYPE_LABELS, site_label
from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt
from desktop.remote_images import RemoteImageCache
from desktop.services import AssetLibrary
from desktop.workers import JobRunner

PAGE_SIZE = 20
IN_LIBRARY_TINT = QColor(46, 160, 67, 40)

AnyIndex = QModelIndex | QPersistentModelIndex


class CivitaiRole(IntEnum):
    MODEL = USER_ROLE + 1
    IN_LIBRARY = USER_ROLE + 2
    COVER_URL = USER_ROLE + 3


@dataclass(frozen=True, slots=True)
class CivitaiQuery:
    """The search field and filters of the Civitai tab, as sent to ``/api/v1/models``."""

    text: str = ""
    types: tuple[str, ...] = ()
    base_models: tuple[str, ...] = ()
    sort: str | None = None
    period: str | None = None
    nsfw: bool = False


@dataclass(frozen=True, slots=True)
class CivitaiResult:
    model: CivitaiModel
    in_library: bool = False
    cover_url: str = ""
    cover_level: int | None = None


@dataclass(slots=True)
class _Page:
    results: list[CivitaiResult] = field(default_factory=list)
    next_cursor: str | None = None


def sha256s_of(model: CivitaiModel) -> list[str]:
    return [file.sha256 for version in model.versions for file in version.files if file.sha256]


def cover_of(model: CivitaiModel) -> tuple[str, int | None]:
    """The first still image of the newest version (Civitai lists versions newest first)."""
    for version in model.versions:
        for image in version.images:
            if image.type == "image" and image.url:
                return image.url, image.nsfw_level
    return "", None


def in_library(model: CivitaiModel, library: AssetLibrary) -> bool:
    """Whether the library has a file of ``model`` (any version) on disk, by SHA-256 (worker thread)."""
    return any(library.copies_there(digest) for digest in sha256s_of(model))


def build_page(page: CivitaiSearchPage, library: AssetLibrary) -> _Page:
    """Turns one API page into rows, badging models with a file already in the library (worker thread)."""
    results = []
    for model in page.items:
        url, level = cover_of(model)
        results.append(CivitaiResult(model, in_library(model, library), url, level))
    return _Page(results, page.next_cursor)


class CivitaiResultsModel(QAbstractListModel):
    """Rows of ``CivitaiResult``; covers come from a ``RemoteImageCache`` (blurred above the NSFW level)."""

    loading_changed = Signal(bool)
    failed = Signal(str)
    page_loaded = Signal(int)  # rows now in the model
    waiting = Signal(str)  # "civitai.com asked us to wait 10 s…" while a request is held back

    def __init__(
        self,
        client: Callable[[], Any],
        library: AssetLibrary,
        images: RemoteImageCache,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._library = library
        self._images = images
        self._rows: list[CivitaiResult] = []
        self._query: CivitaiQuery | None = None
        self._cursor: str | None = None
        self._loading = False
        self._generation = 0
        self._failed_page: tuple[str | None] | None = None  # (cursor,) of the page that failed, if any
        self.page_size = PAGE_SIZE
        self.jobs = JobRunner(self, max_threads=1)
        images.loaded.connect(self._on_image_loaded)

    # -- searching ----------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def query(self) -> CivitaiQuery | None:
        """The search shown (None before the first one)."""
        return self._query

    @property
    def failed_page(self) -> bool:
        """The last page asked for failed; ``retry`` asks for it again."""
        return self._failed_page is not None

    def retry(self) -> None:
        """Asks again for the page that failed (the first page of the search, or the next one)."""
        if self._failed_page is not None and not self._loading:
            (cursor,) = self._failed_page
            self._request(cursor)

    def search(self, query: CivitaiQuery) -> None:
        """Replaces the results with the first page of ``query``."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._query = query
        self._cursor = None
        self._failed_page = None
        self.endResetModel()
        self._request(None)

    def _request(self, cursor: str | None) -> None:
        query = self._query
        if query is None:
            return
        generation = self._generation
        client_factory, library, limit = self._client, self._library, self.page_size

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> _Page:
            page = client_factory().search_models(
                query.text,
                types=query.types,
                base_models=query.base_models,
                sort=query.sort,
                period=query.period,
                nsfw=query.nsfw,
                limit=limit,
                cursor=cursor,
            )
            return build_page(page, library)

        self._failed_page = None
        self._set_loading(True)
        handle = self.jobs.start("Civitai search", job)
        handle.signals.progressed.connect(
            lambda progress: self.waiting.emit(progress.message) if generation == self._generation else None
        )
        handle.signals.finished.connect(lambda page: self._on_page(generation, page))
        handle.signals.failed.connect(lambda message: self._on_failed(generation, message, cursor))
        handle.signals.cancelled.connect(lambda: self._on_failed(generation, "", cursor))

    def _set_loading(self, loading: bool) -> None:
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)

    def _on_page(self, generation: int, page: _Page) -> None:
        if generation != self._generation:
            return
        self._set_loading(False)
        self._cursor = page.next_cursor
        if page.results:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page.results) - 1)
            self._rows.extend(page.results)
            self.endInsertRows()
        self.page_loaded.emit(len(self._rows))

    def _on_failed(self, generation: int, message: str, cursor: str | None) -> None:
        if generation != self._generation:
            return
        self._failed_page = (cursor,)
        self._set_loading(False)
        self._cursor = None  # do not hammer a failing site on every scroll; Retry asks again
        if message:
            self.failed.emit(message)

    def refresh_library(self) -> None:
        """Badges the rows shown again against the library (a download landed, a scan or lookup ended),
        without asking Civitai again; rows of a search replaced meanwhile are left alone."""
        models = [row.model for row in self._rows]
        if not models:
            return
        generation, library = self._generation, self._library

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> dict[int, bool]:
            return {model.id: in_library(model, library) for model in models}

        handle = self.jobs.start("Civitai results in the library", job)
        handle.signals.finished.connect(lambda owned: self._on_refreshed(generation, owned))

    def _on_refreshed(self, generation: int, owned: dict[int, bool]) -> None:
        if generation != self._generation:
            return
        for number, row in enumerate(self._rows):
            now = owned.get(row.model.id, row.in_library)
            if now != row.in_library:
                self._rows[number] = replace(row, in_library=now)
                index = self.index(number, 0)
                self.dataChanged.emit(index, index)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and self._cursor is not None and not self._loading

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008, N802
        if self.canFetchMore(parent):
            self._request(self._cursor)

    # -- the model ----------------------------------------------------------------------------------

    def result(self, row: int) -> CivitaiResult | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        model = row.model
        if role == Qt.ItemDataRole.DisplayRole:
            badge = "✓ In library\n" if row.in_library else ""
            return f"{badge}{model.name}\n{site_label(CIVITAI_TYPE_LABELS, model.type)}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._images.get(row.cover_url, row.cover_level) if row.cover_url else None
        if role == Qt.ItemDataRole.ToolTipRole:
            creator = f" by {model.creator}" if model.creator else ""
            return f"{model.name}{creator} ({site_label(CIVITAI_TYPE_LABELS, model.type)})"
        if role == Qt.ItemDataRole.BackgroundRole:
            return IN_LIBRARY_TINT if row.in_library else None
        if role == CivitaiRole.MODEL:
            return model
        if role == CivitaiRole.IN_LIBRARY:
            return row.in_library
        if role == CivitaiRole.COVER_URL:
            return row.cover_url
        return None

    def _on_image_loaded(self, url: str) -> None:
        for number, row in enumerate(self._rows):
            if row.cover_url == url:
                index = self.index(number, 0)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def shutdown(self) -> None:
        self.jobs.shutdown(2000)
