"""The table view keeps the model's name readable: Name has a minimum and priority over other columns."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn
from desktop.widgets.asset_views import NAME_MIN_WIDTH
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory


def _no_engine() -> object:
    raise AssertionError("the table must not load the renderer")


def _open(
    qtbot: QtBot, make_services: ServicesFactory, populated: PopulatedLibrary, renders: Path
) -> MainWindow:
    service = RenderService(populated.library, _no_engine, renders)  # type: ignore[arg-type]
    services = make_services(populated.library, render=lambda: service)
    services.settings.compose_board_visible = True  # the default: the board beside the library
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_ctrl_2_with_the_board_shown_keeps_names_visible(
    qtbot: QtBot, make_services: ServicesFactory, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    window = _open(qtbot, make_services, populated, tmp_path / "renders")
    assert window.compose_dock is not None
    assert window.compose_dock.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.grid.setFocus()
    QTest.keyClick(window.grid, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    table = window.table
    qtbot.waitUntil(table.isVisible)
    header = table.horizontalHeader()
    assert header.sectionSize(AssetColumn.NAME) >= NAME_MIN_WIDTH
    table.scrollToTop()
    index = window.model.index(0, AssetColumn.NAME)
    rect = table.visualRect(index)
    assert table.viewport().rect().contains(rect.topLeft())
    assert rect.width() >= NAME_MIN_WIDTH
    name = index.data()
    assert name
    assert table.fontMetrics().horizontalAdvance(name) < rect.width()
    window.close()


def test_name_takes_the_spare_room_and_the_table_scrolls_when_narrow(
    qtbot: QtBot, make_services: ServicesFactory, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    window = _open(qtbot, make_services, populated, tmp_path / "renders")
    window.set_view_mode("table")
    table = window.table
    header = table.horizontalHeader()
    window.set_compose_board_visible(False)  # a wide pane: Name fills what the other columns leave
    qtbot.waitUntil(lambda: header.sectionSize(AssetColumn.NAME) > NAME_MIN_WIDTH)
    assert header.length() == table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()

    window.set_compose_board_visible(True)
    table.resize(400, table.height())  # narrower than all columns: sideways scrolling, Name kept whole
    table.setMinimumWidth(0)
    qtbot.waitUntil(lambda: header.length() > table.viewport().width())
    assert header.sectionSize(AssetColumn.NAME) >= NAME_MIN_WIDTH
    assert table.horizontalScrollBar().maximum() > 0
    window.close()


def test_dragging_the_name_edge_resizes_it_but_not_below_its_minimum(
    qtbot: QtBot, make_services: ServicesFactory, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    window = _open(qtbot, make_services, populated, tmp_path / "renders")
    window.set_view_mode("table")
    header = window.table.horizontalHeader()
    edge_x = header.sectionViewportPosition(AssetColumn.NAME) + header.sectionSize(AssetColumn.NAME) - 1
    y = header.height() // 2
    viewport = header.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(edge_x, y))
    QTest.mouseMove(viewport, QPoint(edge_x + 60, y))
    QTest.mouseRelease(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(edge_x + 60, y)
    )
    widened = header.sectionSize(AssetColumn.NAME)
    assert widened > NAME_MIN_WIDTH

    edge_x = header.sectionViewportPosition(AssetColumn.NAME) + widened - 1
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(edge_x, y))
    QTest.mouseMove(viewport, QPoint(20, y))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(20, y))
    assert header.sectionSize(AssetColumn.NAME) == NAME_MIN_WIDTH
    window.close()
