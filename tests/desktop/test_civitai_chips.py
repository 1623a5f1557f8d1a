"""Civitai tag chips in the details pane show short tags whole ("pixel" was cut to "pi…")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from desktop.widgets.civitai_section import Chip
from desktop.widgets.details_pane import DetailsPane
from tests.desktop.test_details_civitai import scan_lora
from tests.factory.civitai_info import civitai_helper_payload

TAGS = ("pixel", "style", "anime", "character", "landscape", "clothing")
LONG_TAG = "a_tag_far_too_long_for_any_chip_in_a_details_pane_of_normal_width_" * 2


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield lib
    lib.close()


@pytest.fixture
def pane(qtbot: QtBot, library: Library, tmp_path: Path) -> DetailsPane:
    widget = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(widget)
    widget.resize(380, 900)
    widget.show()
    return widget


def test_short_tags_are_painted_whole_and_a_long_one_elides(
    pane: DetailsPane, library: Library, tmp_path: Path
) -> None:
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload(tags=(*TAGS, LONG_TAG)))
    pane.show_asset(library.get(record.id))
    section = pane.civitai
    pane.ensureWidgetVisible(section.tags_box)
    QTest.qWait(20)
    assert [chip.text() for chip in section.chips] == [*TAGS, LONG_TAG]
    for chip in section.chips[:-1]:
        inner = chip.width() - 2 * Chip.PAD  # what paintEvent elides against
        painted = chip.fontMetrics().elidedText(chip.text(), Qt.TextElideMode.ElideRight, inner)
        assert painted == chip.text(), f"{chip.text()!r} painted as {painted!r}"
    long_chip = section.chips[-1]
    assert long_chip.width() <= section.tags_box.width()  # elided, not widening the pane
    assert long_chip.toolTip() == LONG_TAG
