"""The details pane puts "Civitai says Flux.1 Dev; the file is SDXL" above the identification reasons of
an SDXL LoRA whose ``.civitai.info`` claims Flux.1 (a real scan into a real Library, a real pane)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from desktop.widgets.details_pane import DetailsPane
from tests.app.test_base_model_warning import scanned

__all__ = ["scanned"]


@pytest.mark.timeout(60)
def test_the_details_pane_puts_the_warning_above_the_reasons(
    qtbot: QtBot, scanned: tuple[Library, Path], tmp_path: Path
) -> None:
    library, lora = scanned
    pane = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(pane)
    pane.show_asset(library.get_by_path(lora))
    lines = pane.reasons.text().splitlines()
    assert lines[0] == "⚠ Civitai says Flux.1 Dev; the file is SDXL"
    assert any("=> sdxl" in line for line in lines[1:])
