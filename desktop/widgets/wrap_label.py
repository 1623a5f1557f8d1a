"""A plain-text label that wraps anywhere, so no name, path, tag or prompt can widen its pane.

``QLabel`` word-wraps only between words: a 300-character model name without spaces (Civitai has them)
or a long path sets the label's minimum width, and the details pane grows past the splitter. This label
ignores its text's width for layout, shows text only as plain text (never rich text: descriptions and
prompts come from the internet), and lets long unbroken runs break by inserting zero-width spaces where it
paints. ``text()`` still returns the text as given, so copying and tests see the real value.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.qt_namespace import Qt

BREAK_EVERY = 16  # characters of an unbroken run between two break opportunities
_RUN = re.compile(rf"\S{{{BREAK_EVERY + 1},}}")
_ZWSP = "\u200b"


def breakable(text: str) -> str:
    """``text`` with a zero-width space every few characters inside long runs without whitespace."""
    return _RUN.sub(
        lambda m: _ZWSP.join(m.group(0)[i : i + BREAK_EVERY] for i in range(0, len(m.group(0)), BREAK_EVERY)),
        text,
    )


class WrapLabel(QLabel):
    """Plain text, wrapped at any character when it must; the layout never widens for it."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, selectable: bool = False) -> None:
        super().__init__(parent)
        self._plain = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        if selectable:
            self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802
        self._plain = text
        super().setText(breakable(text))

    def text(self) -> str:
        return self._plain


class BreakAnywhereDelegate(QStyledItemDelegate):
    """Item text (a file name in a table with word wrap on) that wraps inside long runs, like WrapLabel.

    Qt's item views wrap only between words, so a name without spaces is cut instead; the model keeps
    the real text, only what is measured and painted gets the break opportunities.
    """

    def initStyleOption(  # noqa: N802
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.text = breakable(option.text)
