"""The library as one Qt table model, shared by the grid and the table view.

A library can hold tens of thousands of files, so the model never loads every record: a search returns
only ids (``Library.search_ids``), and light rows (``catalog.records.AssetRow``: what a tile or a table
row shows) are fetched a page at a time with ``get_rows`` when a view first asks for a row, then kept in
a small LRU of pages. The full record of a file (tags, hashes, notes, remote facts) is read when it is
asked for (``record``: the details pane's current file, the selection a menu acts on). Sorting is done by
the catalog (the query's sort key), not by a proxy, because a proxy would have to read every record to
sort them.

The grid (``QListView`` in icon mode) shows column 0 of the same model through ``ThumbnailDelegate``,
which reads ``AssetRole`` values; sharing one model lets both views share one selection model, so
switching views keeps the selection.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap

from catalog.asset_query import AssetQuery, SortKey
from catalog.path_text import shown
from core.taxonomy import AssetKind, FileStatus
from desktop.compose.mime import ASSET_IDS_MIME, asset_ids_mime
from desktop.labels import (
    ARCHITECTURE_LABELS,
    KIND_COLORS,
    KIND_LABELS,
    STATUS_LABELS,
    display_title,
    human_size,
    kind_label,
    stars,
)
from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt
from desktop.services import AssetLibrary
from desktop.thumbnails import ThumbnailCache

if TYPE_CHECKING:  # the rows are read after the first frame, off the GUI thread (catalog.read_connection)
    from catalog.records import AssetRecord, AssetRow

AnyIndex = QModelIndex | QPersistentModelIndex


class AssetColumn(IntEnum):
    NAME = 0
    KIND = 1
    ARCHITECTURE = 2
    BASE_LABEL = 3
    SIZE = 4
    RATING = 5
    FAVORITE = 6
    STATUS = 7


COLUMN_COUNT = len(AssetColumn)
COLUMN_TITLES: dict[AssetColumn, str] = {
    AssetColumn.NAME: "Name",
    AssetColumn.KIND: "Kind",
    AssetColumn.ARCHITECTURE: "Architecture",
    AssetColumn.BASE_LABEL: "Base model",
    AssetColumn.SIZE: "Size",
    AssetColumn.RATING: "Rating",
    AssetColumn.FAVORITE: "Favorite",
    AssetColumn.STATUS: "Status",
}

# Columns the catalog can sort by; the others keep the current order when their header is clicked.
SORT_KEYS: dict[AssetColumn, SortKey] = {
    AssetColumn.NAME: SortKey.NAME,
    AssetColumn.KIND: SortKey.KIND,
    AssetColumn.ARCHITECTURE: SortKey.ARCHITECTURE,
    AssetColumn.SIZE: SortKey.SIZE,
    AssetColumn.RATING: SortKey.RATING,
}


class AssetRole(IntEnum):
    """Custom roles; the grid delegate and the window read these instead of parsing display text."""

    ID = USER_ROLE + 1
    RECORD = USER_ROLE + 2  # the row's AssetRow (what the views show)
    SORT = USER_ROLE + 3  # a raw, comparable value per column (for a proxy or tests)
    THUMBNAIL = USER_ROLE + 4  # QImage of the cover, None while loading or without cover
    KIND = USER_ROLE + 5  # the AssetKind value: Qt hands str enums back as plain str
    ARCHITECTURE = USER_ROLE + 6
    THUMBNAIL_PENDING = USER_ROLE + 7  # True while the cover is being decoded
    HAS_UPDATE = USER_ROLE + 8  # a newer Civitai version is available (catalog.updates)


PROBLEM_COLOR = "#dc2626"
UPDATE_COLOR = "#2563eb"
UPDATE_LABEL = "Update available"
STAR_COLOR = "#e0a100"
HEART_COLOR = "#f43f5e"
DEFAULT_PAGE_SIZE = 200
DEFAULT_MAX_PAGES = 40


class AssetTableModel(QAbstractTableModel):
    """Rows are the ids of the current query's result; records are read in pages on demand."""

    refreshed = Signal()  # the result was re-read (new query, rescan); rows are new

    def __init__(
        self,
        library: AssetLibrary,
        thumbnails: ThumbnailCache | None = None,
        parent: QObject | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._thumbnails = thumbnails
        self._page_size = page_size
        self._max_pages = max_pages
        self._query = AssetQuery()
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}
        self._pages: OrderedDict[int, dict[int, AssetRow]] = OrderedDict()
        self._cover_rows: dict[str, set[int]] = {}
        self._kind_icons: dict[AssetKind | None, QIcon] = {}  # None: the update badge
        self._update_ids: frozenset[int] = frozenset()
        if thumbnails is not None:
            thumbnails.loaded.connect(self._on_thumbnail_loaded)

    # -- the result ---------------------------------------------------------------------------------

    @property
    def query(self) -> AssetQuery:
        return self._query

    @property
    def page_size(self) -> int:
        return self._page_size

    def start_with(self, query: AssetQuery) -> None:
        """The query the first read runs (the sort the user left), set without reading: a window's
        first page is read off the GUI thread once it is drawn."""
        self._query = query

    def set_query(self, query: AssetQuery) -> None:
        if query != self._query:
            self._query = query
            self.refresh()

    def refresh(self) -> None:
        """Re-runs the query: after a rescan, an import, or a change that moves rows between filters."""
        ids = list(self._library.search_ids(self._query))
        self.show_result(ids, frozenset(self._library.update_asset_ids()), ())

    def show_result(
        self, ids: Sequence[int], update_ids: frozenset[int], first_page: Sequence[AssetRow]
    ) -> None:
        """Shows a result read elsewhere (the window's first view, read off the GUI thread) for the current
        query: its ids, which of them have updates, and the rows of its first page."""
        self.beginResetModel()
        self._ids = list(ids)
        self._update_ids = update_ids
        self._rows = {asset_id: row for row, asset_id in enumerate(self._ids)}
        self._pages.clear()
        self._cover_rows.clear()
        if first_page:
            self._pages[0] = {record.id: record for record in first_page}
            for record in first_page:
                self._index_cover(None, record, self._rows[record.id])
        self.endResetModel()
        self.refreshed.emit()

    def refresh_updates(self) -> None:
        """Re-reads which rows have an update (after a check, an ignore or a download) and repaints."""
        self.show_updates(frozenset(self._library.update_asset_ids()))

    def show_updates(self, update_ids: frozenset[int]) -> None:
        """Badges the rows in ``update_ids`` (read elsewhere) as having an update, and repaints."""
        self._update_ids = update_ids
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(AssetColumn) - 1))

    def has_update(self, asset_id: int) -> bool:
        return asset_id in self._update_ids

    def asset_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, asset_id: int) -> int | None:
        return self._rows.get(asset_id)

    def shown(self, row: int) -> AssetRow | None:
        """What ``row`` shows (from the page cache); None if it left the catalog since the query ran."""
        asset_id = self.asset_id(row)
        if asset_id is None:
            return None
        return self._page(row // self._page_size).get(asset_id)

    def record(self, row: int) -> AssetRecord | None:
        """The full record of the file in ``row``, read now; None if it vanished from the catalog."""
        asset_id = self.asset_id(row)
        return self._library.get(asset_id) if asset_id is not None else None

    def records(self, rows: Sequence[int]) -> list[AssetRecord]:
        """The full records of ``rows`` in their order, in one read (files gone since are left out)."""
        ids = [asset_id for asset_id in (self.asset_id(row) for row in rows) if asset_id is not None]
        return list(self._library.get_many(ids)) if ids else []

    def refresh_asset(self, asset_id: int, record: AssetRecord | None = None) -> None:
        """Re-reads one asset (after an edit) and repaints its row without resetting the views."""
        row = self._rows.get(asset_id)
        if row is None:
            return
        full = record if record is not None else self._library.get(asset_id)
        fresh = row_of_record(full) if full is not None else None
        page = self._pages.get(row // self._page_size)
        if page is not None:
            old = page.get(asset_id)
            if fresh is None:
                page.pop(asset_id, None)
            else:
                page[asset_id] = fresh
            self._index_cover(old, fresh, row)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(AssetColumn) - 1))

    def follow_changes(self, asset_ids: Collection[int] | None) -> bool:
        """Shows what another process or machine changed (``desktop.live_changes``) without resetting the
        views where it can: the query is run again, and while it gives the same rows in the same order only
        the rows read so far among ``asset_ids`` (None: all of them) are read again, and only those that
        differ are repainted, so a change this window already shows repaints nothing. Returns True when
        the rows themselves changed (added, removed, reordered): the model was reset, and the caller puts
        the selection and the scroll position back."""
        ids = list(self._library.search_ids(self._query))
        update_ids = frozenset(self._library.update_asset_ids())
        if ids != self._ids:
            self.show_result(ids, update_ids, ())
            return True
        if update_ids != self._update_ids:
            self.show_updates(update_ids)
        cached = {asset_id: page for page in self._pages.values() for asset_id in page}
        wanted = [asset_id for asset_id in (cached if asset_ids is None else asset_ids) if asset_id in cached]
        if not wanted:
            return False
        fresh = {row.id: row for row in self._library.get_rows(wanted)}
        for asset_id in wanted:
            page, new = cached[asset_id], fresh.get(asset_id)
            old = page.get(asset_id)
            if new == old:
                continue
            row = self._rows[asset_id]
            if new is None:
                page.pop(asset_id, None)
            else:
                page[asset_id] = new
            self._index_cover(old, new, row)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(AssetColumn) - 1))
        return False

    def _page(self, number: int) -> dict[int, AssetRow]:
        page = self._pages.get(number)
        if page is not None:
            self._pages.move_to_end(number)
            return page
        start = number * self._page_size
        ids = self._ids[start : start + self._page_size]
        page = {shown.id: shown for shown in self._library.get_rows(ids)}
        self._pages[number] = page
        for record in page.values():
            self._index_cover(None, record, self._rows[record.id])
        while len(self._pages) > self._max_pages:
            _, dropped = self._pages.popitem(last=False)
            for record in dropped.values():
                self._index_cover(record, None, self._rows[record.id])
        return page

    def _index_cover(self, old: AssetRow | None, new: AssetRow | None, row: int) -> None:
        """Keeps cover path -> rows current, so a finished thumbnail repaints exactly its rows."""
        if old is not None and old.cover_path:
            rows = self._cover_rows.get(old.cover_path)
            if rows is not None:
                rows.discard(row)
                if not rows:
                    del self._cover_rows[old.cover_path]
        if new is not None and new.cover_path:
            self._cover_rows.setdefault(new.cover_path, set()).add(row)

    def _on_thumbnail_loaded(self, path: str) -> None:
        roles = [AssetRole.THUMBNAIL.value, AssetRole.THUMBNAIL_PENDING.value]
        for row in sorted(self._cover_rows.get(path, ())):
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, roles)

    # -- sorting ------------------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder | None = None) -> None:
        """Sorting is a new catalog query; columns the catalog cannot sort by are ignored."""
        if not 0 <= column < len(AssetColumn):
            return
        key = SORT_KEYS.get(AssetColumn(column))
        if key is None:
            return
        descending = order is not None and order == Qt.SortOrder.DescendingOrder
        self.set_query(self._query._replace(sort=key, descending=descending))

    def sort_column(self) -> int:
        """The column the current query is sorted by, for the header's sort indicator."""
        for column, key in SORT_KEYS.items():
            if key is self._query.sort:
                return int(column)
        return -1

    # -- the Qt model interface ---------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        # Asked for every index the views make (a grid of 10,000 tiles asks ~40,000 times while it lays
        # them out): a constant, not ``len()`` of the enum.
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(AssetColumn):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMN_TITLES[AssetColumn(section)]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return _alignment(AssetColumn(section))
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
            | Qt.ItemFlag.ItemIsDragEnabled  # rows are dragged onto the compose board
        )

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [ASSET_IDS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        """The ids of the dragged rows (one per row, whatever the columns), in row order."""
        rows = sorted({index.row() for index in indexes if index.isValid() and index.row() < len(self._ids)})
        return asset_ids_mime(self._ids[row] for row in rows)

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or index.row() >= len(self._ids) or index.column() >= len(AssetColumn):
            return None
        if role == AssetRole.ID:
            return self._ids[index.row()]
        if role == AssetRole.HAS_UPDATE:
            return self._ids[index.row()] in self._update_ids
        record = self.shown(index.row())
        if record is None:
            return None
        column = AssetColumn(index.column())
        update_shown = column is AssetColumn.STATUS and record.status is FileStatus.OK
        if update_shown and record.id in self._update_ids:  # the table's badge
            if role == Qt.ItemDataRole.DisplayRole:
                return UPDATE_LABEL
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(UPDATE_COLOR))
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(record, column)
        if role == AssetRole.RECORD:
            return record
        if role == AssetRole.SORT:
            return _sort_value(record, column)
        if role == AssetRole.KIND:
            return record.kind
        if role == AssetRole.ARCHITECTURE:
            return record.architecture
        if role == AssetRole.THUMBNAIL:
            if self._thumbnails is None or not record.cover_path:
                return None
            return self._thumbnails.get(record.cover_path)
        if role == AssetRole.THUMBNAIL_PENDING:
            return bool(
                self._thumbnails is not None
                and record.cover_path
                and self._thumbnails.is_pending(record.cover_path)
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(record, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        if role == Qt.ItemDataRole.DecorationRole and column is AssetColumn.NAME:
            return self._update_icon() if record.id in self._update_ids else self._kind_icon(record.kind)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _foreground(record, column)
        return None

    def _update_icon(self) -> QIcon:
        """The table's update badge before the name: an up arrow on the update color."""
        icon = self._kind_icons.get(None)
        if icon is None:
            pixmap = QPixmap(12, 12)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(UPDATE_COLOR))
            painter.drawEllipse(0, 0, 12, 12)
            painter.setPen(QColor("white"))
            painter.drawLine(6, 3, 6, 9)
            painter.drawLine(3, 6, 6, 3)
            painter.drawLine(9, 6, 6, 3)
            painter.end()
            icon = QIcon(pixmap)
            self._kind_icons[None] = icon
        return icon

    def _kind_icon(self, kind: AssetKind) -> QIcon:
        """A small dot in the kind's color; built lazily on the GUI thread (where data() runs)."""
        icon = self._kind_icons.get(kind)
        if icon is None:
            pixmap = QPixmap(12, 12)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(KIND_COLORS[kind]))
            painter.drawEllipse(2, 2, 8, 8)
            painter.end()
            icon = QIcon(pixmap)
            self._kind_icons[kind] = icon
        return icon

    def ids(self) -> Sequence[int]:
        return tuple(self._ids)


# Marks a kind or architecture the user set over the file's own; the tooltip says both, in the details
# pane's words ("Embedding (you set; file says LoRA)").
OVERRIDE_MARK = "*"


def _tooltip(record: AssetRow, column: AssetColumn) -> str | None:
    match column:
        case AssetColumn.NAME:
            return shown(record.path)  # Qt holds text: bytes that are not UTF-8 show as U+FFFD
        case AssetColumn.KIND if record.kind_override is not None:
            mine, theirs = KIND_LABELS[record.kind], KIND_LABELS[record.file_kind]
            return f"{mine} (you set; file says {theirs})"
        case AssetColumn.ARCHITECTURE if record.architecture_override is not None:
            mine, theirs = (
                ARCHITECTURE_LABELS[record.architecture],
                ARCHITECTURE_LABELS[record.file_architecture],
            )
            return f"{mine} (you set; file says {theirs})"
    return shown(record.status_reason) if record.status_reason else None


def _display(record: AssetRow, column: AssetColumn) -> str:
    match column:
        case AssetColumn.NAME:
            return display_title(record)
        case AssetColumn.KIND:
            return kind_label(record.kind, record.network) + OVERRIDE_MARK * (
                record.kind_override is not None
            )
        case AssetColumn.ARCHITECTURE:
            overridden = record.architecture_override is not None
            return ARCHITECTURE_LABELS[record.architecture] + OVERRIDE_MARK * overridden
        case AssetColumn.BASE_LABEL:  # identification's table: imported with the first rows, not at start
            from core.sources.site_words import base_model_word

            return base_model_word(record.base_model_label)
        case AssetColumn.SIZE:
            return human_size(record.size)
        case AssetColumn.RATING:
            return stars(record.rating)
        case AssetColumn.FAVORITE:
            return "♥" if record.favorite else ""
        case AssetColumn.STATUS:
            return STATUS_LABELS[record.status]


def _sort_value(record: AssetRow, column: AssetColumn) -> Any:
    match column:
        case AssetColumn.NAME:
            return display_title(record).casefold()
        case AssetColumn.KIND:
            return record.kind.value
        case AssetColumn.ARCHITECTURE:
            return record.architecture.value
        case AssetColumn.BASE_LABEL:
            return (record.base_model_label or "").casefold()
        case AssetColumn.SIZE:
            return record.size
        case AssetColumn.RATING:
            return record.rating
        case AssetColumn.FAVORITE:
            return int(record.favorite)
        case AssetColumn.STATUS:
            return record.status.value


def _foreground(record: AssetRow, column: AssetColumn) -> QBrush | None:
    """Color only where it carries meaning: problems in red, stars gold, hearts rose."""
    if column is AssetColumn.STATUS and record.status is not FileStatus.OK:
        return QBrush(QColor(PROBLEM_COLOR))
    if column is AssetColumn.RATING and record.rating:
        return QBrush(QColor(STAR_COLOR))
    if column is AssetColumn.FAVORITE and record.favorite:
        return QBrush(QColor(HEART_COLOR))
    return None


def _alignment(column: AssetColumn) -> int:
    if column is AssetColumn.SIZE:
        return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if column in (AssetColumn.RATING, AssetColumn.FAVORITE):
        return int(Qt.AlignmentFlag.AlignCenter)
    return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def row_of_record(record: AssetRecord) -> AssetRow:
    """The row of a full record (an edit's result): the same values the catalog's page read gives."""
    import dataclasses

    from catalog.records import AssetRow

    return AssetRow(**{field.name: getattr(record, field.name) for field in dataclasses.fields(AssetRow)})
