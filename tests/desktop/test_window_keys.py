"""The window from the keyboard: Render (Ctrl+Return), Find (Ctrl+F) on every tab, and the way from the
library's search into its results (Down, Enter, Tab and back), driven with real key events on the real
window, catalog and render service (only the renderer itself is a script that waits to be let go)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from core.jobs import CancelToken, ProgressCallback, no_progress
from desktop.compose.compose_tab import READY_HINT, ComposeTab
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory, stored_render, write_png
from tests.desktop.remote_support import RemoteEnv

CTRL = Qt.KeyboardModifier.ControlModifier
TIMEOUT = 10_000


def _no_engine() -> object:
    raise AssertionError("the script stands in for the renderer")


class HeldRender(RenderService):
    """The real service's ``prepare``; ``render`` counts its calls and waits for ``release``."""

    def __init__(self, *args: Any, image: Path) -> None:
        super().__init__(*args)
        self.image = image
        self.calls = 0
        self.release = threading.Event()

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
        assert self.release.wait(TIMEOUT / 1000)
        self.release.clear()
        return [stored_render(self.image, seed=7, infotext="a cat")]


@pytest.fixture
def service(populated: PopulatedLibrary, tmp_path: Path) -> HeldRender:
    image = write_png(tmp_path / "render.png", 64, 64)
    return HeldRender(populated.library, _no_engine, tmp_path / "renders", image=image)


def _activate(window: MainWindow, qtbot: QtBot) -> None:
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)


@pytest.fixture
def window(
    populated: PopulatedLibrary, make_services: ServicesFactory, service: HeldRender, qtbot: QtBot
) -> Iterator[MainWindow]:
    shown = MainWindow(make_services(populated.library, render=lambda: service))
    qtbot.addWidget(shown)
    _activate(shown, qtbot)
    yield shown
    service.release.set()
    shown.close()


def _focus(qtbot: QtBot, widget: QWidget) -> None:
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=2000)


def _compose(window: MainWindow) -> ComposeTab:
    assert window.compose_tab is not None
    return window.compose_tab


# -- Render ---------------------------------------------------------------------------------------------


def test_ctrl_return_renders_the_board_from_its_prompt_and_from_the_library(
    window: MainWindow, service: HeldRender, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """No menu had Render and Ctrl+Return did nothing: the board could only be rendered by tabbing to its
    button. Ctrl+Return in the prompt renders (and types no new line), greys out while the render runs
    as the board's button does, and works again from the library once it ended."""
    tab = _compose(window)
    assert window.render_action in window.view_menu.actions()
    assert window.render_action.shortcut().toString() == "Ctrl+Return"
    tab.add_assets([populated.ids["dreamshaper_8"]])
    window.set_compose_board_visible(True)
    qtbot.waitUntil(lambda: tab.status_label.text() == READY_HINT, timeout=TIMEOUT)

    prompt = tab.board.parameters.prompt
    _focus(qtbot, prompt)
    qtbot.keyClicks(prompt, "a cat")
    qtbot.keyClick(prompt, Qt.Key.Key_Return, CTRL)
    assert tab.busy, "Ctrl+Return started the render"
    assert prompt.toPlainText() == "a cat", "and typed nothing into the prompt"
    assert window.tabs is not None
    assert window.tabs.currentWidget() is tab, "the Compose tab shows the render, as after the board's Render"
    assert not window.render_action.isEnabled(), "greyed out while the render runs, as the button is"
    qtbot.keyClick(prompt, Qt.Key.Key_Return, CTRL)
    qtbot.wait(100)
    assert service.calls == 1, "a second Ctrl+Return while rendering starts nothing"

    service.release.set()
    qtbot.waitUntil(lambda: not tab.busy, timeout=TIMEOUT)
    assert window.render_action.isEnabled()

    window.tabs.setCurrentWidget(window.splitter)
    _focus(qtbot, window.current_view())
    # The keypad's Enter with Ctrl, too.
    qtbot.keyClick(window.current_view(), Qt.Key.Key_Enter, CTRL | Qt.KeyboardModifier.KeypadModifier)
    assert tab.busy
    qtbot.waitUntil(lambda: service.calls == 2, timeout=TIMEOUT)
    service.release.set()
    qtbot.waitUntil(lambda: not tab.busy, timeout=TIMEOUT)


def test_the_render_entry_is_greyed_out_in_a_window_without_the_compose_tab(
    populated: PopulatedLibrary, make_services: ServicesFactory, qtbot: QtBot
) -> None:
    window = MainWindow(make_services(populated.library))
    qtbot.addWidget(window)
    _activate(window, qtbot)
    assert window.render_action in window.view_menu.actions()
    assert not window.render_action.isEnabled()
    window.close()


# -- Find -----------------------------------------------------------------------------------------------


def test_ctrl_f_on_the_compose_tab_brings_the_library_and_its_search(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """Ctrl+F on the Compose tab typed into the hidden library search: the library tab comes forward."""
    assert window.tabs is not None
    window.tabs.setCurrentWidget(_compose(window))
    _focus(qtbot, _compose(window).board.parameters.prompt)
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)
    assert window.tabs.currentWidget() is window.splitter
    search = window.filter_bar.search
    qtbot.waitUntil(search.hasFocus, timeout=2000)
    qtbot.keyClicks(search, "dreamshaper")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT)
    assert window.model.asset_id(0) == populated.ids["dreamshaper_8"]


@pytest.fixture
def site_window(remote: RemoteEnv, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    shown = MainWindow(make_services(remote.library, settings=remote.settings, remote=remote.remote))
    qtbot.addWidget(shown)
    _activate(shown, qtbot)
    yield shown
    shown.close()


def test_ctrl_f_on_a_site_tab_finds_on_the_site_and_on_downloads_in_the_library(
    site_window: MainWindow, qtbot: QtBot
) -> None:
    window = site_window
    assert window.tabs is not None
    assert window.civitai_tab is not None
    assert window.huggingface_tab is not None
    assert window.downloads_tab is not None
    for site in (window.civitai_tab, window.huggingface_tab):
        window.tabs.setCurrentWidget(site)
        site.search_field.setText("pixel")
        qtbot.keyClick(window, Qt.Key.Key_F, CTRL)
        assert window.tabs.currentWidget() is site, "the site's own search, on its own tab"
        qtbot.waitUntil(site.search_field.hasFocus, timeout=2000)
        assert site.search_field.selectedText() == "pixel", "selected, so typing replaces it"
        assert window.filter_bar.search.text() == ""

    window.tabs.setCurrentWidget(window.downloads_tab)
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)
    assert window.tabs.currentWidget() is window.splitter
    qtbot.waitUntil(window.filter_bar.search.hasFocus, timeout=2000)


# -- from the search into the results ------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "key"), [("grid", Qt.Key.Key_Down), ("table", Qt.Key.Key_Return)])
def test_down_or_enter_in_the_search_takes_the_keys_to_the_first_result(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot, mode: str, key: Qt.Key
) -> None:
    """Down selected a result but the keys stayed in the search; typed and let go at once (within the
    search's debounce), the words still filter first."""
    window.set_view_mode(mode)
    search = window.filter_bar.search
    window.select_row(window.model.rowCount() - 1)  # another row was current before the search
    window.filter_bar.focus_search()
    qtbot.waitUntil(search.hasFocus, timeout=2000)
    qtbot.keyClicks(search, "dreamshaper")
    qtbot.keyClick(search, key)
    view = window.current_view()
    assert view.hasFocus(), "the results have the keys"
    assert window.model.rowCount() == 1, "the words typed were applied first"
    assert window.current_asset_id() == populated.ids["dreamshaper_8"]
    assert view.currentIndex().row() == 0

    # Enter now acts on the result: the model goes on the board.
    qtbot.keyClick(view, Qt.Key.Key_Return)
    checkpoint = _compose(window).board.checkpoint.ref
    assert checkpoint is not None
    assert checkpoint.name == "dreamshaper_8"


@pytest.mark.parametrize("mode", ["grid", "table"])
def test_tab_from_the_search_goes_to_the_results_and_shift_tab_back_to_it_then_to_the_filters(
    window: MainWindow, qtbot: QtBot, mode: str
) -> None:
    """Twelve Tabs through every filter control stood between the search and the results. From the
    results Tab goes on to the details pane, as before; the filters are Shift+Tab from the search."""
    window.set_view_mode(mode)
    search, view = window.filter_bar.search, window.current_view()
    _focus(qtbot, search)
    qtbot.keyClick(search, Qt.Key.Key_Tab)
    assert view.hasFocus()
    assert view.currentIndex().isValid(), "a row is current: the arrows move from it"
    qtbot.keyClick(view, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert search.hasFocus()
    qtbot.keyClick(search, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert window.filter_bar.table_button.hasFocus(), "the filters' last stop, before the search"
    qtbot.keyClick(window.filter_bar.table_button, Qt.Key.Key_Tab)
    assert search.hasFocus()
    qtbot.keyClick(search, Qt.Key.Key_Tab)
    qtbot.keyClick(view, Qt.Key.Key_Tab)  # the table's Tab leaves it too (it moved along the row's cells)
    focused = QApplication.focusWidget()
    assert focused is not None
    assert window.details.isAncestorOf(focused), "the details pane comes after the results"


@pytest.fixture
def started_window(
    populated: PopulatedLibrary, make_services: ServicesFactory, service: HeldRender, qtbot: QtBot
) -> Iterator[MainWindow]:
    """The window as ``run_gui`` builds it (``load_later``): the board and its "Compose board" button
    first, the views and the details pane after the first frame, complete when this yields."""
    shown = MainWindow(make_services(populated.library, render=lambda: service), load_later=True)
    qtbot.addWidget(shown)
    ready: list[bool] = []
    shown.when_ready(lambda: ready.append(True))
    shown.show()
    qtbot.waitUntil(lambda: bool(ready), timeout=TIMEOUT)
    _activate(shown, qtbot)
    yield shown
    service.release.set()
    shown.close()


@pytest.mark.parametrize("mode", ["grid", "table"])
def test_tab_right_after_typing_selects_the_first_result_enter_adds_it_and_tab_goes_on_to_the_details(
    started_window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot, mode: str
) -> None:
    """Typed and Tabbed at once (within the search's debounce), the filter came after the focus: the
    result was current but not selected, so Enter added nothing, and the next Tab went to the
    "Compose board" button beside the tabs before the details pane. Tab now does what Down does."""
    window = started_window
    window.set_view_mode(mode)
    search = window.filter_bar.search
    window.select_row(window.model.rowCount() - 1)  # another row was current before the search
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)  # Find, as the user does
    qtbot.waitUntil(search.hasFocus, timeout=2000)
    qtbot.keyClicks(search, "dreamshaper")
    qtbot.keyClick(search, Qt.Key.Key_Tab)
    view = window.current_view()
    assert view.hasFocus(), "the results have the keys"
    assert window.model.rowCount() == 1, "the words typed were applied first"
    assert view.currentIndex().row() == 0
    assert [index.row() for index in window.selection.selectedRows()] == [0], "current and selected"
    assert window.current_asset_id() == populated.ids["dreamshaper_8"]

    qtbot.keyClick(view, Qt.Key.Key_Return)
    checkpoint = _compose(window).board.checkpoint.ref
    assert checkpoint is not None
    assert checkpoint.name == "dreamshaper_8", "Enter acts on the result Tab led to"

    _focus(qtbot, view)  # the board took the keys when the model went on it
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is not None
    assert window.details.isAncestorOf(focused), f"the details pane comes next, not {focused!r}"


def test_tab_from_a_search_with_no_result_still_leaves_the_search(window: MainWindow, qtbot: QtBot) -> None:
    """Where Down has no result to go to, Tab still moves on: it is the way out of the field."""
    search = window.filter_bar.search
    window.filter_bar.focus_search()
    qtbot.waitUntil(search.hasFocus, timeout=2000)
    qtbot.keyClicks(search, "no such model anywhere")
    qtbot.keyClick(search, Qt.Key.Key_Tab)
    assert window.model.rowCount() == 0
    assert not search.hasFocus()
    assert window.current_view().hasFocus(), "the (empty) results, as before"
