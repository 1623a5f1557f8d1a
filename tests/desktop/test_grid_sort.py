"""Sorting in grid view: the filter bar's sort combo and order toggle drive the catalog query, and stay
in step with the table's header (either one shows what the other chose)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from catalog.records import SortKey
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn, AssetRole
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory


@pytest.fixture
def window(populated: PopulatedLibrary, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    main = MainWindow(make_services(populated.library))
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


def sizes_in_grid_order(window: MainWindow) -> list[int]:
    model = window.grid.model()
    return [model.index(row, AssetColumn.SIZE).data(AssetRole.RECORD).size for row in range(model.rowCount())]


def test_the_grid_sorts_by_the_bars_choice_and_the_header_follows(window: MainWindow, qtbot: QtBot) -> None:
    window.set_view_mode("grid")
    bar = window.filter_bar
    assert bar.sort.isVisible()
    assert [bar.sort.itemText(i) for i in range(bar.sort.count())] == [
        "Sort: Name",
        "Sort: Kind",
        "Sort: Architecture",
        "Sort: Size",
        "Sort: Date added",
        "Sort: Rating",
    ]
    bar.sort.setCurrentIndex(bar.sort.findText("Sort: Size"))
    sizes = sizes_in_grid_order(window)
    assert sizes == sorted(sizes)
    qtbot.mouseClick(bar.order, Qt.MouseButton.LeftButton)  # descending
    sizes = sizes_in_grid_order(window)
    assert sizes == sorted(sizes, reverse=True)
    assert len(set(sizes)) > 1
    header = window.table.horizontalHeader()
    assert header.sortIndicatorSection() == AssetColumn.SIZE
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert (window.model.query.sort, window.model.query.descending) == (SortKey.SIZE, True)


def test_a_header_click_shows_in_the_bar(window: MainWindow, qtbot: QtBot) -> None:
    window.set_view_mode("table")
    header = window.table.horizontalHeader()
    header.setSortIndicator(AssetColumn.KIND, Qt.SortOrder.DescendingOrder)  # what a header click does
    assert window.filter_bar.sort_choice() == (SortKey.KIND, True)
    assert window.filter_bar.sort.currentText() == "Sort: Kind"
    assert window.model.query.sort is SortKey.KIND
    window.set_view_mode("grid")
    assert window.filter_bar.sort.isVisible()


def test_date_added_has_no_column_and_hides_the_indicator(window: MainWindow) -> None:
    bar = window.filter_bar
    bar.sort.setCurrentIndex(bar.sort.findText("Sort: Date added"))
    assert window.model.query.sort is SortKey.ADDED
    assert window.table.horizontalHeader().sortIndicatorSection() == -1
