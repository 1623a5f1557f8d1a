"""The grid's tiles: a name in another script keeps its underscores."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from core.taxonomy import Architecture, AssetKind
from desktop.delegates.thumbnail_delegate import MARGIN, TEXT_GAP
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory, _ident, _scanned


def test_a_tiles_name_beside_cjk_keeps_its_underscore(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory
) -> None:
    """The outside tester's "像素_pixel_v2" showed as "像素 pixel v2" on its tile: the fallback font's
    taller line was clipped to the tile font's height, underscores and all."""
    (asset,) = populated.library.apply_scan_batch(
        populated.root.id,
        [_scanned(populated.root_dir, "像素_pixel_v2.safetensors", _ident(AssetKind.LORA, Architecture.SD1))],
    )
    window = MainWindow(make_services(populated.library))
    qtbot.addWidget(window)
    row = window.model.row_of(asset)
    assert row is not None
    index = window.model.index(row, 0)
    grid = window.grid
    delegate = grid.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(grid)
    option.font = grid.font()
    size = delegate.sizeHint(option, index)
    option.rect = QRect(0, 0, size.width(), size.height())
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, index)
    painter.end()

    bold = QFont(grid.font())
    bold.setBold(True)
    metrics = QFontMetrics(bold)
    left = MARGIN + 1 + metrics.horizontalAdvance("像素")
    right = MARGIN + 1 + metrics.horizontalAdvance("像素_")
    top = MARGIN + window.delegate.image_size().height() + TEXT_GAP
    inked = [
        (x, y)
        for x in range(left + 1, right - 1)
        for y in range(top, min(top + 2 * metrics.height(), image.height()))
        if QColor(image.pixel(x, y)).lightness() < 150
    ]
    assert inked, "the underscore is not painted"
    window.close()
