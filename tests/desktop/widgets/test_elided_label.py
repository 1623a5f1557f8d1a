"""``ElidedLabel``: a name in another script keeps its underscores (its line as tall as it needs)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop.widgets.elided_label import ElidedLabel
from tests.desktop.ink import inked


def test_an_underscore_beside_cjk_is_painted(qtbot: QtBot) -> None:
    """The details pane's file line showed "像素_pixel_v2.safetensors" as "像素 pixel v2": the fallback
    font's taller line was centred in the font's height, its underscores below the label's edge."""
    page = QWidget()
    qtbot.addWidget(page)
    column = QVBoxLayout(page)
    label = ElidedLabel()
    column.addWidget(label)
    column.addStretch(1)
    page.resize(600, 200)
    page.show()
    qtbot.waitExposed(page)
    before = "像素"
    label.setText(f"{before}_pixel_v2.safetensors")
    metrics = label.fontMetrics()
    qtbot.waitUntil(lambda: label.height() >= metrics.boundingRect(label.text()).height(), timeout=2000)
    left, right = metrics.horizontalAdvance(before), metrics.horizontalAdvance(before + "_")
    assert inked(label.grab().toImage(), range(left + 1, right - 1)), "the underscore is not painted"


def test_a_plain_name_keeps_the_fonts_height(qtbot: QtBot) -> None:
    label = ElidedLabel("pixel_v2.safetensors")
    qtbot.addWidget(label)
    assert label.sizeHint().height() == label.fontMetrics().height()
