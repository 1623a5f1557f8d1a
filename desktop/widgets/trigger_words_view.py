"""Trigger words of one file, the user's and Civitai's told apart, each with a copy button.

The user's words (typed, from A1111's sidecar or the file's own metadata) come first under "Yours";
Civitai's trained words follow under "From Civitai". "Copy all" copies both, each word once, which is what
a prompt needs. A word of any length wraps inside the pane instead of widening it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from desktop.qt_namespace import Qt
from desktop.resources import icon
from desktop.widgets.wrap_label import WrapLabel

MAX_ROWS = 40  # per group; "Copy all" still copies every word


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """One shown word: its group ("yours" or "civitai"), its label and its copy button."""

    group: str
    word: str
    label: WrapLabel
    copy_button: QToolButton


def copy_button(tooltip: str) -> QToolButton:
    button = QToolButton()
    button.setIcon(icon("copy"))
    button.setIconSize(QSize(14, 14))
    button.setToolTip(tooltip)
    button.setAutoRaise(True)
    return button


class TriggerWordsView(QWidget):
    """``set_words(yours, civitai)``; hidden when there are none. ``copied`` carries a status message."""

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._yours: tuple[str, ...] = ()
        self._civitai: tuple[str, ...] = ()
        self.rows: list[TriggerRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        header = QHBoxLayout()
        title = QLabel("TRIGGER WORDS")
        title.setObjectName("sectionTitle")
        header.addWidget(title)
        header.addStretch(1)
        self.copy_all = QPushButton("Copy all")
        self.copy_all.setToolTip("Copy every trigger word, yours then Civitai's, separated by commas")
        self.copy_all.clicked.connect(self._copy_all)
        header.addWidget(self.copy_all, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(header)
        self._body = QVBoxLayout()
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.setSpacing(0)
        layout.addLayout(self._body)
        self.hide()

    def set_words(self, yours: tuple[str, ...], civitai: tuple[str, ...]) -> None:
        self._yours = yours
        seen = {word.casefold() for word in yours}
        self._civitai = tuple(word for word in civitai if word.casefold() not in seen)
        self._clear()
        if self._yours:
            self._group("yours", "Yours", self._yours)
        if self._civitai:
            self._group("civitai", "From Civitai", self._civitai)
        self.setVisible(bool(self._yours or self._civitai))

    def all_words(self) -> tuple[str, ...]:
        return (*self._yours, *self._civitai)

    def _group(self, group: str, caption: str, words: tuple[str, ...]) -> None:
        heading = QLabel(caption)
        heading.setProperty("class", "muted")
        heading.setObjectName(f"triggerGroup_{group}")
        self._body.addWidget(heading)
        for word in words[:MAX_ROWS]:
            row = QWidget()
            row_layout = QHBoxLayout(row)
            row_layout.setContentsMargins(8, 0, 0, 0)
            label = WrapLabel(word, selectable=True)
            row_layout.addWidget(label, 1)
            button = copy_button(f"Copy “{word}”")
            button.clicked.connect(lambda _=False, w=word: self._copy(w, "Trigger word"))
            row_layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            self._body.addWidget(row)
            self.rows.append(TriggerRow(group, word, label, button))
        if len(words) > MAX_ROWS:
            more = QLabel(f"…and {len(words) - MAX_ROWS} more (Copy all copies every one)")
            more.setProperty("class", "muted")
            self._body.addWidget(more)

    def _clear(self) -> None:
        self.rows.clear()
        while self._body.count():
            item = self._body.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    def _copy_all(self) -> None:
        self._copy(", ".join(self.all_words()), "Trigger words")

    def _copy(self, text: str, what: str) -> None:
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(f"{what} copied to the clipboard")
