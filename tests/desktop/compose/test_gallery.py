"""The renders gallery keeps each render's shape in its square cell (no squashed thumbnails)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
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
