"""Paints a progress bar in a table cell from the model's percentage (``PROGRESS_ROLE``).

A delegate rather than a ``QProgressBar`` per row: the queue may hold hundreds of finished downloads, and
a painted bar costs nothing when it is off screen.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from desktop.models.downloads_model import PROGRESS_ROLE
from desktop.qt_namespace import Qt


class ProgressDelegate(QStyledItemDelegate):
    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(PROGRESS_ROLE)
        if not isinstance(value, int):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum = 0
        bar.maximum = 100 if value >= 0 else 0  # 0..0 is Qt's "busy" bar for an unknown size
        bar.progress = max(0, value)
        bar.text = str(index.data()) if value < 0 else f"{value}%  {index.data()}"
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter  # the option's default (left) leaves it at the top
        bar.state = option.state | QStyle.StateFlag.State_Horizontal  # without it Qt draws it upright
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
