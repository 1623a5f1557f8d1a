"""Enter and double-click on a library row, the selection across grid and table, and the row that is
current after a delete: driven with real key and mouse events on the real window and catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

JOB_MS = 10000


def _no_engine() -> object:
    raise AssertionError("sending a model to the board must not start the renderer")


@pytest.fixture
def window(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> MainWindow:
    service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    shown = MainWindow(make_services(populated.library, render=lambda: service))
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    assert shown.compose_tab is not None
    return shown


def _focus(qtbot: QtBot, view: QAbstractItemView) -> None:
    view.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view.window(), timeout=2000)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)


def _row_center(view: QAbstractItemView, window: MainWindow, asset_id: int) -> QPoint:
    row = window.model.row_of(asset_id)
    assert row is not None
    index = window.model.index(row, 0)
    view.scrollTo(index)
    return view.visualRect(index).center()


@pytest.mark.parametrize("mode", ["grid", "table"])
def test_enter_on_a_row_sends_it_to_the_board(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot, mode: str
) -> None:
    """Enter did nothing: the model the user picked with the keyboard goes on the board, as the
    context menu's "Send to compose board" puts it (a LoRA joins the stack)."""
    window.set_view_mode(mode)
    view = window.current_view()
    window.select_row(window.model.row_of(populated.ids["animeLineart"]) or 0)
    _focus(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert window.compose_tab is not None
    assert [r.ref.name for r in window.compose_tab.board.loras.rows] == ["animeLineart"]
    qtbot.keyClick(view, Qt.Key.Key_Down)  # the keys still move through the rows
    assert window.current_asset_id() != populated.ids["animeLineart"]


@pytest.mark.parametrize("mode", ["grid", "table"])
def test_double_click_on_a_row_sends_it_to_the_board(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot, mode: str
) -> None:
    window.set_view_mode(mode)
    view = window.current_view()
    where = _row_center(view, window, populated.ids["dreamshaper_8"])
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.compose_tab is not None
    checkpoint = window.compose_tab.board.checkpoint.ref
    assert checkpoint is not None
    assert checkpoint.name == "dreamshaper_8"  # the checkpoint's slot
    assert window.compose_dock is not None
    assert window.compose_dock.isVisible()


def test_switching_grid_and_table_keeps_the_selection(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    chosen = {populated.ids["animeLineart"], populated.ids["dreamshaper_8"]}
    window.selection.clearSelection()
    for asset_id in chosen:
        row = window.model.row_of(asset_id)
        assert row is not None
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        window.selection.setCurrentIndex(window.model.index(row, 0), flags)
    current = window.current_asset_id()
    _focus(qtbot, window.grid)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # View › Table
    assert window.view_mode() == "table"
    assert {r.id for r in window.selected_records()} == chosen
    assert window.current_asset_id() == current
    qtbot.mouseClick(window.filter_bar.grid_button, Qt.MouseButton.LeftButton)
    assert window.view_mode() == "grid"
    assert {r.id for r in window.selected_records()} == chosen
    assert window.current_asset_id() == current
