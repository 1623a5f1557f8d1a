"""Thumbnails are decoded off the GUI thread at tile size, cached in memory and on disk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from pytestqt.qtbot import QtBot

from desktop.thumbnails import ThumbnailCache, load_thumbnail
from tests.desktop.conftest import write_png


def test_a_png_loads_scaled_to_cover_the_tile(qtbot: QtBot, tmp_path: Path) -> None:
    source = write_png(tmp_path / "cover.png", 800, 1200)
    cache = ThumbnailCache(tmp_path / "cache", QSize(100, 133))
    assert cache.get(str(source)) is None  # never blocks: the first ask starts a load
    assert cache.is_pending(str(source))
    with qtbot.waitSignal(cache.loaded, timeout=5000) as loaded:
        pass
    assert loaded.args == [str(source)]
    image = cache.get(str(source))
    assert image is not None
    assert image.width() >= 100
    assert image.height() >= 133
    assert image.width() <= 100 or image.height() <= 133
    assert not cache.is_pending(str(source))


def test_the_disk_cache_is_content_addressed(qtbot: QtBot, tmp_path: Path) -> None:
    source = write_png(tmp_path / "cover.png", 400, 400, "#00ff00")
    cache_dir = tmp_path / "cache"
    first = load_thumbnail(source, QSize(64, 64), cache_dir)
    assert first is not None
    assert first.size() == QSize(64, 64)
    entries = list(cache_dir.rglob("*.png"))
    assert len(entries) == 1
    again = load_thumbnail(source, QSize(64, 64), cache_dir)
    assert again is not None
    assert again.size() == QSize(64, 64)
    assert len(list(cache_dir.rglob("*.png"))) == 1  # same file, same size: same entry

    write_png(source, 300, 300, "#ff0000")  # the preview was replaced: a new address
    replaced = load_thumbnail(source, QSize(64, 64), cache_dir)
    assert replaced is not None
    assert replaced.pixelColor(10, 10).red() > 200
    assert len(list(cache_dir.rglob("*.png"))) == 2


def test_a_small_preview_is_not_upscaled(tmp_path: Path) -> None:
    source = write_png(tmp_path / "tiny.png", 40, 30)
    image = load_thumbnail(source, QSize(160, 213), None)
    assert image is not None
    assert image.size() == QSize(40, 30)


def test_unreadable_previews_fail_once_and_quietly(qtbot: QtBot, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    cache = ThumbnailCache(tmp_path / "cache", QSize(64, 64))
    loaded: list[str] = []
    cache.loaded.connect(loaded.append)
    assert cache.get(str(broken)) is None
    assert cache.get(str(tmp_path / "missing.png")) is None
    qtbot.waitUntil(lambda: not cache.is_pending(str(broken)), timeout=5000)
    qtbot.waitUntil(lambda: not cache.is_pending(str(tmp_path / "missing.png")), timeout=5000)
    assert cache.get(str(broken)) is None
    assert not cache.is_pending(str(broken))  # remembered as failed, not retried on each repaint
    assert loaded == []


def test_the_memory_cache_is_bounded(qtbot: QtBot, tmp_path: Path) -> None:
    sources = [write_png(tmp_path / f"p{i}.png", 20, 20) for i in range(3)]
    cache = ThumbnailCache(None, QSize(16, 16), memory_items=2)
    for source in sources:
        cache.get(str(source))
    qtbot.waitUntil(lambda: not any(cache.is_pending(str(s)) for s in sources), timeout=5000)
    kept = [s for s in sources if cache.get(str(s)) is not None]
    assert len(kept) == 2


def test_a_failed_preview_is_retried_after_forget_failures(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "later.png"
    cache = ThumbnailCache(tmp_path / "cache", QSize(32, 32))
    cache.get(str(path))
    qtbot.waitUntil(lambda: not cache.is_pending(str(path)), timeout=5000)
    write_png(path, 64, 64)  # the scan found the preview meanwhile
    assert cache.get(str(path)) is None
    assert not cache.is_pending(str(path))
    cache.forget_failures()
    with qtbot.waitSignal(cache.loaded, timeout=5000):
        cache.get(str(path))
    assert cache.get(str(path)) is not None
