"""Paints one grid tile: the cover thumbnail (or a placeholder in the kind's color), badges and the name.

The grid is a ``QListView`` in icon mode over ``AssetTableModel``; this delegate draws everything, so a
library of thousands of files costs no widgets. Thumbnails arrive as ``QImage`` through
``AssetRole.THUMBNAIL`` (loaded off the GUI thread by ``ThumbnailCache``) and are drawn with
``drawImage``, cropped to fill the tile, so no ``QPixmap`` is ever made from a worker's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPalette,
)
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from core.taxonomy import FileStatus
from desktop.labels import ARCHITECTURE_LABELS, KIND_BADGES, KIND_COLORS, STATUS_LABELS, display_title, stars
from desktop.models.asset_table_model import UPDATE_COLOR, AssetRole
from desktop.qt_namespace import Qt

if TYPE_CHECKING:  # the rows are read after the first frame, off the GUI thread
    from PySide6.QtGui import QImage

    from catalog.records import AssetRow

AnyIndex = QModelIndex | QPersistentModelIndex


def tile_detail(record: AssetRow) -> str:
    """A tile's second line: the base model in the user's words (as details, the table and organize
    say it), marked "⚠" when it names another family than the file's own (the tile's family chip would
    otherwise sit over a contradicting label unremarked), then the stars. The words' table is
    identification's, imported with the first rows (the window's first frame has none)."""
    from core.sources.site_words import base_model_conflict, base_model_word

    label = base_model_word(record.base_model_label)
    if label and base_model_conflict(record.base_model_label, record.file_architecture):
        label = f"⚠ {label}"
    return "  ".join(part for part in (label, stars(record.rating)) if part)


MARGIN = 5
RADIUS = 8.0
TEXT_GAP = 6
IMAGE_ASPECT = 4 / 3  # height / width: most previews are portrait renders


class ThumbnailDelegate(QStyledItemDelegate):
    """Grid tiles of a fixed width (the thumbnail size setting)."""

    def __init__(self, tile_width: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tile_width = tile_width

    @property
    def tile_width(self) -> int:
        return self._tile_width

    def set_tile_width(self, width: int) -> None:
        self._tile_width = width

    def image_size(self) -> QSize:
        """The size thumbnails should be decoded at for this tile width."""
        return QSize(self._tile_width, round(self._tile_width * IMAGE_ASPECT))

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:  # noqa: N802
        metrics = QFontMetrics(option.font)
        text_height = metrics.height() * 2 + TEXT_GAP + 2
        image = self.image_size()
        return QSize(image.width() + 2 * MARGIN, image.height() + text_height + 2 * MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        record: AssetRow | None = index.data(AssetRole.RECORD)  # None: a row that left the catalog
        if record is None:
            return
        rect: QRect = option.rect
        palette: QPalette = option.palette
        # The style's classes once a tile is drawn: the window's first frame has none (see
        # desktop.delegates.sidebar_delegate).
        from PySide6.QtWidgets import QStyle

        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)

        tile = QRectF(rect).adjusted(1, 1, -1, -1)
        if selected or hovered:
            background = QColor(palette.color(QPalette.ColorRole.Highlight))
            background.setAlpha(60 if selected else 22)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(background)
            painter.drawRoundedRect(tile, RADIUS + 2, RADIUS + 2)

        size = self.image_size()
        image_rect = QRectF(rect.x() + MARGIN, rect.y() + MARGIN, size.width(), size.height())
        clip = QPainterPath()
        clip.addRoundedRect(image_rect, RADIUS, RADIUS)
        painter.save()
        painter.setClipPath(clip)
        image: QImage | None = index.data(AssetRole.THUMBNAIL)  # None: loading, or no cover
        if image is not None and not image.isNull():
            painter.drawImage(image_rect, image, crop_to_fill(image, image_rect))
        else:
            self._paint_placeholder(painter, image_rect, record, option.font)
        painter.restore()

        if selected:
            pen_color = palette.color(QPalette.ColorRole.Highlight)
            painter.setPen(pen_color)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            pen = painter.pen()
            pen.setWidthF(2.0)
            painter.setPen(pen)
            painter.drawRoundedRect(image_rect.adjusted(1, 1, -1, -1), RADIUS, RADIUS)

        self._paint_badges(painter, image_rect, record, option.font)
        if index.data(AssetRole.HAS_UPDATE):
            paint_update_badge(
                painter, image_rect, option.font, below_status=record.status is not FileStatus.OK
            )
        self._paint_text(painter, rect, image_rect, record, option)
        painter.restore()

    def _paint_placeholder(self, painter: QPainter, area: QRectF, record: AssetRow, font: QFont) -> None:
        """A tile per kind for files without a preview: the kind's hue and its short name."""
        # Imported with the first tile, once rows are shown: the class costs the first frame 2-3 ms to make.
        from PySide6.QtGui import QLinearGradient

        color = QColor(KIND_COLORS[record.kind])
        gradient = QLinearGradient(area.topLeft(), area.bottomRight())
        gradient.setColorAt(0.0, color.lighter(135))
        gradient.setColorAt(1.0, color.darker(160))
        painter.fillRect(area, gradient)
        glyph = QFont(font)
        glyph.setBold(True)
        glyph.setPixelSize(max(14, round(area.width() * 0.2)))
        painter.setFont(glyph)
        painter.setPen(QColor(255, 255, 255, 200))
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter, KIND_BADGES[record.kind])

    def _paint_badges(self, painter: QPainter, area: QRectF, record: AssetRow, font: QFont) -> None:
        small = QFont(font)
        small.setBold(True)
        small.setPixelSize(10)
        painter.setFont(small)
        metrics = QFontMetrics(small)
        x = area.left() + 6
        bottom = area.bottom() - 6
        for text, color in (
            (KIND_BADGES[record.kind], QColor(KIND_COLORS[record.kind])),
            (ARCHITECTURE_LABELS[record.architecture], QColor(20, 20, 24, 190)),
        ):
            width = metrics.horizontalAdvance(text) + 10
            if x + width > area.right() - 6:
                break
            badge = QRectF(x, bottom - metrics.height() - 2, width, metrics.height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
            x += width + 4
        if record.status is not FileStatus.OK:
            text = STATUS_LABELS[record.status].upper()
            width = metrics.horizontalAdvance(text) + 10
            badge = QRectF(area.left() + 6, area.top() + 6, width, metrics.height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#dc2626"))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        if record.favorite:
            heart = QFont(font)
            heart.setPixelSize(16)
            painter.setFont(heart)
            spot = QRectF(area.right() - 26, area.top() + 4, 22, 22)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 110))
            painter.drawEllipse(spot)
            painter.setPen(QColor("#f43f5e"))
            painter.drawText(spot, Qt.AlignmentFlag.AlignCenter, "♥")

    def _paint_text(
        self,
        painter: QPainter,
        rect: QRect,
        image_rect: QRectF,
        record: AssetRow,
        option: QStyleOptionViewItem,
    ) -> None:
        palette: QPalette = option.palette
        font = QFont(option.font)
        font.setBold(True)
        metrics = QFontMetrics(font)
        width = int(image_rect.width()) - 2
        top = int(image_rect.bottom()) + TEXT_GAP
        name_rect = QRect(int(image_rect.left()) + 1, top, width, metrics.height())
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        # Not clipped to the font's height: characters from fallback fonts (CJK) have a taller line, and
        # clipped there "像素_art" lost its underscore.
        line = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextDontClip
        painter.drawText(
            name_rect,
            line,
            metrics.elidedText(display_title(record), Qt.TextElideMode.ElideRight, width),
        )
        font.setBold(False)
        painter.setFont(font)
        detail = tile_detail(record)
        if detail:
            muted = QColor(palette.color(QPalette.ColorRole.Text))
            muted.setAlpha(150)
            painter.setPen(muted)
            detail_rect = name_rect.translated(0, metrics.height())
            painter.drawText(
                detail_rect, line, QFontMetrics(font).elidedText(detail, Qt.TextElideMode.ElideRight, width)
            )


def paint_update_badge(painter: QPainter, area: QRectF, font: QFont, *, below_status: bool) -> None:
    """The "UPDATE" badge at the tile's top left (under a status badge): a newer Civitai version exists."""
    small = QFont(font)
    small.setBold(True)
    small.setPixelSize(10)
    painter.setFont(small)
    metrics = QFontMetrics(small)
    text = "↑ UPDATE"
    height = metrics.height() + 2
    top = area.top() + 6 + (height + 4 if below_status else 0)
    badge = QRectF(area.left() + 6, top, metrics.horizontalAdvance(text) + 10, height)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(UPDATE_COLOR))
    painter.drawRoundedRect(badge, 4, 4)
    painter.setPen(QColor("white"))
    painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)


def crop_to_fill(image: QImage, target: QRectF) -> QRectF:
    """The centred part of ``image`` with the target's aspect ratio (object-fit: cover).

    Whole pixels only: a fractional source edge makes the smooth transform blend in the neighbouring
    (outside) pixels and leaves a faint line along the tile's edge.
    """
    if target.height() <= 0 or image.height() <= 0:
        return QRectF(image.rect())
    target_aspect = target.width() / target.height()
    width, height = image.width(), image.height()
    if width / height > target_aspect:
        new_width = max(1, round(height * target_aspect))
        return QRectF((width - new_width) // 2, 0, new_width, height)
    new_height = max(1, round(width / target_aspect))
    return QRectF(0, (height - new_height) // 3, width, new_height)  # bias up: faces sit high in renders
