"""The two views of the library, grid and table, configured once and able to say why they are empty.

Both show the same ``AssetTableModel``; an empty view gets a centred hint instead of a blank area,
because "no results" and "no library folders yet" need different next steps from the user. Both say
when Enter is pressed on their rows (``enter_pressed``): the window does with it what a double-click
does, rather than Qt's ``activated``, which some desktops send on a single click.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, Signal, SignalInstance
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPaintEvent, QPalette, QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QListView, QTableView, QWidget

from desktop.delegates.thumbnail_delegate import ThumbnailDelegate
from desktop.models.asset_table_model import AssetColumn, AssetTableModel
from desktop.qt_namespace import Qt, set_enum_property

# Starting widths of the columns after Name; narrow, their text elides, and the user can widen them.
COLUMN_WIDTHS: dict[AssetColumn, int] = {
    AssetColumn.KIND: 96,
    AssetColumn.ARCHITECTURE: 100,
    AssetColumn.BASE_LABEL: 96,
    AssetColumn.SIZE: 84,
    AssetColumn.RATING: 76,
    AssetColumn.FAVORITE: 64,
    AssetColumn.STATUS: 96,  # "Unreadable" whole
}
# The Name column never gets narrower than this: a row without its name tells the user nothing. When
# the pane is narrower than all columns the table scrolls sideways instead of squeezing Name.
NAME_MIN_WIDTH = 220


def _paint_empty_hint(view: QAbstractItemView, text: str) -> None:
    """The view's hint, centred, while it has no rows (its model empty) and a hint to give."""
    if view.model() is None or view.model().rowCount() != 0 or not text:
        return
    painter = QPainter(view.viewport())
    color = QColor(view.palette().color(QPalette.ColorRole.PlaceholderText))
    painter.setPen(color)
    area = QRect(view.viewport().rect()).adjusted(40, 40, -40, -40)
    painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), text)


def _answered_enter(view: QAbstractItemView, event: QKeyEvent, enter_pressed: SignalInstance) -> bool:
    """Emits ``enter_pressed`` for Return or Enter on a current row, with no modifier other than the
    keypad's; whether it did (else the view handles the key as usual)."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    if (
        event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        or modifiers != Qt.KeyboardModifier.NoModifier
        or not view.currentIndex().isValid()
    ):
        return False
    event.accept()
    enter_pressed.emit()
    return True


def _enable_drag_out(view: QAbstractItemView) -> None:
    """Rows can be dragged out (onto the compose board) but nothing is dropped into the library views."""
    view.setDragEnabled(True)
    view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    set_enum_property(view, "defaultDropAction", "CopyAction")


GRID_LAYOUT_BATCH = 300  # tiles laid out per turn of the event loop: more than a screen holds


class AssetGrid(QListView):
    """Tiles painted by ``ThumbnailDelegate``; selecting a tile selects its whole row."""

    enter_pressed = Signal()

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
        # Laid out a batch at a time between events: the first tiles are drawn at once, not after all
        # of a large library's (each tile's place is asked of the model through Python).
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(GRID_LAYOUT_BATCH)
        self.setWrapping(True)
        self.setSpacing(6)
        self.setMouseTracking(True)  # hover highlight
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        _enable_drag_out(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not _answered_enter(self, event, self.enter_pressed):
            super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        _paint_empty_hint(self, self.empty_text)


class AssetTable(QTableView):
    """Rows with sortable columns; sorting is a catalog query (see ``AssetTableModel.sort``).

    Name has priority over the other columns: it takes the room the other columns leave (never less
    than ``NAME_MIN_WIDTH``) until the user resizes it by hand, after which the width they chose stays.
    """

    enter_pressed = Signal()

    def __init__(self, model: AssetTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = ""
        self.setObjectName("assetTable")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Tab leaves the table, as it leaves the grid (Shift+Tab back to the search): whole rows are
        # selected, so moving the current cell along a row, Qt's default, only trapped the keys.
        self.setTabKeyNavigation(False)
        self.setAlternatingRowColors(True)
        _enable_drag_out(self)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(28)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setMinimumSectionSize(48)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.resizeSection(AssetColumn.NAME, NAME_MIN_WIDTH)
        header.setSortIndicator(AssetColumn.NAME, Qt.SortOrder.AscendingOrder)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._name_chosen_by_user = False
        self._fitting_name = False
        header.sectionResized.connect(self._on_section_resized)

    def _on_section_resized(self, column: int, _old: int, new: int) -> None:
        if column != AssetColumn.NAME or self._fitting_name:
            return
        if new < NAME_MIN_WIDTH:  # QHeaderView has no per-section minimum: put Name back to its own
            self._set_name_width(NAME_MIN_WIDTH)
            return
        self._name_chosen_by_user = True

    def _set_name_width(self, width: int) -> None:
        self._fitting_name = True
        try:
            self.horizontalHeader().resizeSection(AssetColumn.NAME, width)
        finally:
            self._fitting_name = False

    def fit_name_column(self) -> None:
        """Gives Name the width the other columns leave in the viewport, at least ``NAME_MIN_WIDTH``."""
        if self._name_chosen_by_user:
            return
        header = self.horizontalHeader()
        others = sum(
            header.sectionSize(column)
            for column in range(header.count())
            if column != AssetColumn.NAME and not header.isSectionHidden(column)
        )
        self._set_name_width(max(NAME_MIN_WIDTH, self.viewport().width() - others))

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        """The viewport, not the view, is what narrows when the pane or a scroll bar takes room."""
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize:
            self.fit_name_column()
        return handled

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.fit_name_column()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not _answered_enter(self, event, self.enter_pressed):
            super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        _paint_empty_hint(self, self.empty_text)
