"""What the Compose tab's status line says after a render ends: "Render failed: …" speaks of the recipe the
board held then, so removing the LoRA it names (with the row's ✕) brings the new plan's line ("Ready: press
Render") instead of keeping the old failure; a finished render counts its images in words ("Rendered 1
image", "Rendered 3 images"), a grid its cells ("Rendered a grid of 2 images").

The real RenderService prepares the board; only its ``render`` is a script: it fails once as the real
renderer fails on a LoRA it cannot load, then returns stored renders of real PNG files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.render_service import RenderError, RenderService
from core.jobs import CancelToken, ProgressCallback, no_progress
from desktop.compose.compose_tab import READY_HINT, ComposeTab
from tests.desktop.conftest import PopulatedLibrary, stored_render, write_png

LEFT = Qt.MouseButton.LeftButton
FAILURE = "the renderer refused the recipe: LoRA 'animeLineart' does not fit this checkpoint"


def _no_engine() -> object:
    raise AssertionError("the script stands in for the renderer")


class ScriptedRender(RenderService):
    """Fails the first render; later ones return ``batch`` stored renders of one real PNG."""

    def __init__(self, *args: Any, image: Path) -> None:
        super().__init__(*args)
        self.image = image
        self.calls = 0

    def render(  # type: ignore[override]
        self,
        plan: Any,
        /,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        preview: Any = None,
    ) -> Sequence[Any]:
        self.calls += 1
        if self.calls == 1:
            raise RenderError(FAILURE)
        return [self._stored(7 + n) for n in range(plan.recipe.batch)]

    def render_grid(self, base: Any, x: Any, y: Any = None, **_: Any) -> Any:  # type: ignore[override]
        return self._stored(11)  # one stored image holding every cell

    def _stored(self, seed: int) -> SimpleNamespace:
        return stored_render(self.image, seed=seed, infotext="a red square")


@pytest.fixture
def tab(populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot) -> Iterator[ComposeTab]:
    image = write_png(tmp_path / "render.png", 64, 64)
    service = ScriptedRender(populated.library, _no_engine, tmp_path / "renders", image=image)
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)
    widget.show()
    widget.board_panel.show()
    yield widget
    widget.shutdown()


def test_a_failure_line_gives_way_to_the_new_plan_and_renders_are_counted_in_words(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    tab.add_assets([populated.ids["dreamshaper_8"], populated.ids["animeLineart"]])
    qtbot.waitUntil(lambda: tab.status_label.text() == READY_HINT, timeout=5000)
    qtbot.mouseClick(tab.render_button, LEFT)
    qtbot.waitUntil(lambda: not tab.busy, timeout=10_000)
    assert tab.status_label.text() == f"Render failed: {FAILURE}"

    row = tab.board.loras.row_for("animeLineart")
    assert row is not None
    qtbot.mouseClick(row.remove_button, LEFT)  # the recipe the failure spoke of is gone
    qtbot.waitUntil(lambda: tab.status_label.text() == READY_HINT, timeout=5000)
    qtbot.wait(400)  # the plan a moment later keeps it: nothing brings the old failure back
    assert tab.status_label.text() == READY_HINT

    with qtbot.waitSignal(tab.render_finished, timeout=10_000):
        qtbot.mouseClick(tab.render_button, LEFT)
    qtbot.waitUntil(lambda: not tab.busy, timeout=10_000)
    assert tab.status_label.text() == "Rendered 1 image in 0.5 s, seed 7"

    tab.board.parameters.batch.setValue(3)
    qtbot.wait(400)
    with qtbot.waitSignal(tab.render_finished, timeout=10_000):
        qtbot.mouseClick(tab.render_button, LEFT)
    qtbot.waitUntil(lambda: not tab.busy, timeout=10_000)
    assert tab.status_label.text() == "Rendered 3 images in 1.5 s, seed 9"


def test_a_grid_counts_its_cells_and_the_placeholders_name_typed_tags_and_prompt_sr(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    assert "LoRA stack" not in tab.board.parameters.prompt.placeholderText()
    assert "<lora:" in tab.board.parameters.prompt.placeholderText()
    assert "prompt-sr=" in tab.grid_x.placeholderText()
    tab.add_assets([populated.ids["dreamshaper_8"]])
    qtbot.waitUntil(lambda: tab.status_label.text() == READY_HINT, timeout=5000)
    qtbot.keyClicks(tab.grid_x, "cfg=4,7")
    with qtbot.waitSignal(tab.render_finished, timeout=10_000):
        qtbot.mouseClick(tab.grid_button, LEFT)
    qtbot.waitUntil(lambda: not tab.busy, timeout=10_000)
    assert tab.status_label.text() == "Rendered a grid of 2 images in 0.5 s, seed 11"
