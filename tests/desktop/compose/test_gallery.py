"""The renders gallery keeps each render's shape in its square cell (no squashed thumbnails)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from pytestqt.qtbot import QtBot

from catalog.records import RenderKind, RenderRecord
from desktop.compose.gallery import THUMBNAIL_SIZE, GalleryView, RendersModel
from desktop.thumbnails import ThumbnailCache
from tests.desktop.conftest import PopulatedLibrary, write_png


def _record(render_id: int, path: Path, width: int, height: int) -> RenderRecord:
    return RenderRecord(
        id=render_id,
        created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        path=str(path),
        width=width,
        height=height,
        seed=1,
        recipe={},
        infotext="a cat",
        elapsed=1.0,
        device="cpu",
        kind=RenderKind.IMAGE,
    )


def test_thumbnails_keep_their_aspect_ratio(
    tmp_path: Path, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    portrait = write_png(tmp_path / "portrait.png", 512, 768)
    landscape = write_png(tmp_path / "landscape.png", 768, 512)
    cache = ThumbnailCache(tmp_path / "cache", THUMBNAIL_SIZE)
    model = RendersModel(cache)
    # The view is laid out before any thumbnail is loaded, as in the window.
    view = GalleryView(model, populated.library)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    model.set_records([_record(1, portrait, 512, 768), _record(2, landscape, 768, 512)])
    loaded: set[str] = set()
    cache.loaded.connect(loaded.add)
    for row in (0, 1):
        model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)  # asks for the thumbnail
    qtbot.waitUntil(lambda: len(loaded) == 2, timeout=5000)
    sizes = []
    for row in (0, 1):
        icon = model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)
        assert isinstance(icon, QIcon)
        (size,) = icon.availableSizes()
        sizes.append((size.width(), size.height()))
    assert sizes == [(74, 112), (112, 74)]  # inside the 112 px cell, 2:3 and 3:2 as rendered
    # Every cell is the full cell, also the one measured before its thumbnail arrived.
    for row in (0, 1):
        rect = view.visualRect(model.index(row, 0))
        assert rect.height() >= THUMBNAIL_SIZE.height()


def test_the_selected_render_is_framed_not_tinted(
    tmp_path: Path, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    """Qt's Selected icon mode washed the chosen render in the selection colour (its pixels unchanged):
    a render is judged by its colours, so it shows as it is, with a frame in the selection colour."""
    color = QColor("#cc3333")
    image = write_png(tmp_path / "red.png", 128, 128, color.name())
    cache = ThumbnailCache(tmp_path / "cache", THUMBNAIL_SIZE)
    model = RendersModel(cache)
    view = GalleryView(model, populated.library)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    model.set_records([_record(1, image, 128, 128)])
    loaded: set[str] = set()
    cache.loaded.connect(loaded.add)
    model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: len(loaded) == 1, timeout=5000)
    rect = view.visualRect(model.index(0, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.selectionModel().isSelected(model.index(0, 0))
    shot = view.viewport().grab().toImage()
    middle = QPoint(rect.center().x(), rect.top() + 8 + THUMBNAIL_SIZE.height() // 2)
    assert shot.pixelColor(middle).name() == color.name()  # the render's own colour, untinted
    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    assert shot.pixelColor(QPoint(rect.center().x(), rect.top() + 2)).name() == highlight.name()  # the frame
