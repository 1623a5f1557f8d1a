"""Paints one Civitai search result as a tile: cover (cropped to fill), badges, name and base models.

Types and base models are painted in the user's words ("Embedding", "Pony Diffusion"), not the API's.
Same look as the library grid (``ThumbnailDelegate``) so browsing a site feels like browsing the library;
covers arrive as ``QImage`` (already blurred above the NSFW level by the image cache's worker).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRectF, QSize
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPalette,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from core.sources.civitai_records import CivitaiModel
from core.sources.site_words import CIVITAI_BASE_MODEL_LABELS, CIVITAI_TYPE_LABELS, site_label
from desktop.delegates.thumbnail_delegate import crop_to_fill
from desktop.models.civitai_results_model import CivitaiRole
from desktop.qt_namespace import Qt

AnyIndex = QModelIndex | QPersistentModelIndex

MARGIN = 5
RADIUS = 8.0
IN_LIBRARY = QColor("#1f9d55")
TYPE_COLORS = {
    "Checkpoint": "#3b82f6",
    "LORA": "#8b5cf6",
    "LoCon": "#8b5cf6",
    "DoRA": "#8b5cf6",
    "TextualInversion": "#10b981",
    "Hypernetwork": "#f59e0b",
    "VAE": "#ef4444",
    "Controlnet": "#0ea5e9",
}


class RemoteTileDelegate(QStyledItemDelegate):
    """Fixed-size tiles: the cover area has the size the image cache decodes covers at."""

    def __init__(self, cover: QSize, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cover = cover

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:  # noqa: N802
        text_height = QFontMetrics(option.font).height() * 2 + 8
        return QSize(self.cover.width() + 2 * MARGIN, self.cover.height() + text_height + 2 * MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        model = index.data(CivitaiRole.MODEL)
        if not isinstance(model, CivitaiModel):
            return
        rect = option.rect
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if selected or hovered:
            background = QColor(palette.color(QPalette.ColorRole.Highlight))
            background.setAlpha(60 if selected else 22)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(background)
            painter.drawRoundedRect(QRectF(rect).adjusted(1, 1, -1, -1), RADIUS + 2, RADIUS + 2)

        cover = QRectF(rect.x() + MARGIN, rect.y() + MARGIN, self.cover.width(), self.cover.height())
        clip = QPainterPath()
        clip.addRoundedRect(cover, RADIUS, RADIUS)
        painter.save()
        painter.setClipPath(clip)
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(image, QImage) and not image.isNull():
            painter.drawImage(cover, image, crop_to_fill(image, cover))
        else:
            gradient = QLinearGradient(cover.topLeft(), cover.bottomRight())
            hue = QColor(TYPE_COLORS.get(model.type, "#64748b"))
            gradient.setColorAt(0.0, hue.lighter(135))
            gradient.setColorAt(1.0, hue.darker(160))
            painter.fillRect(cover, gradient)
        painter.restore()

        badges = [
            (site_label(CIVITAI_TYPE_LABELS, model.type), QColor(TYPE_COLORS.get(model.type, "#475569")))
        ]
        if index.data(CivitaiRole.IN_LIBRARY):
            badges.append(("In library", IN_LIBRARY))
        self._paint_badges(painter, cover, badges, option.font)
        self._paint_text(painter, cover, model, option)
        painter.restore()

    @staticmethod
    def _paint_badges(painter: QPainter, area: QRectF, badges: list[tuple[str, QColor]], font: QFont) -> None:
        small = QFont(font)
        small.setBold(True)
        small.setPixelSize(10)
        painter.setFont(small)
        metrics = QFontMetrics(small)
        x = area.left() + 6
        for text, color in badges:
            width = metrics.horizontalAdvance(text) + 10
            box = QRectF(x, area.bottom() - 6 - 16, width, 16)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            x += width + 4

    @staticmethod
    def _paint_text(
        painter: QPainter, cover: QRectF, model: CivitaiModel, option: QStyleOptionViewItem
    ) -> None:
        palette: QPalette = option.palette
        bold = QFont(option.font)
        bold.setBold(True)
        width = int(cover.width())
        top = cover.bottom() + 4
        painter.setFont(bold)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = QFontMetrics(bold).elidedText(model.name, Qt.TextElideMode.ElideRight, width)
        line = QFontMetrics(bold).height()
        painter.drawText(QRectF(cover.left(), top, width, line), Qt.AlignmentFlag.AlignLeft, name)
        bases = sorted(
            {site_label(CIVITAI_BASE_MODEL_LABELS, v.base_model) for v in model.versions if v.base_model}
        )
        parts = [", ".join(bases[:2]) or site_label(CIVITAI_TYPE_LABELS, model.type)]
        if model.stats.downloads:
            parts.append(f"{model.stats.downloads:,} downloads")
        details = " · ".join(parts)
        painter.setFont(option.font)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        details = QFontMetrics(option.font).elidedText(details, Qt.TextElideMode.ElideRight, width)
        painter.drawText(QRectF(cover.left(), top + line, width, line), Qt.AlignmentFlag.AlignLeft, details)
