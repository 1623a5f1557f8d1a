"""The window on a read-only catalog: it shows the library with a banner saying why nothing changes, and a
change clicked anyway (a star) is refused with that sentence, then shown as the catalog has it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QToolBar
from pytestqt.qtbot import QtBot

from catalog.db import CatalogDatabase
from catalog.errors import ReadOnlyCatalogError
from catalog.library import Library
from desktop.main_window import MainWindow
from desktop.read_only import BANNER_NAME, mark_read_only
from desktop.widgets.rating_widget import STAR_GAP, STAR_SIZE
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory, populate


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[PopulatedLibrary]:
    catalog = tmp_path / "data" / "catalog.sqlite3"
    with Library.open(catalog) as writable:
        made = populate(writable, tmp_path / "models")
    library = Library(CatalogDatabase(catalog, read_only=True))
    yield PopulatedLibrary(library, made.root, made.root_dir, made.ids)
    library.close()


def test_the_window_says_read_only_and_refuses_a_rating(
    qtbot: QtBot, read_only: PopulatedLibrary, make_services: ServicesFactory
) -> None:
    message = ReadOnlyCatalogError.for_folder(read_only.library.path.parent).message
    window = MainWindow(make_services(read_only.library))
    qtbot.addWidget(window)
    mark_read_only(window, message)
    window.show()
    qtbot.waitExposed(window)

    banner = window.findChild(QToolBar, BANNER_NAME)
    assert banner is not None
    assert banner.isVisible()
    label = banner.findChild(QLabel)
    assert label is not None
    assert message in label.text()
    assert window.windowTitle() == "Read-only library"  # shown as "Read-only library — Atelier"
    assert window.model.rowCount() == 7  # the library is shown

    asset_id = read_only.ids["sdxl_vae"]
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)
    third_star = QPoint(2 + 2 * (STAR_SIZE + STAR_GAP) + STAR_SIZE // 2, 2 + STAR_SIZE // 2)
    QTest.mouseClick(window.details.rating, Qt.MouseButton.LeftButton, pos=third_star)

    # The refusal is one line in the details pane (as for a server that cannot be reached), not a box.
    problem = window.details.save_problem
    qtbot.waitUntil(problem.isVisible)
    assert problem.text() == f"Not saved: {message.rstrip('.')}."
    record = read_only.library.get(asset_id)
    assert record is not None
    assert record.rating == 0
    qtbot.waitUntil(lambda: window.details.rating.rating() == 0)  # the star lit by the click is put out
    window.close()
