"""The renders gallery keeps each render's shape in its square cell (no squashed thumbnails)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from catalog.records import RenderKind, RenderRecord
from desktop.compose.gallery import THUMBNAIL_SIZE, RendersModel
from desktop.thumbnails import ThumbnailCache
from tests.desktop.conftest import write_png


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


def test_thumbnails_keep_their_aspect_ratio(tmp_path: Path, qtbot: QtBot) -> None:
    portrait = write_png(tmp_path / "portrait.png", 512, 768)
    landscape = write_png(tmp_path / "landscape.png", 768, 512)
    cache = ThumbnailCache(tmp_path / "cache", THUMBNAIL_SIZE)
    model = RendersModel(cache)
    model.set_records([_record(1, portrait, 512, 768), _record(2, landscape, 768, 512)])
    for row in (0, 1):
        index = model.index(row, 0)
        if model.data(index, Qt.ItemDataRole.DecorationRole) is None:
            with qtbot.waitSignal(cache.loaded, timeout=5000):
                pass
    sizes = []
    for row in (0, 1):
        image = model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)
        assert isinstance(image, QImage)
        sizes.append((image.width(), image.height()))
    assert sizes == [(74, 112), (112, 74)]  # inside the 112 px cell, 2:3 and 3:2 as rendered
