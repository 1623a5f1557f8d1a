"""Clicking a tile of the real window's grid so the grid has the keyboard, as a user starts a key test."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow


def click_into_grid(qtbot: QtBot, window: MainWindow, asset_id: int) -> None:
    """Activates the window and clicks the tile of ``asset_id``; returns once the grid has the focus."""
    grid = window.grid
    row = window.model.row_of(asset_id)
    assert row is not None
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    QTest.mouseClick(
        grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualRect(window.model.index(row, 0)).center()
    )
    qtbot.waitUntil(grid.hasFocus, timeout=2000)
