"""Only a focused control takes the mouse wheel: scrolling the board never changes a weight by accident.

Sliders, spin boxes and combo boxes react to the wheel as soon as the pointer is over them, so a user
scrolling down the board changes every LoRA weight the pointer passes. A control guarded here takes
focus only by click or Tab (``StrongFocus``), and while it has no focus its wheel events go to the
scroll area around it, which scrolls (handed over explicitly: Qt 6 does not pass a wheel event on to
the parents when it did not come from the window system).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget

from desktop.qt_namespace import Qt


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        assert isinstance(event, QWheelEvent)
        area = _scroll_area_around(watched)
        if area is None:
            event.ignore()  # not accepted: the window system's event goes on to the parents
            return True
        viewport = area.viewport()
        position = QPointF(watched.mapTo(viewport, event.position().toPoint()))
        scrolled = QWheelEvent(
            position,
            event.globalPosition(),
            event.pixelDelta(),
            event.angleDelta(),
            event.buttons(),
            event.modifiers(),
            event.phase(),
            event.inverted(),
            event.source(),
        )
        QApplication.sendEvent(viewport, scrolled)
        return True  # the control itself never sees it


def _scroll_area_around(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.viewport().isAncestorOf(widget):
            return parent
        parent = parent.parentWidget()
    return None


_GUARD: _WheelGuard | None = None


def guard_wheel(*widgets: QWidget) -> None:
    """Makes each widget take the wheel only while it has keyboard focus."""
    global _GUARD  # noqa: PLW0603 - one filter object serves every guarded control
    if _GUARD is None:
        _GUARD = _WheelGuard()
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(_GUARD)
