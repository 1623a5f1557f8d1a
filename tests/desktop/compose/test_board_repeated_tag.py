"""A LoRA on the board and the same LoRA typed as a ``<lora:…>`` tag at another weight: the board's
slider wins, and Render's question says so (the weight used, the tag's weight ignored, where to change
it); answered once with "Render anyway", it is not asked again while its words stay the same (other
settings changed); the stored PNG's parameters name the weight really rendered. Real renders of the
tiny SD1 pipeline (64x64, 2 steps)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.records import ScannedFile
from core.identify.result import Identification
from core.render.engine import RenderEngine
from core.render.png import read_infotext
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus
from desktop.compose.compose_tab import ComposeTab
from tests.desktop.compose.test_compose_render import checkpoint_id, tiny_folder
from tests.desktop.conftest import PopulatedLibrary
from tests.factory.safetensors_writer import write_safetensors
from tests.factory.tiny_pipeline import SD1_CONTEXT

pytestmark = pytest.mark.slow
__all__ = ["checkpoint_id", "tiny_folder"]  # the fixtures, shared with the render tests
TIMEOUT = 120_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def tab(
    populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ComposeTab]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    service = RenderService(
        populated.library, lambda: RenderEngine(tmp_path / "engine-cache"), tmp_path / "renders"
    )
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)
    widget.show()
    widget.board_panel.show()
    yield widget
    widget.shutdown()


@pytest.fixture
def fox_lora_id(populated: PopulatedLibrary, tiny_folder: Path) -> int:
    """tiny_fox_style: a real LoRA file that fits the tiny SD1 UNet, cataloged as an SD1 LoRA."""
    library = populated.library
    attention = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    folder = tiny_folder.parent.parent / "loras"
    folder.mkdir(exist_ok=True)
    path = write_safetensors(
        folder / "tiny_fox_style.safetensors",
        {
            f"{attention}.lora_down.weight": ("F32", (4, SD1_CONTEXT)),
            f"{attention}.lora_up.weight": ("F32", (SD1_CONTEXT, 4)),
            f"{attention}.alpha": ("F32", ()),
        },
        seed=5,
    )
    root = library.add_root(folder)
    stat = path.stat()
    scanned = ScannedFile(
        path=str(path),
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        inode=stat.st_ino,
        format=FileFormat.SAFETENSORS,
        status=FileStatus.OK,
        identification=Identification(
            kind=AssetKind.LORA, architecture=Architecture.SD1, format=FileFormat.SAFETENSORS
        ),
    )
    (asset_id,) = library.apply_scan_batch(root.id, [scanned])
    return asset_id


def _render_and_wait(tab: ComposeTab, qtbot: QtBot, *, anyway: bool) -> str:
    """Clicks Render (and "Render anyway" when asked); returns the stored image's parameters."""
    with qtbot.waitSignal(tab.render_finished, timeout=TIMEOUT) as finished:
        qtbot.mouseClick(tab.render_button, LEFT)
        assert tab.banner.isVisible() is anyway
        if anyway:
            qtbot.mouseClick(tab.banner.render_anyway, LEFT)
    qtbot.waitUntil(lambda: not tab.busy, timeout=TIMEOUT)  # the job has ended: Render is free again
    (stored,) = finished.args[0]
    found = read_infotext(stored.path)
    assert found is not None
    return found


def test_a_typed_tag_repeating_a_board_lora_says_the_weight_used_and_is_asked_once(
    tab: ComposeTab, checkpoint_id: int, fox_lora_id: int, qtbot: QtBot
) -> None:
    tab.add_assets([checkpoint_id, fox_lora_id])
    (row,) = tab.board.loras.rows
    row.weight.set_value(1.0)  # the slider at 1.00, as the tester left it
    form = tab.board.parameters
    form.steps.setValue(2)
    form.width_box.setValue(64)
    form.height_box.setValue(64)
    form.seed.setText("5")
    qtbot.mouseClick(form.prompt.viewport(), LEFT)
    qtbot.keyClicks(form.prompt, "a red square <lora:tiny_fox_style:0.7>")

    qtbot.mouseClick(tab.render_button, LEFT)
    assert tab.banner.isVisible()
    said = tab.banner.text.text()
    assert "&lt;lora:tiny_fox_style:0.7&gt; is ignored" in said, said
    assert "already in the LoRA list at 1, so it is applied once, at 1, not 0.7" in said, said
    assert "To render at 0.7, set that weight in the list (the board's LoRA slider" in said, said
    # The plan under the board says the same before Render is clicked.
    tab.refresh_plan()
    assert any("is applied once, at 1, not 0.7" in line for line in tab.plan_view.lines), tab.plan_view.lines
    qtbot.mouseClick(tab.banner.keep_editing, LEFT)

    first = _render_and_wait(tab, qtbot, anyway=True)
    assert "<lora:tiny_fox_style:1>" in first
    assert "0.7" not in first  # the weight rendered, never the ignored tag's
    # The same board again: answered already, so Render renders.
    second = _render_and_wait(tab, qtbot, anyway=False)
    assert "<lora:tiny_fox_style:1>" in second
    # The tester's case: Steps 2 -> 3 changes nothing the question was about, so it is not asked again.
    form.steps.setValue(3)
    third = _render_and_wait(tab, qtbot, anyway=False)
    assert "Steps: 3" in third

    # Another board (the slider moved): the question is about a new combination, so it comes back.
    row.weight.set_value(0.5)
    qtbot.mouseClick(tab.render_button, LEFT)
    assert tab.banner.isVisible()
    assert "applied once, at 0.5, not 0.7" in tab.banner.text.text()
    qtbot.mouseClick(tab.banner.keep_editing, LEFT)
