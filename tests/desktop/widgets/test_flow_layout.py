"""``FlowLayout``: items left to right, wrapped onto new lines, and its widget exactly as tall as its lines.

The filter bar, the details pane's badges and a Civitai model's tags and trigger words are flow layouts
above or beside views that take all the room they can; the flow's widget takes the height of its lines
and never a share of that room (Qt's own layouts ask for all the spare height they are given).
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QListView, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop.widgets.flow_layout import FlowLayout


def _page(qtbot: QtBot, width: int) -> tuple[QWidget, QWidget, list[QPushButton]]:
    page = QWidget()
    qtbot.addWidget(page)
    column = QVBoxLayout(page)
    bar = QWidget()
    flow = FlowLayout(bar, spacing=6)
    buttons = [QPushButton(f"Filter number {n}") for n in range(4)]
    for button in buttons:
        flow.addWidget(button)
    column.addWidget(bar)
    column.addWidget(QListView())  # no stretch factor: the spare height goes by the items' own wishes
    page.resize(width, 700)
    page.show()
    qtbot.waitExposed(page)
    return page, bar, buttons


@pytest.mark.parametrize("width", [1200, 260])
def test_the_flows_widget_is_as_tall_as_its_lines_beside_a_view_that_takes_the_rest(
    qtbot: QtBot, width: int
) -> None:
    _page_widget, bar, buttons = _page(qtbot, width)
    qtbot.waitUntil(lambda: bar.height() == bar.layout().heightForWidth(bar.width()), timeout=2000)
    lines = {button.y() for button in buttons}
    assert (len(lines) == 1) == (width == 1200), "one line when there is room, wrapped when not"
    bottom = max(button.geometry().bottom() for button in buttons)
    assert bar.height() - bottom <= 2, "no spare height below the last line"
