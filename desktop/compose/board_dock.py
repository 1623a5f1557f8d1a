"""The dock beside the library that holds the compose board.

Kept apart from the board itself (``desktop.compose.board_panel``) so the main window can make the dock,
at its width, before its first paint and put the board in it once the Compose tab is built: the window
has its final shape from the first frame instead of widening when the board arrives.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QWidget

from desktop.qt_namespace import set_enum_property

BOARD_WIDTH = 400  # the board's width beside the library when it is first shown


class _Room(QWidget):
    """Holds the board's width in the dock until the board is put there."""

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(BOARD_WIDTH, 0)


class BoardDock(QDockWidget):
    """The dock holding the board panel; ``closed`` tells its title-bar close button from a tab hiding it."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Compose board", parent)
        self.setObjectName("composeDock")
        set_enum_property(self, "allowedAreas", "LeftDockWidgetArea|RightDockWidgetArea")
        self.setWidget(_Room())

    def set_board(self, board: QWidget) -> None:
        """Puts the board in the dock, in place of the room kept for it."""
        room = self.widget()
        self.setWidget(board)
        if isinstance(room, _Room):
            room.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        super().closeEvent(event)
        self.closed.emit()
