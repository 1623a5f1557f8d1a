"""Images between the renderer and the screen: PIL -> QImage on the worker, and a scaling image view.

A render's live preview arrives on a worker thread as a PIL image; it is converted there to a QImage
(which, unlike QPixmap, may be made and passed across threads) and only drawn on the GUI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from desktop.qt_namespace import Qt

if TYPE_CHECKING:
    from PIL.Image import Image


def pil_to_qimage(image: Image) -> QImage:
    """A deep copy of ``image`` as an RGBA QImage (safe to hand to another thread)."""
    rgba = image.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    view = QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888)
    return view.copy()  # the view borrows ``data``; the copy owns its pixels


class ImageView(QLabel):
    """Shows one image scaled to fit, keeping its aspect ratio; small previews are scaled up smoothly."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = placeholder
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(160, 160))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # no resize loop
        self.setText(placeholder)

    @property
    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None) -> None:
        self._image = image if image is not None and not image.isNull() else None
        self._rescale()

    def _rescale(self) -> None:
        if self._image is None:
            self.setPixmap(QPixmap())
            self.setText(self._placeholder)
            return
        scaled = self._image.scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.setPixmap(QPixmap.fromImage(scaled))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._image is not None:
            self._rescale()
