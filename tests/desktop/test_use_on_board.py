"""A Civitai example's "Use on board" in the details pane fills the compose board of the real window.

A real kohya LoRA with a ``.civitai.info`` is scanned into a real Library; the window's details pane is
clicked as a user would, and the board beside the library must hold the example's prompt and settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.library import Library
from desktop.main_window import MainWindow
from tests.desktop.conftest import ServicesFactory
from tests.desktop.test_details_civitai import scan_lora
from tests.factory.civitai_info import civitai_helper_payload


def _no_engine() -> object:
    raise AssertionError("filling the board must not load the renderer")


def test_use_on_board_fills_the_board_beside_the_library(
    tmp_path: Path, qtbot: QtBot, make_services: ServicesFactory
) -> None:
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    try:
        record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())
        service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
        window = MainWindow(make_services(library, render=lambda: service))
        qtbot.addWidget(window)
        window.resize(1500, 900)
        window.show()
        qtbot.waitExposed(window)
        assert window.compose_tab is not None
        window.set_compose_board_visible(False)

        row = window.model.row_of(record.id)
        assert row is not None
        window.select_row(row)
        card = window.details.civitai.cards[0]
        window.details.ensureWidgetVisible(card.use_button)
        qtbot.waitUntil(lambda: not card.use_button.visibleRegion().isEmpty())
        QTest.mouseClick(card.use_button, Qt.MouseButton.LeftButton)

        board = window.compose_tab.board
        recipe = board.recipe()
        assert recipe.prompt.startswith("1 girl, snow")
        assert recipe.negative_prompt.startswith("blurry, blurry_image, Lowres")
        assert (recipe.steps, recipe.cfg, recipe.seed) == (4, 1.5, 2494203713)
        assert (recipe.width, recipe.height) == (768, 1024)
        assert window.compose_dock is not None
        qtbot.waitUntil(window.compose_dock.isVisible)  # the board is shown where the user looks
        window.close()
    finally:
        library.close()
