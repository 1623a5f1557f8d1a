"""A label that elides its text to the space it has (paths, hashes) and shows the whole in a tooltip.

``QLabel`` either wraps or grows the layout with a long path; eliding keeps the details pane at its
width while the full value stays reachable (tooltip, selection-free copy buttons next to it).
"""

from __future__ import annotations

import re

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

ELLIPSIS = "…"
_WORD_END = re.compile(r"[\s,;·:(]+")  # where a sentence may be cut without cutting a word


def elide_at_word(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` cut at the end, after the last whole word that fits with "…" (a summary, not a path).

    Falls back to cutting inside the word only when not even the first word fits.
    """
    if metrics.horizontalAdvance(text) <= width:
        return text
    best = ""
    for match in _WORD_END.finditer(text):
        candidate = text[: match.start()].rstrip(" ,;·:(") + ELLIPSIS
        if metrics.horizontalAdvance(candidate) > width:
            break
        best = candidate
    return best or metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)


class ElidedLabel(QWidget):
    def __init__(
        self,
        text: str = "",
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
        parent: QWidget | None = None,
        *,
        at_words: bool = False,
    ) -> None:
        """``at_words``: a right-elided sentence is cut between words, never inside one."""
        super().__init__(parent)
        self._text = text
        self._mode = mode
        self._at_words = at_words
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802
        self._text = text
        self.setToolTip(text)
        self.update()

    def set_elide_mode(self, mode: Qt.TextElideMode, *, at_words: bool = False) -> None:
        self._mode = mode
        self._at_words = at_words
        self.update()

    def elided_text(self) -> str:
        """The text as painted at the current width."""
        if self._at_words and self._mode == Qt.TextElideMode.ElideRight:
            return elide_at_word(self._text, self.fontMetrics(), self.width())
        return self.fontMetrics().elidedText(self._text, self._mode, self.width())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().horizontalAdvance(self._text), self.fontMetrics().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(20, self.fontMetrics().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        elided = self.elided_text()
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), elided)
