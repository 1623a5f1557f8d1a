"""What the Compose tab's progress bar says between loading and the first step, and while cancelling.

The real RenderService prepares the board; only its ``render`` is a script that reports what the real
engine reports (``core.render.phases`` messages) and waits where a slow checkpoint or step would, so the
text can be read at those moments.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.render.phases import LOADING_CHECKPOINT, step_message
from desktop.compose.compose_tab import CANCELLING, ComposeTab
from tests.desktop.conftest import PopulatedLibrary

STEPS = 4


def _no_engine() -> object:
    raise AssertionError("the script stands in for the renderer")


class ScriptedRender(RenderService):
    """Loads "the checkpoint" in 6 parts, then waits at step 0 and after step 1 until released."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.loaded = threading.Event()
        self.go_on = threading.Event()

    def render(  # type: ignore[override]
        self,
        plan: Any,
        /,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        preview: Any = None,
    ) -> Sequence[Any]:
        progress(Progress(0, None, LOADING_CHECKPOINT))
        for part in range(1, 7):
            progress(Progress(part, 6, LOADING_CHECKPOINT))
        self.loaded.set()
        assert self.go_on.wait(10)  # the first step runs
        progress(Progress(1, STEPS, step_message(1, STEPS)))
        self.go_on.clear()
        assert self.go_on.wait(10)  # the second step runs; Cancel is pressed meanwhile
        progress(Progress(2, STEPS, step_message(2, STEPS)))
        if cancel is not None:
            cancel.raise_if_cancelled()
        raise AssertionError("the render should have been cancelled")


class LoraThenSampling(ScriptedRender):
    """What the engine reports for a loaded checkpoint and a changed LoRA: the LoRA's load, then (a
    moment later, well within the runner's 50 ms throttle) sampling starting; then a long first step."""

    def render(  # type: ignore[override]
        self,
        plan: Any,
        /,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        preview: Any = None,
    ) -> Sequence[Any]:
        progress(Progress(0, None, "Loading LoRA tiny_fox_style…"))
        progress(Progress(0, STEPS, step_message(0, STEPS)))
        self.loaded.set()
        assert self.go_on.wait(10)  # the first step, minutes long on a slow CPU
        raise CancelledError()


@pytest.fixture(params=[ScriptedRender])
def tab(
    populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot, request: pytest.FixtureRequest
) -> Iterator[ComposeTab]:
    service = request.param(populated.library, _no_engine, tmp_path / "renders")
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    service.go_on.set()
    widget.shutdown()


def test_loaded_says_step_0_and_cancel_says_it_waits_for_the_step(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    service = tab.service
    assert isinstance(service, ScriptedRender)
    tab.add_assets([populated.ids["dreamshaper_8"]])
    tab.board.parameters.steps.setValue(STEPS)
    QTest.mouseClick(tab.render_button, Qt.MouseButton.LeftButton)
    assert tab.busy, tab.status_label.text()
    qtbot.waitUntil(service.loaded.is_set, timeout=5000)
    qtbot.waitUntil(lambda: tab.progress.text() == f"Step 0 of {STEPS}")
    assert (tab.progress.value(), tab.progress.maximum()) == (0, STEPS)
    assert "Loading" not in tab.status_label.text()

    qtbot.wait(120)  # a real step takes longer than the runner's progress throttle (50 ms)
    service.go_on.set()
    qtbot.waitUntil(lambda: tab.progress.value() == 1)
    QTest.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert tab.status_label.text() == CANCELLING == "Cancelling after the current step…"
    assert tab.progress.text() == CANCELLING
    service.go_on.set()  # the step ends: the bar still says it is cancelling, then the render stops
    qtbot.waitUntil(lambda: not tab.busy)
    assert tab.status_label.text() == "Render cancelled"


@pytest.mark.parametrize("tab", [LoraThenSampling], indirect=True)
def test_once_sampling_starts_the_label_stops_saying_the_lora_is_loading(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """The tester's case: "Loading LoRA tiny_fox_style…" stood for the whole first step (minutes)."""
    service = tab.service
    assert isinstance(service, LoraThenSampling)
    tab.add_assets([populated.ids["dreamshaper_8"]])
    tab.board.parameters.steps.setValue(STEPS)
    QTest.mouseClick(tab.render_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(service.loaded.is_set, timeout=5000)
    qtbot.waitUntil(lambda: tab.status_label.text() == f"Rendering: step 1 of {STEPS}…", timeout=2000)
    assert tab.progress.text() == f"Step 0 of {STEPS}"
    assert (tab.progress.value(), tab.progress.maximum()) == (0, STEPS)
    service.go_on.set()
    qtbot.waitUntil(lambda: not tab.busy)
