"""The "not in the library" list follows the board: it names each asset once, stays compact, and goes
when the board stops naming those assets (Clear board, another checkpoint placed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.library import Library
from desktop.compose.compose_tab import READY_HINT, START_HINT, ComposeTab
from desktop.compose.notices import MISSING_ROWS_MAX_HEIGHT
from desktop.main_window import MainWindow
from tests.desktop.compose.test_compose_tab import INFOTEXT
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory
from tests.desktop.test_details_civitai import scan_lora
from tests.factory.civitai_info import civitai_helper_payload


def _no_engine() -> object:
    raise AssertionError("these tests must not start the renderer")


@pytest.fixture
def tab(populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot) -> Iterator[ComposeTab]:
    service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)
    widget.set_civitai_search(True)
    widget.show()
    widget.board_panel.show()
    yield widget
    widget.shutdown()


def test_clear_board_after_use_on_board_clears_the_missing_list(
    tmp_path: Path, qtbot: QtBot, make_services: ServicesFactory
) -> None:
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    try:
        record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())
        service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
        window = MainWindow(make_services(library, render=lambda: service))
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitExposed(window)
        compose = window.compose_tab
        assert compose is not None
        row = window.model.row_of(record.id)
        assert row is not None
        window.select_row(row)
        card = window.details.civitai.cards[0]
        window.details.ensureWidgetVisible(card.use_button)
        qtbot.waitUntil(lambda: not card.use_button.visibleRegion().isEmpty())
        QTest.mouseClick(card.use_button, Qt.MouseButton.LeftButton)

        missing = compose.missing
        qtbot.waitUntil(missing.isVisible)
        assert len(missing.rows) == 3
        assert missing.toggle.text() == "3 assets not in the library"
        first = missing.rows[0].label.text()
        assert first == "Checkpoint 'sd_xl_base_1.0' (hash 31e35c80fc)"  # the hash once, no promise
        assert "downloaded" not in missing.rows[0].label.toolTip()
        assert compose.status_label.text() == "Parameters pasted; 3 assets are not in the library"

        panel = compose.board_panel
        QTest.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
        assert missing.rows == []
        assert not missing.isVisible()
        assert compose.status_label.text() == START_HINT
        window.close()
    finally:
        library.close()


def test_placing_another_checkpoint_drops_the_missing_one(
    tab: ComposeTab, populated: PopulatedLibrary
) -> None:
    assert tab.paste_parameters(INFOTEXT)
    (row,) = tab.missing.rows
    assert row.label.text() == "Checkpoint 'notHere' (hash 1234567890)"
    tab.board.parameters.prompt.setPlainText("edited")  # a board change that keeps naming 'notHere'
    assert len(tab.missing.rows) == 1
    tab.add_assets([populated.ids["dreamshaper_8"]])  # "Send to compose board" routes like a drop
    assert tab.board.checkpoint.ref is not None
    assert tab.board.checkpoint.ref.name != "notHere"
    assert tab.missing.rows == []
    assert not tab.missing.isVisible()
    assert tab.status_label.text() == READY_HINT


def test_a_long_missing_list_scrolls_inside_a_capped_height_and_folds(tab: ComposeTab, qtbot: QtBot) -> None:
    loras = " ".join(f"<lora:gone_{n}:0.5>" for n in range(8))
    assert tab.paste_parameters(f"a cat {loras}\nSteps: 4, Model hash: 1234567890, Model: notHere")
    missing = tab.missing
    assert len(missing.rows) == 9
    assert missing.toggle.text() == "9 assets not in the library"
    qtbot.waitUntil(missing.rows_area.isVisible)
    assert missing.rows_area.height() <= MISSING_ROWS_MAX_HEIGHT
    assert missing.rows_area.verticalScrollBar().maximum() > 0
    assert missing.toggle.arrowType() == Qt.ArrowType.DownArrow

    QTest.mouseClick(missing.toggle, Qt.MouseButton.LeftButton)  # fold it: the header alone remains
    assert not missing.rows_area.isVisible()
    assert missing.isVisible()
    assert missing.toggle.arrowType() == Qt.ArrowType.RightArrow
    QTest.mouseClick(missing.toggle, Qt.MouseButton.LeftButton)
    assert missing.rows_area.isVisible()
