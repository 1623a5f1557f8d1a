"""The board's plan: what Render would do, shown before it runs and kept up to date as the board changes.

It shows the lines of :func:`app.render_plan_view.plan_lines`, the same plan ``render --plan`` prints:
sampler and schedule, steps, seed, size, the hires pass, each network with its UNet and TE weights,
what is missing, refused or worth a warning. A header button folds it away.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

from desktop.qt_namespace import Qt
from desktop.widgets.vertical_scroll import VerticalScrollArea

_MARKED = ("Missing:", "Refused:", "Wrong slot:", "Warning:")
MAX_HEIGHT = 170  # the board above keeps its room; a longer plan scrolls
PLAN_LINES = 8  # the room the plan keeps, whatever it says now (a usual plan is 5 to 8 lines)


class PlanView(QWidget):
    """A foldable "Plan" section; :meth:`show_lines` replaces what it says."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("renderPlan")
        self.header = QToolButton()
        self.header.setObjectName("planHeader")
        self.header.setText("Plan")
        self.header.setCheckable(True)
        self.header.setChecked(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setArrowType(Qt.ArrowType.DownArrow)
        self.header.setAutoRaise(True)
        self.header.setToolTip("What Render would do with the board as it is now")
        self.body = QLabel()
        self.body.setObjectName("planBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)  # short: at the top
        self.lines: list[str] = []
        self.area = VerticalScrollArea(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.area)
        self.area.setFixedHeight(self._room())
        self.header.toggled.connect(self._fold)

    def show_lines(self, lines: Sequence[str]) -> None:
        """Shows ``lines``; those saying what stands in the way are in bold."""
        self.lines = list(lines)
        rows = [
            f"<b>{html.escape(line)}</b>" if line.startswith(_MARKED) else html.escape(line) for line in lines
        ]
        self.body.setText("<br>".join(rows))

    def _room(self) -> int:
        """The plan's height: a fixed number of lines, not its text's. A plan that grew or shrank with
        its text (a setting committed re-wraps a line) moved the board above it while the user edited,
        so the next click landed on another field; a longer plan scrolls inside this room."""
        return min(MAX_HEIGHT, self.body.fontMetrics().lineSpacing() * PLAN_LINES + 4)

    def _fold(self, shown: bool) -> None:
        self.area.setVisible(shown)
        self.header.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
