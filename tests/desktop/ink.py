"""What a test reads off a widget's pixels: where something is drawn (text, an underscore)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage


def inked(image: QImage, columns: range) -> list[tuple[int, int]]:
    """The pixels of ``columns`` (every row) whose lightness differs from the background's (the image's
    top right pixel) by more than 60: what is drawn there."""
    background = QColor(image.pixel(image.width() - 1, 0)).lightness()
    return [
        (x, y)
        for x in columns
        for y in range(image.height())
        if abs(QColor(image.pixel(x, y)).lightness() - background) > 60
    ]
