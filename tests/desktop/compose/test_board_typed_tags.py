"""A1111 tags typed into the board's prompt are what the board renders: the plan lists the LoRA a
``<lora:…>`` tag names, and a tag naming no file is missing, as ``render --prompt`` and ``--infotext``
say (one rule, in the render service)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from desktop.compose.compose_tab import ComposeTab
from tests.desktop.conftest import PopulatedLibrary


@pytest.fixture
def tab(populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot) -> Iterator[ComposeTab]:
    service = RenderService(populated.library, lambda: None, tmp_path / "renders")  # type: ignore[arg-type,return-value]
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)
    widget.board_panel.resize(420, 760)
    widget.show()
    widget.board_panel.show()
    qtbot.waitExposed(widget.board_panel)
    yield widget
    widget.shutdown()


def test_tags_typed_into_the_prompt_are_in_the_plan(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    tab.add_assets([populated.ids["dreamshaper_8"]])
    prompt = tab.board.parameters.prompt
    qtbot.mouseClick(prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(prompt, "a castle <lora:animeLineart:0.5> <hypernet:no_such_hn:0.7>")
    plan = tab.refresh_plan()  # what the timer does a moment after the last keystroke
    assert plan is not None
    assert [(use.ref.name, use.weight) for use in plan.recipe.loras] == [("animeLineart", 0.5)]
    assert plan.recipe.prompt.startswith("a castle")
    assert "<" not in plan.recipe.prompt
    lines = tab.plan_view.lines
    assert any(line.startswith("LoRA: animeLineart") and "UNet 0.5" in line for line in lines), lines
    assert "Missing: Hypernetwork 'no_such_hn' is not in the library" in lines


def test_a_tag_for_a_lora_switched_off_on_the_board_says_it_is_not_applied(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """The board's row is what the user set: switched off, the LoRA stays off, and the plan says that the
    tag is ignored and where to switch it on (not "applied once", which it is not)."""
    tab.add_assets([populated.ids["dreamshaper_8"], populated.ids["animeLineart"]])
    (row,) = tab.board.loras.rows
    row.enabled.setFocus()
    qtbot.keyClick(row.enabled, Qt.Key.Key_Space)  # the row's check box, switched off
    assert not row.enabled.isChecked()
    prompt = tab.board.parameters.prompt
    qtbot.mouseClick(prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(prompt, "a castle <lora:animeLineart:0.5>")
    plan = tab.refresh_plan()
    assert plan is not None
    assert [(use.ref.name, use.enabled) for use in plan.recipe.loras] == [("animeLineart", False)]
    assert (
        "Warning: <lora:animeLineart:0.5> is ignored: LoRA animeLineart is in the LoRA list switched off, so "
        "it is not applied; switch it on there (the board's LoRA row, or --lora) at the weight you want"
    ) in tab.plan_view.lines, tab.plan_view.lines
