"""A tab widget whose tabs open while something is dragged over them, as in a browser or a file manager.

Dragging a model out of the library towards the Compose tab must not need a free hand for a click: a
drag resting on a tab for a moment switches to it, for every tab. A drop on the tab itself is offered to
the window (``dropped_on_tab``), so letting go over "Compose" still puts the model on the board.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QTabBar, QTabWidget, QWidget

HOVER_SWITCH_MS = 450


class DragSwitchTabBar(QTabBar):
    """Switches to the tab a drag rests on for ``HOVER_SWITCH_MS``; reports drops on a tab."""

    dropped_on_tab = Signal(int, QMimeData)  # tab index, the dropped data

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setChangeCurrentOnDrag(False)  # Qt's own switching is immediate; ours waits a moment
        self._hovered = -1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(HOVER_SWITCH_MS)
        self._timer.timeout.connect(self._switch)

    def _hover(self, position: QPoint) -> None:
        index = self.tabAt(position)
        if index != self._hovered:
            self._hovered = index
            self._timer.stop()
            if index >= 0 and index != self.currentIndex():
                self._timer.start()

    def _switch(self) -> None:
        if 0 <= self._hovered < self.count():
            self.setCurrentIndex(self._hovered)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        event.acceptProposedAction()
        self._hover(event.position().toPoint())

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        event.acceptProposedAction()
        self._hover(event.position().toPoint())

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self._hovered = -1
        self._timer.stop()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._timer.stop()
        index = self.tabAt(event.position().toPoint())
        self._hovered = -1
        if index < 0:
            event.ignore()
            return
        self.setCurrentIndex(index)
        event.acceptProposedAction()
        self.dropped_on_tab.emit(index, event.mimeData())


class DragSwitchTabWidget(QTabWidget):
    """A ``QTabWidget`` with a ``DragSwitchTabBar`` (``setTabBar`` is only callable from a subclass)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drag_tab_bar = DragSwitchTabBar()
        self.setTabBar(self.drag_tab_bar)
