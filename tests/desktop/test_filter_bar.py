"""The filter bar debounces typing and emits whole filter states."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from core.taxonomy import Architecture, AssetKind
from desktop.widgets.filter_bar import FilterBar, FilterState, StatusFilter


def test_typing_is_debounced_into_one_change(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    states: list[FilterState] = []
    bar.filters_changed.connect(states.append)
    qtbot.keyClicks(bar.search, "pixel")
    assert states == []  # nothing until the typing pauses
    qtbot.waitUntil(lambda: len(states) == 1, timeout=2000)
    qtbot.wait(200)
    assert [s.text for s in states] == ["pixel"]


def test_combos_emit_at_once_with_typed_values(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    states: list[FilterState] = []
    bar.filters_changed.connect(states.append)
    bar.kind.setCurrentIndex(bar.kind.findData(AssetKind.LORA.value))
    bar.rating.setCurrentIndex(bar.rating.findData(3))
    bar.status.setCurrentIndex(bar.status.findData(StatusFilter.PROBLEMS.value))
    bar.favorites.setChecked(True)
    assert len(states) == 4
    assert states[-1] == FilterState(
        kind=AssetKind.LORA, min_rating=3, favorites_only=True, status=StatusFilter.PROBLEMS
    )
    assert states[-1].status.statuses()


def test_set_state_sets_every_control_and_emits_once(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.set_tags(["style", "anime"])
    states: list[FilterState] = []
    bar.filters_changed.connect(states.append)
    wanted = FilterState(text="x", architecture=Architecture.SDXL, tag="anime", min_rating=2)
    bar.set_state(wanted)
    assert states == [wanted]
    assert bar.state() == wanted
    bar.set_state(wanted)
    assert len(states) == 1  # no change, no signal


def test_tag_choices_refresh_without_losing_the_choice(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.set_tags(["style"])
    bar.set_state(FilterState(tag="style"))
    bar.set_tags(["anime"])
    assert bar.state().tag == "style"
    assert [bar.tag.itemData(i) for i in range(1, bar.tag.count())] == ["anime", "style"]


def test_view_toggle(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    with qtbot.waitSignal(bar.view_mode_changed) as changed:
        bar.table_button.click()
    assert changed.args == ["table"]
    assert bar.view_mode() == "table"
