"""The Downloads table's progress bars fill from the left, as far as the download has come.

The delegate paints a ``QStyleOptionProgressBar`` itself; without ``State_Horizontal`` in its state Qt
draws the bar upright, and a download at 24% showed as a thin line along the bottom of a white cell.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QTableView
from pytestqt.qtbot import QtBot

from desktop.delegates.progress_delegate import ProgressDelegate
from desktop.models.downloads_model import PROGRESS_ROLE
from desktop.theme import apply_theme

WIDTH, HEIGHT = 400, 28


def _painted(qapp: QApplication, qtbot: QtBot, percent: int) -> QImage:
    apply_theme(qapp, "light")  # the app's style sheet styles the bar and its chunk
    model = QStandardItemModel(1, 1)
    item = QStandardItem("33.0 KiB / 136.3 KiB")
    item.setData(percent, PROGRESS_ROLE)
    model.setItem(0, 0, item)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = ProgressDelegate(view)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = QRect(0, 0, WIDTH, HEIGHT)
    option.widget = view
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0, 0))
    painter.end()
    return image


def _is_fill(color: QColor, highlight: QColor) -> bool:
    return abs(color.hue() - highlight.hue()) < 20 and color.saturation() > 60


def test_a_bar_fills_from_the_left_as_far_as_the_download_has_come(qapp: QApplication, qtbot: QtBot) -> None:
    image = _painted(qapp, qtbot, 30)
    highlight = qapp.palette().color(QPalette.ColorRole.Highlight)  # the theme's (set by _painted)
    middle = HEIGHT // 2
    assert _is_fill(image.pixelColor(WIDTH // 8, middle), highlight), "the done part, mid-height"
    assert not _is_fill(image.pixelColor(WIDTH * 7 // 8, middle), highlight), "the part still to come"
