"""The Compose tab's status line follows the board's plan: with an SD 1.x checkpoint, a Flux.1 LoRA and an
SDXL LoRA on the board it says why Render would refuse (never "Ready: press Render" beside a refused
plan), naming both LoRAs and the checkpoint's own family; a click on either Render button says the same
and starts nothing. The SDXL LoRA alone is refused too (its layers cannot load on SD 1.x): the plan, the
status line and the row's mark agree, with no warning banner to click past. Removing the LoRAs with their
✕ brings "Ready" back. Real catalog, real render service (its plan only: nothing is rendered), real
header-true model files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.asset_query import AssetQuery
from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from desktop.compose import compose_tab
from desktop.compose.compose_tab import READY_HINT, ComposeTab
from tests.factory.models import flux_lora, kohya_lora, sd1_checkpoint, write_case

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def _plan_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan follows the board 20 ms after a change instead of the user's 250 ms: the tests wait
    for the plan's lines, so only that wait shortens (the interval is read when the tab is built)."""
    monkeypatch.setattr(compose_tab, "PLAN_DELAY_MS", 20)


def _no_engine() -> object:
    raise AssertionError("a refused board must never start the renderer")


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    root = tmp_path / "models"
    root.mkdir()
    for case, stem in (
        (sd1_checkpoint(), "dreamy_sd15"),
        (flux_lora("kohya"), "flux_ink"),
        (kohya_lora("sdxl", rank=2), "pony_glow"),
    ):
        write_case(case, tmp_path / "factory").rename(root / f"{stem}.safetensors")
    library = Library.open(tmp_path / "catalog.db")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library).scan()
    yield library
    library.close()


@pytest.fixture
def tab(library: Library, tmp_path: Path, qtbot: QtBot) -> Iterator[ComposeTab]:
    service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    widget = ComposeTab(library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)
    widget.show()
    widget.board_panel.show()
    yield widget
    widget.shutdown()


def _add(tab: ComposeTab, library: Library, *stems: str) -> None:
    ids = {Path(r.file_name).stem: r.id for r in library.search(AssetQuery())}
    tab.board.add_asset_ids([ids[stem] for stem in stems])


PONY_REFUSED = (
    "LoRA 'pony_glow' does not fit this checkpoint: it was made for SDXL, and this checkpoint is SD 1.x"
)
REFUSED = (
    "Cannot render: LoRA 'flux_ink' does not fit this checkpoint: it was made for Flux.1, and this "
    f"checkpoint is SD 1.x; {PONY_REFUSED}"
)


def test_the_ready_line_follows_a_refused_plan_and_names_every_lora_that_does_not_fit(
    tab: ComposeTab, library: Library, qtbot: QtBot
) -> None:
    _add(tab, library, "dreamy_sd15")
    qtbot.waitUntil(lambda: tab.status_label.text() == READY_HINT)
    _add(tab, library, "flux_ink", "pony_glow")
    qtbot.waitUntil(lambda: tab.status_label.text() != READY_HINT, timeout=5000)
    assert tab.status_label.text() == REFUSED
    assert tab.render_button.toolTip() == REFUSED  # the button says why before it is clicked
    assert tab.board_panel.render_button.toolTip() == REFUSED
    plan = tab.plan_view.lines
    assert not any(line.startswith("Warning:") for line in plan), plan
    assert any(line.startswith("Refused: LoRA 'flux_ink'") and line.endswith(PONY_REFUSED) for line in plan)

    said: list[str] = []
    tab.message.connect(said.append)
    qtbot.mouseClick(tab.render_button, LEFT)
    qtbot.mouseClick(tab.board_panel.render_button, LEFT)
    assert said == [REFUSED, REFUSED]
    assert not tab.busy
    assert tab.banner.isHidden()

    # Without the Flux.1 LoRA the SDXL one is still refused, in the same words everywhere: no "Ready".
    flux_row = tab.board.loras.row_for("flux_ink")
    assert flux_row is not None
    qtbot.mouseClick(flux_row.remove_button, LEFT)
    qtbot.waitUntil(lambda: "flux_ink" not in tab.status_label.text(), timeout=5000)
    assert tab.status_label.text() == f"Cannot render: {PONY_REFUSED}"
    assert f"Refused: {PONY_REFUSED}" in tab.plan_view.lines
    pony_row = tab.board.loras.row_for("pony_glow")
    assert pony_row is not None
    assert pony_row.fit_badge.text() == "SDXL LoRA — does not fit this SD 1.x checkpoint"
    said.clear()
    qtbot.mouseClick(tab.render_button, LEFT)
    assert said == [f"Cannot render: {PONY_REFUSED}"]
    assert tab.banner.isHidden()  # nothing to "Render anyway" into a refusal
    assert not tab.busy

    qtbot.mouseClick(pony_row.remove_button, LEFT)
    qtbot.waitUntil(lambda: tab.status_label.text() == READY_HINT, timeout=5000)
    assert tab.render_button.toolTip() == ""
