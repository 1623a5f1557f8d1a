"""A scroll area that scrolls up and down only and is never narrower than what it holds.

The board, its missing-files list and its plan scroll vertically: content that slides sideways under the
pointer is no place to drop things or read a line. Turning the horizontal bar off alone would cut the
right edge off whenever a font wider than the designer's, or a group of controls opening (the hires fix),
widened the content; this area asks its layout for the content's narrowest width instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

from desktop.qt_namespace import Qt


class VerticalScrollArea(QScrollArea):
    """Frameless, resizable, vertical only; its minimum width is its content's."""

    def __init__(self, widget: QWidget | None = None) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if widget is not None:
            self.setWidget(widget)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802
        super().setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the content's minimum width may have changed
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        widget = self.widget()
        if widget is None:
            return hint
        scroll_bar = self.verticalScrollBar().sizeHint().width()
        needed = widget.minimumSizeHint().width() + scroll_bar + 2 * self.frameWidth()
        return QSize(max(hint.width(), needed), hint.height())
