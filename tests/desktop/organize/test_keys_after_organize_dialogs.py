"""The keys work at once after an Organize menu dialog closes, without a click on the grid first.

The outside tester closed Organize by template (Close or Apply) and pressed Ctrl+Z: nothing happened until
he clicked the grid (no window manager hands the activation back on Xvfb), while Edit › Undo worked. Find
duplicates and Share with other apps were the same. Each test opens the dialog from the Organize menu with
the grid focused, closes it with Esc, and presses F2 on whatever has the keys: Rename opens.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary
from tests.desktop.organize.grid_keys import click_into_grid

ORGANIZE_DIALOGS = ("Organize by template", "Find duplicates", "Share with other apps")


def _menu_entry(window: MainWindow, title: str) -> QAction:
    for action in window.organize_menu.actions():
        if action.text().replace("&", "").startswith(title):
            return action
    raise AssertionError(f"no {title!r} in the Organize menu")


@pytest.mark.parametrize("title", ORGANIZE_DIALOGS)
def test_f2_works_at_once_after_an_organize_dialog_is_closed(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, title: str
) -> None:
    click_into_grid(qtbot, window, populated.ids["sdxl_vae"])
    grid = window.grid
    _menu_entry(window, title).trigger()
    qtbot.waitUntil(lambda: isinstance(QApplication.activeWindow(), QDialog), timeout=2000)
    dialog = QApplication.activeWindow()
    assert dialog.windowTitle().startswith(title)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)

    qtbot.waitUntil(lambda: QApplication.focusWidget() is grid, timeout=2000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F2)
    files = window.file_actions  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: files.rename_dialog is not None, timeout=2000)
    files.rename_dialog.reject()
