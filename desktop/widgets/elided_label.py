"""A label that elides its text to the space it has (paths, hashes) and shows the whole in a tooltip.

``QLabel`` either wraps or grows the layout with a long path; eliding keeps the details pane at its
width while the full value stays reachable (tooltip, selection-free copy buttons next to it).
"""

from __future__ import annotations

import re

from PySide6.QtCore import QSize
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.qt_namespace import ALIGN_LEFT_VCENTER, Qt

ELLIPSIS = "…"
_WORD_END = r"[\s,;·:(]+"  # where a sentence may be cut without cutting a word (compiled when first used)


def elide_at_word(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` cut at the end, after the last whole word that fits with "…" (a summary, not a path).

    Falls back to cutting inside the word only when not even the first word fits.
    """
    if metrics.horizontalAdvance(text) <= width:
        return text
    best = ""
    for match in re.finditer(_WORD_END, text):
        candidate = text[: match.start()].rstrip(" ,;·:(") + ELLIPSIS
        if metrics.horizontalAdvance(candidate) > width:
            break
        best = candidate
    return best or metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)


class ElidedLabel(QWidget):
    def __init__(
        self,
        text: str = "",
        mode: Qt.TextElideMode | None = None,
        parent: QWidget | None = None,
        *,
        at_words: bool = False,
    ) -> None:
        """``mode``: where the text is cut, ``ElideMiddle`` by default (a path keeps both ends).
        ``at_words``: a sentence, cut at its end between words, never inside one (whatever ``mode``)."""
        super().__init__(parent)
        self._text = text
        self._mode = mode  # None: ElideMiddle, named when first painted (see desktop.qt_namespace)
        self._at_words = at_words
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802
        self._text = text
        self.setToolTip(text)
        self.updateGeometry()  # a name in another script may need a taller line
        self.update()

    def set_elide_mode(self, mode: Qt.TextElideMode, *, at_words: bool = False) -> None:
        self._mode = mode
        self._at_words = at_words
        self.update()

    def elided_text(self) -> str:
        """The text as painted at the current width."""
        if self._at_words:
            return elide_at_word(self._text, self.fontMetrics(), self.width())
        mode = Qt.TextElideMode.ElideMiddle if self._mode is None else self._mode
        return self.fontMetrics().elidedText(self._text, mode, self.width())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().horizontalAdvance(self._text), self._text_line_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(20, self._text_line_height())

    def _text_line_height(self) -> int:
        """As tall as the text's line: characters drawn from fallback fonts (CJK) have a taller line box;
        in the font's own height their line is centred lower and loses its underscores
        ("像素_art" showed as "像素 art")."""
        metrics = self.fontMetrics()
        if self._text.isascii():
            return metrics.height()
        return max(metrics.height(), metrics.boundingRect(self._text).height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if not self._text:  # nothing to draw
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        elided = self.elided_text()
        painter.drawText(self.rect(), ALIGN_LEFT_VCENTER, elided)
