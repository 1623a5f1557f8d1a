"""The first frame holds the library view the settings show; the other view comes with the complete window.

Both views share one selection, and the view made later shows the sort chosen before it existed (the
grid's sort is the table's query) without sorting the library again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from catalog.asset_query import SortKey
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn
from tests.desktop.conftest import FakeSettings, PopulatedLibrary, ServicesFactory

TIMEOUT = 15_000


StartWindow = Callable[[str], tuple[MainWindow, list[bool]]]


@pytest.fixture
def start_window(
    populated: PopulatedLibrary, make_services: ServicesFactory, qtbot: QtBot
) -> Iterator[StartWindow]:
    """``start_window(view_mode)``: a window built as ``run_gui`` builds it (``load_later``) on settings
    showing ``view_mode``, shown, and a list that gets True once the window is complete."""
    windows: list[MainWindow] = []

    def start(view_mode: str) -> tuple[MainWindow, list[bool]]:
        settings = FakeSettings(view_mode=view_mode)
        window = MainWindow(make_services(populated.library, settings=settings), load_later=True)
        qtbot.addWidget(window)
        ready: list[bool] = []
        window.when_ready(lambda: ready.append(True))
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        return window, ready

    yield start
    for window in windows:
        window.close()


@pytest.mark.parametrize("mode", ["grid", "table"])
def test_the_first_frame_holds_the_view_shown_and_the_other_comes_with_the_window(
    start_window: StartWindow, mode: str, qtbot: QtBot
) -> None:
    window, ready = start_window(mode)
    assert window.views.count() == 1, "one view in the first frame"
    assert window.views.currentWidget() is window.current_view()
    assert window.view_mode() == mode

    qtbot.waitUntil(lambda: bool(ready), timeout=TIMEOUT)
    assert window.views.count() == 2, "the other view once the window is complete"
    assert window.grid.selectionModel() is window.selection
    assert window.table.selectionModel() is window.selection
    assert window.views.currentWidget() is (window.table if mode == "table" else window.grid)

    # One selection: a row selected in one view is selected in the other after switching.
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    window.selection.select(window.model.index(1, 0), flags)
    window.set_view_mode("grid" if mode == "table" else "table")
    assert [index.row() for index in window.current_view().selectionModel().selectedRows()] == [1]


def test_a_sort_chosen_before_the_table_exists_is_the_one_it_shows(
    start_window: StartWindow, qtbot: QtBot
) -> None:
    window, ready = start_window("grid")
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=TIMEOUT)
    # Sorted from the grid (the filter bar's sort and order), before the table is made.
    window.filter_bar.sort.setCurrentIndex(window.filter_bar.sort.findData(SortKey.SIZE.value))
    window.filter_bar.order.setChecked(True)
    assert window.model.query.sort is SortKey.SIZE
    assert window.model.query.descending
    ids = list(window.model.ids())

    qtbot.waitUntil(lambda: bool(ready), timeout=TIMEOUT)
    header = window.table.horizontalHeader()
    assert header.sortIndicatorSection() == AssetColumn.SIZE
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert window.model.query.sort is SortKey.SIZE, "not sorted again by the table's default"
    assert window.model.query.descending
    assert list(window.model.ids()) == ids


def test_the_menus_are_in_the_first_frame_and_their_entries_work_once_it_is_drawn(
    start_window: StartWindow, qtbot: QtBot
) -> None:
    window, ready = start_window("grid")
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&Library", "&Organize", "&View", "&Help"]

    # The entries come with the first frame: opened by a click on the menu bar, File lists them.
    qtbot.waitUntil(lambda: bool(window.file_menu.actions()), timeout=TIMEOUT)
    bar = window.menuBar()
    qtbot.mouseClick(
        bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(window.file_menu.menuAction()).center()
    )
    qtbot.waitUntil(window.file_menu.isVisible, timeout=TIMEOUT)
    entries = [action.text() for action in window.file_menu.actions() if not action.isSeparator()]
    assert entries[0] == "&Add library folder…"
    assert entries[-1] == "&Quit"
    window.file_menu.close()

    # Their shortcuts work: Ctrl+2 shows the table, Ctrl+1 the grid again, their View entries checked.
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=TIMEOUT)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)  # a window's shortcuts work while it is active
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.view_mode() == "table"
    assert window.table_action.isChecked()
    assert not window.grid_action.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.view_mode() == "grid"
    assert window.grid_action.isChecked()
    qtbot.waitUntil(lambda: bool(ready), timeout=TIMEOUT)

    # Settings has a shortcut on every desktop: the platform's, else Ctrl+, (Linux desktops have none).
    opened: list[SettingsDialog] = []

    def close_settings() -> None:
        dialog = next(
            w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog) and w.isVisible()
        )
        opened.append(dialog)
        dialog.reject()

    QTimer.singleShot(300, close_settings)
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(opened), timeout=TIMEOUT)
