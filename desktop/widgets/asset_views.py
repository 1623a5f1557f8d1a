"""The two views of the library, grid and table, configured once and able to say why they are empty.

Both show the same ``AssetTableModel``; an empty view gets a centred hint instead of a blank area,
because "no results" and "no library folders yet" need different next steps from the user.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QListView, QTableView, QWidget

from desktop.delegates.thumbnail_delegate import ThumbnailDelegate
from desktop.models.asset_table_model import AssetColumn, AssetTableModel

COLUMN_WIDTHS: dict[AssetColumn, int] = {
    AssetColumn.KIND: 120,
    AssetColumn.ARCHITECTURE: 110,
    AssetColumn.BASE_LABEL: 110,
    AssetColumn.SIZE: 84,
    AssetColumn.RATING: 84,
    AssetColumn.FAVORITE: 70,
    AssetColumn.STATUS: 80,
}


def _paint_empty_hint(view: QAbstractItemView, text: str) -> None:
    painter = QPainter(view.viewport())
    color = QColor(view.palette().color(QPalette.ColorRole.PlaceholderText))
    painter.setPen(color)
    area = QRect(view.viewport().rect()).adjusted(40, 40, -40, -40)
    painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), text)


def _enable_drag_out(view: QAbstractItemView) -> None:
    """Rows can be dragged out (onto the compose board) but nothing is dropped into the library views."""
    view.setDragEnabled(True)
    view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    view.setDefaultDropAction(Qt.DropAction.CopyAction)


class AssetGrid(QListView):
    """Tiles painted by ``ThumbnailDelegate``; selecting a tile selects its whole row."""

    def __init__(
        self, model: AssetTableModel, delegate: ThumbnailDelegate, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.empty_text = ""
        self.setObjectName("assetGrid")
        self.setModel(model)
        self.setItemDelegate(delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # one sizeHint for all tiles: layout stays fast for big libraries
        self.setWrapping(True)
        self.setSpacing(6)
        self.setMouseTracking(True)  # hover highlight
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        _enable_drag_out(self)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0 and self.empty_text:
            _paint_empty_hint(self, self.empty_text)


class AssetTable(QTableView):
    """Rows with sortable columns; sorting is a catalog query (see ``AssetTableModel.sort``)."""

    def __init__(self, model: AssetTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = ""
        self.setObjectName("assetTable")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        _enable_drag_out(self)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(28)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(AssetColumn.NAME, QHeaderView.ResizeMode.Stretch)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setSortIndicator(AssetColumn.NAME, Qt.SortOrder.AscendingOrder)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0 and self.empty_text:
            _paint_empty_hint(self, self.empty_text)
