"""Paints sidebar entries with their count right-aligned and muted, the name elided before it.

The count lives in ``SidebarRole.COUNT`` rather than in the text so that a long tag or folder name is
elided while the number stays readable, and selection and hover are still drawn by the style.
Headings are drawn by Qt's own delegate in the muted colour: they are all the window's first frame shows
here, and so it is drawn without the style's Python classes (see ``paint``).
The folder a drag of library rows rests on (the view's ``drop_target``) is drawn highlighted, so the user
sees where the files will go before letting go.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from desktop.models.sidebar_model import SidebarRole
from desktop.qt_namespace import Qt

AnyIndex = QModelIndex | QPersistentModelIndex
COUNT_GAP = 8
# Where an entry's text starts in the style's text rect: where Qt's own delegate starts a heading's (Fusion's
# text margin), so both line up; resources/style.qss pads the items' left side to match.
TEXT_INSET = 3


class SidebarDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        if index.data(SidebarRole.IS_SECTION):
            _paint_heading(self, painter, option, index)
            return
        # The style's classes only once an entry is drawn: the first frame's sidebar shows headings alone,
        # and PySide makes its QStyle type (hundreds of enum members, ~8 ms) on first use.
        from PySide6.QtWidgets import QApplication, QStyle

        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        if _is_drop_target(widget, index):
            _paint_drop_target(painter, opt)

        area: QRect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        area = area.adjusted(TEXT_INSET, 0, -6, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = opt.palette
        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        metrics = opt.fontMetrics
        painter.save()
        painter.setFont(opt.font)
        count = index.data(SidebarRole.COUNT)
        if isinstance(count, int) and not index.data(SidebarRole.IS_SECTION):
            count_text = f"{count:,}"
            muted = QColor(text_color)
            muted.setAlpha(200 if selected else 130)
            painter.setPen(muted)
            painter.drawText(
                area, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), count_text
            )
            area.setRight(area.right() - metrics.horizontalAdvance(count_text) - COUNT_GAP)
        if (index.data(SidebarRole.NOT_HERE) or index.data(SidebarRole.NOT_FOUND)) and not selected:
            # A shared folder not mapped on this computer, or a folder not there now (in italics: see
            # SidebarModel), muted as headings.
            section_color = QColor(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.setPen(section_color)
        else:
            painter.setPen(text_color)
        painter.drawText(
            area,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width()),
        )
        painter.restore()


def _paint_heading(
    delegate: QStyledItemDelegate, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex
) -> None:
    """A section's heading, in the muted placeholder colour, drawn by Qt's own delegate: its text starts
    where an entry's does (the style's text margin plus the sheet's padding, see ``TEXT_INSET``)."""
    opt = QStyleOptionViewItem(option)
    palette = opt.palette  # the copy's own (QPalette(...) would build PySide's Qt namespace)
    palette.setColor(QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.PlaceholderText))
    opt.palette = palette
    QStyledItemDelegate.paint(delegate, painter, opt, index)


def _is_drop_target(widget: object, index: AnyIndex) -> bool:
    target = getattr(widget, "drop_target", None)
    return isinstance(target, QPersistentModelIndex) and target.isValid() and target == index


def _paint_drop_target(painter: QPainter, opt: QStyleOptionViewItem) -> None:
    """A tinted fill and a frame in the highlight colour: "the files go here"."""
    accent = QColor(opt.palette.color(QPalette.ColorRole.Highlight))
    fill = QColor(accent)
    fill.setAlpha(70)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(fill)
    painter.setPen(QPen(accent, 2))
    painter.drawRoundedRect(QRect(opt.rect).adjusted(1, 1, -1, -1), 4, 4)
    painter.restore()
