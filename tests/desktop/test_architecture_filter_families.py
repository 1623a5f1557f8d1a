"""The window's architecture filter offers every family identification names, the ones added for the
tester's files included (Stable Video Diffusion, Kolors, Hunyuan-DiT), and typing a family's name on the
focused combo filters by it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from core.taxonomy import Architecture
from desktop.widgets.filter_bar import FilterBar, FilterState


def test_the_architecture_filter_lists_the_new_families(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    combo = bar.architecture
    listed = {combo.itemData(i): combo.itemText(i).strip() for i in range(combo.count())}
    assert listed[Architecture.SVD.value] == "Stable Video Diffusion"
    assert listed[Architecture.KOLORS.value] == "Kolors"
    assert listed[Architecture.HUNYUAN_DIT.value] == "Hunyuan-DiT"


@pytest.mark.parametrize(
    ("typed", "architecture"), [("Kolors", Architecture.KOLORS), ("Hunyuan-DiT", Architecture.HUNYUAN_DIT)]
)
def test_typing_a_new_family_on_the_architecture_filter_filters_by_it(
    qtbot: QtBot, typed: str, architecture: Architecture
) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.show()
    states: list[FilterState] = []
    bar.filters_changed.connect(states.append)
    bar.architecture.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.keyClicks(bar.architecture, typed)
    qtbot.waitUntil(lambda: bool(states) and states[-1].architecture is architecture, timeout=2000)
    assert bar.architecture.currentText().strip() == typed
