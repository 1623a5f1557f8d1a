"""A 0-5 star rating control, painted (no child widgets), usable with mouse and keyboard.

Clicking the star that is already the rating clears it to 0, the usual way to "unrate" without a
separate button; arrow keys and digits 0-5 change it when the control has focus.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.qt_namespace import Qt

STAR_COUNT = 5
STAR_SIZE = 20
STAR_GAP = 3
FILLED = QColor("#f5b301")


def _star_path(box: QRectF) -> QPainterPath:
    """A five-pointed star inscribed in ``box``."""
    center = box.center()
    outer = min(box.width(), box.height()) / 2
    inner = outer * 0.45
    path = QPainterPath()
    for point in range(10):
        radius = outer if point % 2 == 0 else inner
        angle = math.radians(-90 + point * 36)
        vertex = QPointF(center.x() + radius * math.cos(angle), center.y() + radius * math.sin(angle))
        if point == 0:
            path.moveTo(vertex)
        else:
            path.lineTo(vertex)
    path.closeSubpath()
    return path


class RatingWidget(QWidget):
    """Emits ``rating_changed`` on user changes only; ``set_rating`` is silent."""

    rating_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rating = 0
        self._hover = 0
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Rating: click a star; click it again to clear")

    def rating(self) -> int:
        return self._rating

    def set_rating(self, rating: int) -> None:
        self._rating = max(0, min(STAR_COUNT, rating))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(STAR_COUNT * STAR_SIZE + (STAR_COUNT - 1) * STAR_GAP + 4, STAR_SIZE + 4)

    def _star_at(self, x: float) -> int:
        star = int((x - 2) // (STAR_SIZE + STAR_GAP)) + 1
        return max(1, min(STAR_COUNT, star))

    def _commit(self, rating: int) -> None:
        rating = max(0, min(STAR_COUNT, rating))
        if rating != self._rating:
            self._rating = rating
            self.update()
            self.rating_changed.emit(rating)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._hover = self._star_at(event.position().x())
        self.update()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._hover = 0
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            star = self._star_at(event.position().x())
            self._commit(0 if star == self._rating else star)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Plus):
            self._commit(self._rating + 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Down, Qt.Key.Key_Minus):
            self._commit(self._rating - 1)
        elif Qt.Key.Key_0 <= key <= Qt.Key.Key_5:
            self._commit(key - Qt.Key.Key_0)
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shown = self._hover or self._rating
        empty = QColor(self.palette().color(QPalette.ColorRole.Mid))
        for star in range(1, STAR_COUNT + 1):
            box = QRectF(2 + (star - 1) * (STAR_SIZE + STAR_GAP), 2, STAR_SIZE, STAR_SIZE)
            path = _star_path(box)
            painter.setPen(Qt.PenStyle.NoPen)
            color = QColor(FILLED) if star <= shown else empty
            if self._hover and star <= shown and star > self._rating:
                color.setAlpha(150)
            painter.setBrush(color)
            painter.drawPath(path)
        if self.hasFocus():
            painter.setPen(self.palette().color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
