"""Switching the theme while the window is open turns the whole window, every line readable.

The outside tester chose Dark in Settings and got a half-dark window: the status bar's count and message,
the board dock's title and the Compose tab's labels drawn in the light theme's dark text on the dark
background (invisible), the library still light; after a restart it was right. Qt's style sheet gives
each widget it styles a palette copied from the application's at that moment, and those copies stayed
(``desktop.theme._set_palette``). These tests switch through the Settings dialog as the user does
(the File menu, the Theme box, OK) and read the pixels of the window as drawn: the text that is there must
stand out from the background it is on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QLabel, QMenu, QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from desktop import theme
from desktop.app import show_main_window
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.main_window import MainWindow
from desktop.theme import apply_theme, follow_system_scheme
from tests.desktop.conftest import FakeSettings, PopulatedLibrary, ServicesFactory

READABLE = 4.5  # WCAG's contrast for body text


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def _contrast(a: QColor, b: QColor) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _drawn(image: QImage, region: QRect) -> tuple[QColor, float]:
    """The region's background (its most common pixel) and the contrast of the pixel standing out most
    from it: the text's core, where there is text; 1.0 where the text is drawn in the background's color."""
    region = region.intersected(image.rect())
    counts = Counter(
        image.pixel(x, y)
        for y in range(region.top(), region.bottom() + 1)
        for x in range(region.left(), region.right() + 1)
    )
    background = QColor.fromRgb(counts.most_common(1)[0][0])
    return background, max(_contrast(background, QColor.fromRgb(pixel)) for pixel in counts)


def _text_contrast(window: MainWindow, label: QWidget) -> float:
    assert label.isVisible(), label
    assert label.width() > 0, label
    image = window.grab().toImage()
    return _drawn(image, QRect(label.mapTo(window, QPoint(0, 0)), label.size()))[1]


def _dock_title_contrast(window: MainWindow) -> float:
    dock = window.compose_dock
    assert dock is not None
    assert dock.isVisible()
    inner = dock.widget()
    assert inner is not None
    title = QRect(dock.mapTo(window, QPoint(0, 0)), dock.size())
    title.setHeight(inner.geometry().top())  # the strip above the board: "Compose board" and its buttons
    return _drawn(window.grab().toImage(), title)[1]


def _menu_item(window: MainWindow, text: str) -> tuple[QMenu, QAction]:
    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            for action in menu.actions():
                if action.text() == text:
                    return menu, action
    raise AssertionError(text)


def _choose_theme_in_settings(qtbot: QtBot, window: MainWindow, chosen: str) -> None:
    """File > Settings…, the Theme box set to ``chosen``, OK: as the user does it."""
    done: list[bool] = []

    def in_the_dialog() -> None:  # runs inside the dialog's exec()
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, in_the_dialog)
            return
        box: QComboBox = dialog.theme
        box.setFocus()
        while box.currentData() != chosen:  # the arrow keys walk the box's items, as a keyboard user does
            before = box.currentIndex()
            key = Qt.Key.Key_Down if box.findData(chosen) > before else Qt.Key.Key_Up
            qtbot.keyClick(box, key)
            assert box.currentIndex() != before
        buttons = dialog.findChild(QDialogButtonBox)
        assert buttons is not None
        qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
        done.append(True)

    menu, action = _menu_item(window, "&Settings…")
    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    QTimer.singleShot(0, in_the_dialog)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: bool(done) and QApplication.activeModalWidget() is None, timeout=5000)


def _open_tab(qtbot: QtBot, window: MainWindow, text: str) -> None:
    tabs = window.tabs
    assert tabs is not None
    bar = tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == text)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.currentIndex() == index, timeout=3000)


def _no_engine() -> object:
    raise AssertionError("these tests never render")


OpenThemed = Callable[[str], MainWindow]


@pytest.fixture
def open_themed(
    qtbot: QtBot,
    qapp: QApplication,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> Iterator[OpenThemed]:
    """``open_themed(start)``: the window in ``start``'s theme, its Compose tab opened once (its widgets
    styled in that theme) and the library shown again. Afterwards the session's application is as it
    was (other tests' palette and sheet)."""
    sheet, palette, chosen = qapp.styleSheet(), qapp.palette(), qapp.property("atelier_theme")

    def opener(start: str) -> MainWindow:
        apply_theme(qapp, start)
        settings = FakeSettings(theme=start, compose_board_visible=True)
        service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
        window = MainWindow(make_services(populated.library, settings=settings, render=lambda: service))
        qtbot.addWidget(window)
        window.resize(1500, 900)
        window.show()
        qtbot.waitExposed(window)
        window.status.show_count(7, 7)
        window.status.job_label.setText("Scan: 7 files, 0 new")
        _open_tab(qtbot, window, "Compose")
        _open_tab(qtbot, window, "Library")
        return window

    yield opener
    qapp.setStyleSheet("")
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("atelier_theme", chosen)


def _compose_labels(window: MainWindow) -> list[QLabel]:
    compose = window.compose_tab
    assert compose is not None
    named = [
        label
        for label in compose.findChildren(QLabel)
        if label.text() in ("<b>Renders</b>", "<b>X/Y grid</b>")
    ]
    assert len(named) == 2
    return [compose.status_label, *named]


def _assert_readable(qtbot: QtBot, window: MainWindow) -> None:
    QApplication.processEvents()
    status = window.status
    for label in (status.count_label, status.job_label):
        assert _text_contrast(window, label) >= READABLE, label.text()
    assert _dock_title_contrast(window) >= READABLE, "the board dock's title"
    # The library's grid is on the theme's base color, not the other theme's.
    grid_background, _ = _drawn(
        window.grab().toImage(), QRect(window.grid.mapTo(window, QPoint(0, 0)), window.grid.size())
    )
    assert grid_background == QApplication.palette().color(QPalette.ColorRole.Base)
    # No model chosen: the details pane's placeholder is in view, not pushed to the bottom of a scroll
    # range as tall as the hidden details page (the sheet styling the pane again made it so).
    details = window.details
    assert details.isVisible()
    assert details.verticalScrollBar().maximum() == 0
    _open_tab(qtbot, window, "Compose")
    for label in _compose_labels(window):
        assert _text_contrast(window, label) >= READABLE, label.text()
    _open_tab(qtbot, window, "Library")


@pytest.mark.parametrize(("start", "chosen"), [("light", "dark"), ("dark", "light")])
def test_switching_the_theme_in_settings_turns_the_whole_window_readable(
    qtbot: QtBot, open_themed: OpenThemed, start: str, chosen: str
) -> None:
    window = open_themed(start)
    _assert_readable(qtbot, window)  # as started

    _choose_theme_in_settings(qtbot, window, chosen)

    assert window.services.settings.theme == chosen
    window_color = QApplication.palette().color(QPalette.ColorRole.Window)
    assert (window_color.lightness() < 128) == (chosen == "dark")
    _assert_readable(qtbot, window)


def test_the_system_theme_follows_the_desktop_switching_to_dark_while_the_window_is_open(
    qtbot: QtBot, qapp: QApplication, open_themed: OpenThemed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(theme, "desktop_is_dark", lambda: False)
    window = open_themed("system")
    follow_system_scheme(qapp)  # as desktop.app does; once per application, however often it is asked
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 128

    # The desktop turns dark: Qt says so with colorSchemeChanged (the offscreen platform has no desktop
    # scheme of its own to change, so its answer is replaced and the signal sent as Qt sends it).
    monkeypatch.setattr(theme, "desktop_is_dark", lambda: True)
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)

    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    _assert_readable(qtbot, window)


@pytest.mark.parametrize(("remembered", "desktop_dark"), [("dark", False), ("light", True)])
def test_a_start_in_the_scheme_kept_at_close_turns_to_the_desktops_once_drawn(
    qtbot: QtBot,
    *,
    qapp: QApplication,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    remembered: str,
    desktop_dark: bool,
) -> None:
    """A returning user's window is built in the scheme the desktop had when it last closed (asking Qt
    builds PySide's whole ``Qt`` namespace before the first frame); the desktop has switched since: once
    the window is drawn it follows the desktop, every line readable."""
    monkeypatch.setattr(theme, "desktop_is_dark", lambda: desktop_dark)  # the offscreen desktop has none
    sheet, palette = qapp.styleSheet(), qapp.palette()

    def window_is_dark() -> bool:
        return QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128

    settings = FakeSettings(theme="system", desktop_scheme=remembered, watch_folders=False)
    try:
        service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
        services = make_services(populated.library, settings=settings, render=lambda: service)
        window = show_main_window(services, ["atelier"])
        qtbot.addWidget(window)
        assert window_is_dark() == (remembered == "dark"), "built in the scheme kept"
        qtbot.waitUntil(lambda: window_is_dark() == desktop_dark, timeout=5000)
        qtbot.waitUntil(lambda: window.compose_tab is not None, timeout=15_000)
        window.status.show_count(7, 7)
        window.status.job_label.setText("Scan: 7 files, 0 new")
        _assert_readable(qtbot, window)
        window.close()
        assert settings.desktop_scheme == ("dark" if desktop_dark else "light"), "kept for the next start"
    finally:
        qapp.setStyleSheet("")
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)
