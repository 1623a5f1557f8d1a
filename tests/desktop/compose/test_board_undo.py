"""A dropped (or pasted) A1111 PNG replaces the whole board; the notice under it says what was replaced
and its Undo (a real click, or Ctrl+Z in the board) puts the board back exactly: the checkpoint, the
LoRA and its weight, the embedding, the prompts and every setting. Through a real MainWindow and a real
drag of a real PNG file (see conftest.py for the drag platform)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from core.render.png import save_png
from desktop.compose.compose_tab import ComposeTab
from desktop.main_window import MainWindow
from tests.desktop.compose.test_real_drag import Stop, drag_files, window
from tests.desktop.conftest import PopulatedLibrary

pytestmark = pytest.mark.real_drag
__all__ = ["window"]  # the fixture, shared with the drag tests
LEFT = Qt.MouseButton.LeftButton
PNG_INFOTEXT = (
    "a lighthouse at dusk <lora:tiny_fox_style:0.7>\nNegative prompt: blurry\n"
    "Steps: 14, Sampler: Euler a, CFG scale: 6, Seed: 7, Size: 512x512, Model: someckpt"
)


def _user_board(tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot) -> None:
    """A board the user built: checkpoint, a LoRA at 0.65, an embedding, prompts and settings."""
    tab.add_assets([populated.ids["dreamshaper_8"], populated.ids["pixelArtStyle"]])
    tab.add_assets([populated.ids["easynegative"]])
    (row,) = tab.board.loras.rows
    row.weight.set_value(0.65)
    form = tab.board.parameters
    form.steps.setValue(33)
    form.cfg.setValue(4.5)
    form.width_box.setValue(640)
    form.height_box.setValue(768)
    form.seed.setText("1234")
    qtbot.mouseClick(form.prompt.viewport(), LEFT)
    qtbot.keyClicks(form.prompt, "my own castle, pixel art")


def _drop_png(tab: ComposeTab, tmp_path: Path) -> None:
    png = tmp_path / "found.png"
    save_png(Image.new("RGB", (16, 16)), png, PNG_INFOTEXT)
    drag_files([png], [Stop(tab.board.vae, tab.board.vae.rect().center())])
    assert tab.board.parameters.prompt.toPlainText().startswith("a lighthouse at dusk")


def test_undo_after_a_dropped_png_puts_the_board_back_exactly(
    window: MainWindow, populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    tab = window.compose_tab
    assert tab is not None
    _user_board(tab, populated, qtbot)
    before = tab.board.recipe()
    chosen = tab.board.parameters.chosen_settings

    _drop_png(tab, tmp_path)
    panel = tab.board_panel
    assert tab.board.recipe() != before
    assert panel.notice.isVisible()
    assert panel.notice.text() == (
        "The parameters of found.png replaced the board (dreamshaper_8, LoRA pixelArtStyle, 1 embedding, "
        "the prompt, 640x768, 33 steps). Undo (Ctrl+Z) brings it back."
    )
    assert panel.undo_button.isVisible()
    assert [item.name for item in tab.missing.items] == ["someckpt", "tiny_fox_style"]

    qtbot.mouseClick(panel.undo_button, LEFT)  # a real click on the notice's Undo

    assert tab.board.recipe() == before  # slots, weights, texts and settings, exactly
    assert tab.board.parameters.chosen_settings == chosen
    assert tab.board.parameters.prompt.toPlainText() == "my own castle, pixel art"
    assert tab.missing.items == []  # the PNG's missing files went with it
    assert not panel.notice.isVisible()
    assert not panel.undo_button.isVisible()
    assert tab.status_label.text() == "The board is back as it was before"


def test_ctrl_z_in_the_board_undoes_the_drop_and_the_prompt_keeps_its_own_undo(
    window: MainWindow, populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    tab = window.compose_tab
    assert tab is not None
    _user_board(tab, populated, qtbot)
    before = tab.board.recipe()
    _drop_png(tab, tmp_path)
    panel = tab.board_panel

    # In the prompt editor, Ctrl+Z undoes the typing there, not the drop.
    prompt = tab.board.parameters.prompt
    qtbot.mouseClick(prompt.viewport(), LEFT)
    prompt.moveCursor(prompt.textCursor().MoveOperation.End)
    QTest.keyClicks(prompt, " x")
    QTest.keyClick(prompt, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert prompt.toPlainText().startswith("a lighthouse at dusk")
    assert not prompt.toPlainText().endswith(" x")
    assert panel.can_undo

    # Elsewhere in the board (its Render button has the focus), Ctrl+Z brings the board back.
    panel.render_button.setFocus()
    QTest.keyClick(panel.render_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tab.board.recipe() == before
    assert not panel.can_undo


def test_a_drop_on_an_empty_board_offers_no_undo(window: MainWindow, tmp_path: Path) -> None:
    """Nothing was on the board: nothing to bring back, so no Undo beside the message."""
    tab = window.compose_tab
    assert tab is not None
    _drop_png(tab, tmp_path)
    assert not tab.board_panel.undo_button.isVisible()
    assert not tab.board_panel.can_undo


def test_clear_board_says_what_went_and_ctrl_z_puts_it_back_exactly(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """Clear board loses the same work a dropped PNG did: the same notice with Undo, and Ctrl+Z."""
    tab = window.compose_tab
    assert tab is not None
    _user_board(tab, populated, qtbot)
    before = tab.board.recipe()
    chosen = tab.board.parameters.chosen_settings
    panel = tab.board_panel

    qtbot.mouseClick(panel.clear_button, LEFT)

    assert tab.board.named_refs() == ()
    assert tab.board.parameters.prompt.toPlainText() == ""
    assert panel.notice.isVisible()
    assert panel.notice.text() == (
        "Cleared the board (dreamshaper_8, LoRA pixelArtStyle, 1 embedding, the prompt, 640x768, "
        "33 steps). Undo (Ctrl+Z) brings it back."
    )
    assert panel.undo_button.isVisible()

    panel.render_button.setFocus()
    QTest.keyClick(panel.render_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tab.board.recipe() == before  # slots, weights, texts and settings, exactly
    assert tab.board.parameters.chosen_settings == chosen
    assert not panel.notice.isVisible()
    assert not panel.can_undo
    assert tab.status_label.text() == "The board is back as it was before"

    # Cleared again, the notice's Undo button (a real click) does the same.
    qtbot.mouseClick(panel.clear_button, LEFT)
    qtbot.mouseClick(panel.undo_button, LEFT)
    assert tab.board.recipe() == before


def test_clearing_an_empty_board_offers_no_undo(window: MainWindow, qtbot: QtBot) -> None:
    tab = window.compose_tab
    assert tab is not None
    qtbot.mouseClick(tab.board_panel.clear_button, LEFT)
    assert not tab.board_panel.notice.isVisible()
    assert not tab.board_panel.can_undo
