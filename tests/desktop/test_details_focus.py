"""Keyboard focus in the details pane can be seen: every Tab stop after the grid draws a mark.

The outside tester clicked a tile and pressed Tab: the screenshots after each of the first Tabs were
identical (the pane's scroll area took focus itself, "Cover ▾" and "Favorite" drew nothing for focus),
so he could not tell where typing would land. These tests press Tab from the grid as he did, in the light
and the dark theme, and compare each stop drawn with focus and drawn again once focus moved on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.theme import apply_theme
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

MOST_STOPS = 60  # far more than the pane has: the loop ends when Tab leaves the pane


@pytest.fixture(params=["light", "dark"])
def window(
    request: pytest.FixtureRequest, populated: PopulatedLibrary, make_services: ServicesFactory, qtbot: QtBot
) -> Iterator[MainWindow]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, request.param)
    shown = MainWindow(make_services(populated.library))
    qtbot.addWidget(shown)
    shown.resize(1400, 1000)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()
    apply_theme(app, "light")


def _drawn(widget: QWidget) -> QImage:
    return widget.grab().toImage()


def test_each_tab_stop_in_the_details_pane_shows_focus(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot, tmp_path: Path
) -> None:
    view = window.current_view()
    row = window.model.row_of(populated.ids["pixelArtStyle"])
    assert row is not None
    index = window.model.index(row, 0)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    pane = window.details
    unmarked: list[str] = []
    visited: list[QWidget] = []
    for _ in range(MOST_STOPS):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        stop = QApplication.focusWidget()
        assert stop is not None
        assert stop is not pane, "the pane's scroll area takes a Tab stop and shows nothing for it"
        if not pane.isAncestorOf(stop):
            break
        visited.append(stop)
        focused = _drawn(stop)
        stop.clearFocus()
        qtbot.waitUntil(lambda stop=stop: not stop.hasFocus(), timeout=1000)
        if _drawn(stop) == focused:
            unmarked.append(f"{type(stop).__name__} {stop.objectName()!r} {getattr(stop, 'text', str)()!r}")
        stop.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(stop.hasFocus, timeout=1000)
    assert len(visited) < MOST_STOPS, f"Tab stays in {type(visited[-1]).__name__} (typed into it)"
    assert len(visited) >= 7  # Cover, the stars, Favorite, Display name, Tags, Collections, Notes...
    assert unmarked == []
