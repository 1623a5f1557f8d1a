"""Keyboard focus on the tab bar's "Compose board" toggle can be told from its normal, checked look.

The outside tester pressed Tab from the grid and landed on the toggle: its focus ring (2px of the accent)
looked like its checked frame (1px of the accent), so he pressed Space without knowing where he was and the
board closed. The test presses Tab from the grid as he did, in the light and the dark theme, and compares
the toggle drawn with focus against the same toggle, still checked, drawn once focus moved on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QToolButton
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from desktop.main_window import MainWindow
from desktop.theme import apply_theme
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

MOST_TABS = 60  # far more than the window has stops before the toggle
CHANGED_SHARE = 0.5  # a ring alone changes a thin frame; a visible mark changes most of the button


def _no_engine() -> object:
    raise AssertionError("this test never renders")


@pytest.fixture(params=["light", "dark"])
def window(
    request: pytest.FixtureRequest,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    qtbot: QtBot,
    tmp_path: Path,
) -> Iterator[MainWindow]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, request.param)
    service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    shown = MainWindow(make_services(populated.library, render=lambda: service))
    qtbot.addWidget(shown)
    shown.resize(1400, 1000)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()
    apply_theme(app, "light")


def _changed_share(a: QImage, b: QImage) -> float:
    """The share of the button's pixels drawn differently in ``a`` and ``b``."""
    assert a.size() == b.size()
    changed = sum(a.pixel(x, y) != b.pixel(x, y) for y in range(a.height()) for x in range(a.width()))
    return changed / (a.width() * a.height())


def test_the_checked_board_toggle_looks_different_with_keyboard_focus(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    toggle = window.findChild(QToolButton, "composeBoardToggle")
    assert toggle is not None
    assert toggle.isChecked()  # the board shows, as the tester had it
    view = window.current_view()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    row = window.model.row_of(populated.ids["pixelArtStyle"])
    assert row is not None
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(window.model.index(row, 0)).center()
    )
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    for _ in range(MOST_TABS):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        if toggle.hasFocus():
            break
    assert toggle.hasFocus(), "Tab never reaches the board toggle"
    focused = toggle.grab().toImage()
    toggle.clearFocus()
    qtbot.waitUntil(lambda: not toggle.hasFocus(), timeout=1000)
    assert toggle.isChecked()
    share = _changed_share(focused, toggle.grab().toImage())
    assert share >= CHANGED_SHARE, (
        f"only {share:.0%} of the toggle changes with focus: it reads as its checked frame"
    )
