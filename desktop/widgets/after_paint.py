"""Run something once a widget has been drawn, so work that would slow the drawing waits for it.

A window is painted on the event loop once it is exposed, after ``show()`` returns and after zero-delay
timers; a view is painted after its delayed item layout. Work started on a job thread in the meantime
(importing SQLAlchemy, say) holds the interpreter in turns with the GUI thread, and every Python call
the drawing makes (a delegate's paint, a model's ``data``) waits for its turn: the frame comes late.
:func:`after_next_paint` starts the work once the frame is drawn instead, or after ``wait_ms`` when
the widget is not drawn at all (a window started minimized still loads).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class _NextPaint(QObject):
    """Watches ``widget`` for its next paint event; runs ``callback`` once, right after that frame."""

    def __init__(self, widget: QWidget, callback: Callable[[], object], wait_ms: int) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback: Callable[[], object] | None = callback
        widget.installEventFilter(self)
        # Counted from the event loop's first turn, not from now: a start slower than ``wait_ms`` to reach
        # the loop (a busy machine) would otherwise run the work before the frame it waits for, as Qt
        # runs due timers before it handles the window's first expose, which draws it.
        # Both timers name this object as their context: gone with its widget before the loop turns (a
        # window closed at once), neither calls into it.
        self._wait_ms = wait_ms
        QTimer.singleShot(0, self, self._start_waiting)

    def _start_waiting(self) -> None:
        QTimer.singleShot(self._wait_ms, self, self._run)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._widget and event.type() == QEvent.Type.Paint and self._callback is not None:
            QTimer.singleShot(0, self, self._run)  # once the rest of this frame is drawn too
        return False

    def _run(self) -> None:
        callback, self._callback = self._callback, None
        if callback is None:
            return
        # Inert from now on, freed with its widget. Not deleteLater(): that crashed the process (PySide,
        # in ~QObject while handling the DeferredDelete) 8 runs in 8 where tests/desktop/widgets/
        # test_after_paint.py ran after test_main_window.py in one process; 0 in 8 without it.
        self._widget.removeEventFilter(self)
        callback()


def after_next_paint(widget: QWidget, callback: Callable[[], object], wait_ms: int = 1000) -> None:
    """Runs ``callback`` once ``widget`` has next been drawn, or after ``wait_ms`` if it is not."""
    _NextPaint(widget, callback, wait_ms)
