"""The filter bar debounces typing and emits whole filter states."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from core.taxonomy import Architecture, AssetKind
from desktop.main_window import MainWindow
from desktop.services import DesktopServices
from desktop.widgets.filter_bar import FilterBar, FilterState, StatusFilter
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

WindowOpener = Callable[[DesktopServices], MainWindow]


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


def test_escape_in_the_search_field_clears_it_and_its_filter_at_once(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory, open_window: WindowOpener
) -> None:
    """Esc, as in other search fields: the text goes, and so does the filter it applied (no debounce)."""
    window = open_window(make_services(populated.library))
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=5000)
    search = window.filter_bar.search
    window.filter_bar.focus_search()
    qtbot.keyClicks(search, "pixel")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)

    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""
    assert window.model.query.text == ""  # applied at once, not after the typing pause
    assert window.model.rowCount() == 7
    assert search.hasFocus()  # the user can type the next search


def test_escape_in_an_empty_search_field_goes_on_to_its_parents(qtbot: QtBot) -> None:
    seen: list[int] = []

    class Parent(QWidget):
        def keyPressEvent(self, event: QKeyEvent) -> None:
            seen.append(event.key())

    parent = Parent()
    bar = FilterBar(parent)
    qtbot.addWidget(parent)
    states: list[FilterState] = []
    bar.filters_changed.connect(states.append)
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    assert seen == [Qt.Key.Key_Escape]  # a dialog holding the bar still closes on Esc
    assert states == []  # and nothing changed
