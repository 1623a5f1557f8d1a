"""The status bar's Cancel names the job it stops and never takes the keyboard focus by itself; the
Library menu has the same entry for the keyboard.

The outside tester saw "Downloading X to …" beside the scan's bar and a bare "Cancel", which looked like
the download's; and after clicking a tab during a scan the focus ring was on that Cancel, where Space
would have stopped the scan.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from core.jobs import CancelToken, ProgressCallback
from desktop.main_window import MainWindow
from desktop.status_bar import AppStatusBar
from desktop.workers import JobHandle, JobSignals
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory


def _window(qtbot: QtBot) -> tuple[QWidget, QLineEdit, QLineEdit, AppStatusBar]:
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    first, second = QLineEdit(), QLineEdit()
    bar = AppStatusBar()
    for widget in (first, second, bar):
        layout.addWidget(widget)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    return window, first, second, bar


def test_cancel_names_the_running_job_and_says_downloads_are_elsewhere(qtbot: QtBot) -> None:
    *_widgets, bar = _window(qtbot)
    bar.track(JobHandle("Scan", JobSignals(), CancelToken()))
    assert bar.cancel_button.text() == "Cancel scan"
    assert "Downloads tab" in bar.cancel_button.toolTip()
    bar.flash("Downloading tiny.safetensors to /models/Lora")  # a download's notice beside it
    assert bar.cancel_button.text() == "Cancel scan"
    bar.track(JobHandle("Civitai lookup", JobSignals(), CancelToken()))
    assert bar.cancel_button.text() == "Cancel Civitai lookup"
    bar.track(JobHandle("Exporting to a rather long file name.json", JobSignals(), CancelToken()))
    assert bar.cancel_button.text() == "Cancel job"
    assert "Exporting to a rather long file name.json" in bar.cancel_button.toolTip()


def test_the_focus_never_falls_onto_cancel_and_a_click_leaves_it_in_place(qtbot: QtBot) -> None:
    _shown, first, second, bar = _window(qtbot)
    handle = JobHandle("Scan", JobSignals(), CancelToken())
    bar.track(handle)
    second.setFocus()
    assert second.hasFocus()
    second.hide()  # what a tab switch does to the focused field: Qt passes the focus on down the chain
    assert not bar.cancel_button.hasFocus()
    second.show()
    QTest.keyClick(first, Qt.Key.Key_Tab)  # Tab through the window: never onto Cancel
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert not bar.cancel_button.hasFocus()
    second.setFocus()
    QTest.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)  # still works with the mouse
    assert handle.token.cancelled
    assert second.hasFocus()


def test_the_running_job_is_cancelled_from_the_keyboard_through_the_library_menu(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory
) -> None:
    """The button takes no focus, so the keyboard's way is Library › Cancel scan (Alt+L, C), named and
    enabled as the button is."""
    window = MainWindow(make_services(populated.library))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    entry = window.status.cancel_action
    assert entry in window.library_menu.actions()
    assert not entry.isEnabled()
    started, stopped = threading.Event(), threading.Event()

    def held(_progress: ProgressCallback, cancel: CancelToken) -> None:
        started.set()
        while not cancel.cancelled:
            time.sleep(0.01)
        stopped.set()
        cancel.raise_if_cancelled()

    window.run_job("Scan", held)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    assert entry.isEnabled()
    assert entry.text() == "&Cancel scan"
    QTest.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=3000)
    QTest.keyClick(QApplication.activePopupWidget(), Qt.Key.Key_C)
    qtbot.waitUntil(stopped.is_set, timeout=5000)
    qtbot.waitUntil(lambda: not entry.isEnabled(), timeout=5000)
    assert "cancelled" in window.status.job_label.text()
    window.close()
