"""An action enabled exactly while a widget is: a shortcut for a button stays in step with the button.

The compose tab disables its Render buttons while a render runs; the window's Render action (Ctrl+Return)
follows the board's button, so the menu entry greys out with it and the key does nothing a click could
not. Qt has no signal for a widget's enabled state, only the ``EnabledChange`` event, watched here.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget


class EnabledFollower(QObject):
    """Keeps ``action`` enabled as ``widget`` is (its own state and its parents'); owned by the action."""

    def __init__(self, action: QAction, widget: QWidget) -> None:
        super().__init__(action)
        self._action = action
        action.setEnabled(widget.isEnabled())
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.EnabledChange and isinstance(watched, QWidget):
            self._action.setEnabled(watched.isEnabled())
        return super().eventFilter(watched, event)
