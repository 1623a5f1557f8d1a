"""A modifier key one test leaves pressed is released before the next test (``tests/desktop/conftest.py``).

The two tests run in this order in one worker (one file is never split between workers)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot


def test_a_ctrl_press_whose_release_never_comes_stays_pressed(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    QTest.keyPress(widget, Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.keyboardModifiers() == Qt.KeyboardModifier.ControlModifier


def test_the_next_test_starts_with_no_modifier_pressed() -> None:
    assert QGuiApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier
