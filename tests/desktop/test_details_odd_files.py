"""The details pane shows files the scan could not open, and names that are not UTF-8: a real scan of
real files (a named pipe, a name with Latin-1 bytes) into a real Library, shown in a real pane."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from desktop.widgets.details_pane import DetailsPane
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield lib
    lib.close()


@pytest.mark.timeout(60)
def test_an_unreadable_file_and_a_name_that_is_not_utf8_are_shown(
    qtbot: QtBot, library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    odd = write_safetensors(root / os.fsdecode(b"caf\xe9.safetensors"), LORA, seed=1)
    os.mkfifo(root / "pipe.safetensors")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    pane = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(pane)
    pane.resize(380, 900)
    pane.show()

    pane.show_asset(library.get_by_path(odd))
    assert pane.subtitle.text() == "caf\ufffd.safetensors"
    assert pane.path.text() == str(root / "caf\ufffd.safetensors")
    assert pane.warning.isHidden()

    pane.show_asset(library.get_by_path(root / "pipe.safetensors"))
    assert pane.warning.isVisible()
    assert "a named pipe (FIFO), not a file; it was not opened" in pane.warning.text()
    assert "Unreadable" in pane.warning.text()
