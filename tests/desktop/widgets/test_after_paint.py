"""``after_next_paint``: work waits for the widget's next frame, or for ``wait_ms`` of a running event loop
when the widget is not drawn at all."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.widgets.after_paint import after_next_paint


class _Paints(QObject):
    def __init__(self, widget: QWidget, order: list[str]) -> None:
        super().__init__(widget)  # deleted with the widget it watches
        self._order = order
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._order.append("paint")
        return False


def test_a_start_slower_than_the_wait_still_runs_the_work_after_the_first_frame(qtbot: QtBot) -> None:
    """The wait counts from the event loop's first turn: Qt runs timers already due before it handles a
    new window's expose, which draws it, so a start busy for longer than ``wait_ms`` ran the work (the
    menus, the first rows' read) before the frame it was to wait for."""
    order: list[str] = []
    widget = QWidget()
    qtbot.addWidget(widget)
    _Paints(widget, order)
    widget.resize(200, 100)
    widget.show()
    after_next_paint(widget, lambda: order.append("work"), wait_ms=300)
    time.sleep(0.6)  # the rest of a slow start, before the event loop turns
    qtbot.waitUntil(lambda: "work" in order, timeout=5000)
    assert "paint" in order
    assert order.index("paint") < order.index("work")


def test_a_widget_never_drawn_gets_its_work_done_after_the_wait(qtbot: QtBot) -> None:
    """A window started minimized, a view on a tab not shown: the work still runs."""
    done: list[str] = []
    widget = QWidget()
    qtbot.addWidget(widget)
    after_next_paint(widget, lambda: done.append("work"), wait_ms=300)
    qtbot.wait(100)
    assert done == [], "not before the wait"
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
