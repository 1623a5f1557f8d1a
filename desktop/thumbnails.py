"""Preview thumbnails: decoded and scaled off the GUI thread, kept in memory and on disk.

A library grid shows hundreds of tiles whose covers are multi-megabyte PNGs from Civitai. Decoding them
on the GUI thread would freeze scrolling, so ``ThumbnailCache.get`` never blocks: it returns the image if
it is in memory, otherwise queues a load on a pool thread and returns None; ``loaded`` fires when the
image is ready so the model can repaint the row that shows it.

The loader uses ``QImageReader.setScaledSize`` so a 2048 px PNG is decoded at tile size, and writes the
result to a content-addressed disk cache (key: path + mtime + size + target size), so the next start
skips decoding entirely and an edited preview never shows stale.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import OrderedDict
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QSize, QThreadPool, Signal

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

DEFAULT_MEMORY_ITEMS = 600
MAX_PREVIEW_BYTES = 64 * 1024 * 1024  # a preview image is a few MB; more is not a preview


def _cache_key(path: Path, size: QSize) -> str | None:
    """Content address of one thumbnail; None when the source file is gone."""
    import hashlib  # with the first thumbnail (on a pool thread), not before the window's first frame

    try:
        stat = path.stat()
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    if not S_ISREG(stat.st_mode):
        return None  # a named pipe or device called like a preview is never opened
    raw = f"{resolved}\0{stat.st_mtime_ns}\0{stat.st_size}\0{size.width()}x{size.height()}"
    # A name that is not UTF-8 (lone surrogates) still has one key.
    return hashlib.sha1(raw.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()


def _fill_size(source: QSize, target: QSize) -> QSize:
    """The scaled size that covers ``target`` entirely (the delegate crops the overflow)."""
    if source.isEmpty():
        return target
    scale = max(target.width() / source.width(), target.height() / source.height())
    scale = min(scale, 1.0)  # never upscale: a small preview stays small and sharp
    return QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))


def load_thumbnail(path: Path, size: QSize, cache_dir: Path | None) -> QImage | None:
    """Reads one thumbnail, from the disk cache when possible; runs on a pool thread.

    Returns None when the file cannot be decoded (missing, not an image); the caller shows the kind's
    placeholder tile instead.
    """
    # The decoding classes with the first thumbnail, not before the window's first frame.
    from PySide6.QtCore import QBuffer, QByteArray
    from PySide6.QtGui import QImage, QImageReader

    key = _cache_key(path, size)
    if key is None:
        return None
    cached = cache_dir / key[:2] / f"{key}.png" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        image = QImage(str(cached))
        if not image.isNull():
            return image
    # The model-file readers (and msgspec) on this worker thread, when a first preview is read: not
    # before the window's first paint.
    from core.formats.model_file import FormatError
    from core.formats.safe_open import read_regular

    try:
        # Read through safe_open (a file swapped for a pipe never blocks this thread), and from memory, so
        # a name that is not UTF-8 needs no QString; Qt's allocation limit refuses decompression bombs.
        data = read_regular(path, MAX_PREVIEW_BYTES)
    except (OSError, ValueError, FormatError):
        return None
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    source_size = reader.size()
    if source_size.isValid():
        reader.setScaledSize(_fill_size(source_size, size))
    image = reader.read()
    if image.isNull():
        log.debug("cannot decode preview %s: %s", path, reader.errorString())
        return None
    if not source_size.isValid():  # formats that only know their size after decoding
        image = image.scaled(_fill_size(image.size(), size))
    if cached is not None:
        _store(cached, image)
    return image


def _store(target: Path, image: QImage) -> None:
    """Writes atomically (temp + rename) so a crash never leaves a truncated cache entry."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.png")  # the suffix picks the format
        if image.save(str(temp)):
            temp.replace(target)
        else:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot write thumbnail cache %s: %s", target, exc)


class _LoadSignals(QObject):
    done = Signal(str, int, object)  # path, generation, QImage | None


class _LoadTask(QRunnable):
    def __init__(
        self, path: str, size: QSize, generation: int, cache_dir: Path | None, signals: _LoadSignals
    ) -> None:
        super().__init__()
        self._path = path
        self._size = QSize(size)
        self._generation = generation
        self._cache_dir = cache_dir
        self._signals = signals

    def run(self) -> None:
        image = load_thumbnail(Path(self._path), self._size, self._cache_dir)
        # RuntimeError: the cache (and its window) was deleted while this load ran; nobody waits for it.
        with contextlib.suppress(RuntimeError):
            self._signals.done.emit(self._path, self._generation, image)


class ThumbnailCache(QObject):
    """Memory LRU + disk cache of thumbnails at one target size; ``loaded(path)`` fires per finished load.

    Failed loads are remembered (until ``clear``) so a broken preview is not retried on every repaint.
    """

    loaded = Signal(str)

    def __init__(
        self,
        cache_dir: Path | None,
        size: QSize,
        parent: QObject | None = None,
        memory_items: int = DEFAULT_MEMORY_ITEMS,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__(parent)
        self._cache_dir = cache_dir
        self._size = QSize(size)
        self._memory_items = memory_items
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._generation = 0  # bumped on every size change, so late loads of the old size are dropped
        self._pool = pool if pool is not None else QThreadPool.globalInstance()
        self._signals = _LoadSignals(self)
        self._signals.done.connect(self._on_done)

    @property
    def size(self) -> QSize:
        return QSize(self._size)

    def set_size(self, size: QSize) -> None:
        """Changes the target size (the thumbnail size setting); cached images of the old size are dropped."""
        if size == self._size:
            return
        self._size = QSize(size)
        self.clear()

    def clear(self) -> None:
        """Forgets every image and failure, e.g. after a rescan may have fixed broken previews."""
        self._generation += 1
        self._images.clear()
        self._pending.clear()
        self._failed.clear()

    def forget_failures(self) -> None:
        """Lets previews that could not be read be tried again (a scan may have replaced them)."""
        self._failed.clear()

    def get(self, path: str) -> QImage | None:
        """The thumbnail if ready; otherwise starts loading it (once) and returns None."""
        image = self._images.get(path)
        if image is not None:
            self._images.move_to_end(path)
            return image
        if path not in self._pending and path not in self._failed:
            self._pending.add(path)
            self._pool.start(_LoadTask(path, self._size, self._generation, self._cache_dir, self._signals))
        return None

    def is_pending(self, path: str) -> bool:
        return path in self._pending

    def _on_done(self, path: str, generation: int, image: QImage | None) -> None:
        if generation != self._generation:
            return
        self._pending.discard(path)
        if image is None:
            self._failed.add(path)
            return
        self._images[path] = image
        self._images.move_to_end(path)
        while len(self._images) > self._memory_items:
            self._images.popitem(last=False)
        self.loaded.emit(path)
