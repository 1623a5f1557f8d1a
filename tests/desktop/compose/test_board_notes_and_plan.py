"""What the board says under it stays true, and the board stays put while the user edits it.

The one-line note under the board goes once the files it spoke of are gone or replaced; the plan names a
missing LoRA once (the renderer, once started, no longer repeats it as a warning); committing a setting
does not move the board's fields under the pointer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from core.render.engine import RenderEngine
from desktop.compose.compose_tab import ComposeTab
from tests.desktop.conftest import PopulatedLibrary

MISSING_LORA_PARAMETERS = (
    "a castle <lora:missing_lora_xyz:0.8>\n"
    "Negative prompt: blurry\n"
    "Steps: 3, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 64x64, Model: dreamshaper_8"
)


@pytest.fixture
def service(populated: PopulatedLibrary, tmp_path: Path) -> RenderService:
    # The engine is made (without loading torch or a model), as it is after the first render.
    return RenderService(populated.library, lambda: RenderEngine(tmp_path / "engine"), tmp_path / "renders")  # type: ignore[arg-type]


@pytest.fixture
def tab(
    populated: PopulatedLibrary, service: RenderService, tmp_path: Path, qtbot: QtBot
) -> Iterator[ComposeTab]:
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)
    widget.board_panel.resize(420, 760)
    widget.show()
    widget.board_panel.show()
    qtbot.waitExposed(widget.board_panel)
    yield widget
    widget.shutdown()


def _note(tab: ComposeTab) -> str:
    notice = tab.board_panel.notice
    return notice.text() if notice.isVisible() else ""


def test_the_note_goes_when_the_files_it_spoke_of_go(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    tab.add_assets([ids["dreamshaper_8"], ids["easynegative"]])
    assert "Embedding easynegative added to the negative prompt" in _note(tab)
    (row,) = tab.board.embeddings.rows
    qtbot.mouseClick(row.remove_button, Qt.MouseButton.LeftButton)  # the row's x
    assert _note(tab) == ""

    tab.add_assets([ids["animeLineart"]])
    assert _note(tab) == "Added LoRA animeLineart to the stack"
    # Editing its weight keeps the note (it is still true) and the board where it is.
    (lora,) = tab.board.loras.rows
    qtbot.mouseClick(lora.weight.spin, Qt.MouseButton.LeftButton)
    qtbot.keyClick(lora.weight.spin, Qt.Key.Key_Up)
    assert _note(tab) == "Added LoRA animeLineart to the stack"
    qtbot.mouseClick(tab.board_panel.clear_button, Qt.MouseButton.LeftButton)
    assert tab.board.loras.rows == []
    # The note about the LoRA went; the one left says what Clear board took (with Undo beside it).
    assert _note(tab).startswith("Cleared the board (dreamshaper_8, LoRA animeLineart, ")

    tab.add_assets([ids["easynegative"]])
    assert _note(tab).startswith("Embedding easynegative")
    QGuiApplication.clipboard().setText(MISSING_LORA_PARAMETERS)
    qtbot.mouseClick(tab.board_panel.paste_button, Qt.MouseButton.LeftButton)  # the board is replaced
    assert tab.board.embeddings.rows == []
    # The note about the embedding went; the one left says what was replaced (with Undo beside it).
    assert _note(tab).startswith("The pasted parameters replaced the board (1 embedding, the prompt,")


def test_the_plan_names_a_missing_lora_once(tab: ComposeTab, service: RenderService, qtbot: QtBot) -> None:
    service.engine()  # a render ran before: the renderer is there
    QGuiApplication.clipboard().setText(MISSING_LORA_PARAMETERS)
    qtbot.mouseClick(tab.board_panel.paste_button, Qt.MouseButton.LeftButton)
    about_it = [line for line in tab.plan_view.lines if "missing_lora_xyz" in line]
    said = [line for line in about_it if line.startswith(("Missing:", "Warning:", "Refused:"))]
    assert said == ["Missing: LoRA 'missing_lora_xyz' is not in the library"]


def _commit_steps(qtbot: QtBot, tab: ComposeTab, steps: int) -> None:
    form = tab.board.parameters
    qtbot.mouseClick(form.steps, Qt.MouseButton.LeftButton)
    qtbot.keyClick(form.steps, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(form.steps, str(steps))
    qtbot.keyClick(form.steps, Qt.Key.Key_Return)
    tab.refresh_plan()  # what the timer does a moment after the last change
    qtbot.wait(30)


def test_committing_a_setting_does_not_move_the_board(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """At some board widths "20 steps, CFG 7" wraps and "3 steps, CFG 7" does not: the plan lost a line,
    the board above it grew, and the field under the pointer moved (the tester's Seed click)."""
    ids = populated.ids
    tab.add_assets([ids["dreamshaper_8"], ids["animeLineart"]])
    panel, form = tab.board_panel, tab.board.parameters
    bar = panel.scroll_area.verticalScrollBar()
    for width in range(340, 470, 10):
        panel.resize(width, 760)
        _commit_steps(qtbot, tab, 20)
        bar.setValue(bar.maximum())  # the user scrolled down to the settings
        qtbot.wait(30)
        seed_at = form.seed.mapTo(panel, form.seed.rect().center())
        scroll_height = panel.scroll_area.height()
        _commit_steps(qtbot, tab, 3)
        assert any(" 3 steps" in line for line in tab.plan_view.lines)
        assert (width, panel.scroll_area.height()) == (width, scroll_height)
        assert (width, form.seed.mapTo(panel, form.seed.rect().center())) == (width, seed_at)
