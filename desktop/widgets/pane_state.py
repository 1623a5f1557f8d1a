"""What an empty pane says: before a search, when nothing matched, while loading, and when a site failed.

Each state is a title, a sentence saying what to do, and at most one action ("Retry", "Clear filters").
The labels wrap and never ask for width (``QSizePolicy.Ignored`` horizontally), so a long error message
makes the pane taller, never wider: the splitter beside it does not jump when a state appears.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop.qt_namespace import Qt


@dataclass(frozen=True, slots=True)
class StateText:
    """One state of a pane: ``action`` is the button's text, or "" for none."""

    title: str
    body: str = ""
    action: str = ""


def wrapping_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that wraps long text instead of widening its pane."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(0)
    return label


class PaneState(QWidget):
    """A centred message with an optional button; ``action_clicked`` carries the button's text."""

    action_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paneState")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.title = wrapping_label()
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.body = wrapping_label()
        self.body.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.body.setProperty("class", "muted")
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.clicked.connect(lambda: self.action_clicked.emit(self.button.text()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addSpacing(8)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self._state = StateText("")

    @property
    def state(self) -> StateText:
        return self._state

    def show_state(self, state: StateText) -> None:
        self._state = state
        self.title.setText(state.title)
        self.body.setText(state.body)
        self.body.setVisible(bool(state.body))
        self.button.setText(state.action)
        self.button.setVisible(bool(state.action))
