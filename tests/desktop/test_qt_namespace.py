"""``desktop.qt_namespace``: the ``Qt`` namespace read on first use, and its stand-ins for the first frame.

The integers must be PySide's own values (Qt takes them as plain ints), the lazily read ``Qt`` must hand
out the very objects ``PySide6.QtCore.Qt`` has, and ``set_enum_property`` must set what it names or say
plainly that it cannot.
"""

from __future__ import annotations

import pytest
from PySide6 import QtCore
from PySide6.QtWidgets import QDockWidget, QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from desktop import qt_namespace
from desktop.qt_namespace import ALIGN_LEFT_VCENTER, DISPLAY_ROLE, USER_ROLE, set_enum_property

Qt = QtCore.Qt


def test_the_plain_integers_are_pysides_values() -> None:
    assert Qt.ItemDataRole.DisplayRole == DISPLAY_ROLE
    assert Qt.ItemDataRole.UserRole == USER_ROLE
    assert int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter) == ALIGN_LEFT_VCENTER


def test_the_namespace_read_on_first_use_hands_out_pysides_own_objects() -> None:
    lazy = qt_namespace.Qt
    assert lazy.AlignmentFlag is Qt.AlignmentFlag
    assert lazy.DockWidgetArea.RightDockWidgetArea is Qt.DockWidgetArea.RightDockWidgetArea
    assert lazy.AlignmentFlag is lazy.AlignmentFlag  # kept after the first read
    with pytest.raises(AttributeError):
        _ = lazy.NoSuchEnum


def test_set_enum_property_sets_values_and_flags_by_their_names(qtbot: QtBot) -> None:
    button, tool, dock = QPushButton(), QToolButton(), QDockWidget()
    for widget in (button, tool, dock):
        qtbot.addWidget(widget)
    set_enum_property(button, "focusPolicy", "NoFocus")
    set_enum_property(tool, "toolButtonStyle", "ToolButtonTextBesideIcon")
    set_enum_property(dock, "allowedAreas", "LeftDockWidgetArea|RightDockWidgetArea")
    assert button.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert tool.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    assert dock.allowedAreas() == Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea


@pytest.mark.parametrize(
    ("name", "keys"),
    [("focusPolicy", "NoSuchPolicy"), ("noSuchProperty", "NoFocus")],
)
def test_set_enum_property_refuses_what_it_cannot_set(qtbot: QtBot, name: str, keys: str) -> None:
    button = QPushButton()
    qtbot.addWidget(button)
    before = button.focusPolicy()
    with pytest.raises(ValueError, match=name):
        set_enum_property(button, name, keys)
    assert button.focusPolicy() == before
