"""The board in its dock is never cut off at the right edge: the dock is at least as wide as the board's
narrowest layout, whatever the fonts, the style sheet or the open groups (the hires fix) ask for."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QTextEdit
from pytestqt.qtbot import QtBot

from desktop.compose.board import ComposeBoard
from desktop.compose.board_dock import BoardDock
from desktop.compose.board_panel import BoardPanel
from desktop.compose.notices import MissingList
from tests.desktop.conftest import PopulatedLibrary


def _board_fits(panel: BoardPanel, board: ComposeBoard) -> bool:
    return panel.scroll_area.viewport().width() >= board.minimumSizeHint().width()


def test_a_narrowed_dock_stops_at_the_boards_width(populated: PopulatedLibrary, qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QTextEdit())
    dock = BoardDock(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    board = ComposeBoard(populated.library)
    panel = BoardPanel(board, MissingList())
    dock.set_board(panel)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)

    window.resizeDocks([dock], [120], Qt.Orientation.Horizontal)  # the user drags the splitter far left
    qtbot.waitUntil(lambda: dock.width() < 1000)
    assert _board_fits(panel, board)

    board.parameters.hires.setChecked(True)  # a group opening may widen the board's narrowest layout
    qtbot.wait(50)
    window.resizeDocks([dock], [120], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    assert _board_fits(panel, board)
