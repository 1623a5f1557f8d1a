"""Remote preview images (Civitai covers and examples): fetched and decoded off the GUI thread.

``RemoteImageCache.get(url, nsfw_level)`` never blocks: it returns the image when it is in memory,
otherwise starts one load on a pool thread and returns None; ``loaded(url)`` fires when it is ready.
The fetched bytes are kept on disk content-addressed (SHA-256 of the URL) under the cache dir, so a second
search or a restart does not download them again.

Images above the user's NSFW level are blurred *in the worker*, on the ``QImage``, before they ever reach
the GUI: the sharp pixels are never painted, and no ``QPixmap`` is created off the GUI thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QRunnable, QSize, QThreadPool, Signal
from PySide6.QtGui import QImage

from desktop.qt_namespace import Qt

log = logging.getLogger(__name__)

FetchBytes = Callable[[str], bytes]
BLUR_FACTOR = 24  # the image is shrunk by this much and scaled back: unrecognisable, colours kept
MEMORY_ITEMS = 400


def blur(image: QImage, factor: int = BLUR_FACTOR) -> QImage:
    """A heavy blur by downscaling then smoothly upscaling; cheap and safe on any thread."""
    if image.isNull():
        return image
    small = image.scaled(
        max(1, image.width() // factor),
        max(1, image.height() // factor),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    return small.scaled(
        image.width(),
        image.height(),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def needs_blur(nsfw_level: int | None, max_level: int) -> bool:
    """Whether an image of Civitai level ``nsfw_level`` (1 PG ... 16 XXX) is above what the user allows."""
    return nsfw_level is not None and nsfw_level > max_level


def cache_path(cache_dir: Path, url: str) -> Path:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return cache_dir / digest[:2] / digest


def load_remote_image(
    url: str, fetch: FetchBytes, cache_dir: Path | None, size: QSize, blurred: bool
) -> QImage | None:
    """Bytes from the disk cache or ``fetch`` -> a QImage fitting ``size`` (blurred if asked); on a worker."""
    stored = cache_path(cache_dir, url) if cache_dir is not None else None
    data: bytes | None = None
    if stored is not None and stored.is_file():
        with contextlib.suppress(OSError):
            data = stored.read_bytes()
    if data is None:
        try:
            data = fetch(url)
        except Exception as exc:  # a preview that cannot be fetched shows the placeholder, nothing more
            log.debug("cannot fetch %s: %s", url, exc)
            return None
        if stored is not None:
            _store(stored, data)
    image = QImage.fromData(QByteArray(data))
    if image.isNull():
        return None
    if image.width() > size.width() or image.height() > size.height():
        image = image.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return blur(image) if blurred else image


def _store(target: Path, data: bytes) -> None:
    """Atomic write (temp + rename): a crash never leaves a truncated entry that would be trusted."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        temp.write_bytes(data)
        temp.replace(target)
    except OSError as exc:
        log.warning("cannot write image cache %s: %s", target, exc)


class _Signals(QObject):
    done = Signal(str, object)  # key, QImage | None


class _Load(QRunnable):
    """``args`` are ``load_remote_image``'s: (url, fetch, cache_dir, size, blurred)."""

    def __init__(
        self, key: str, args: tuple[str, FetchBytes, Path | None, QSize, bool], signals: _Signals
    ) -> None:
        super().__init__()
        self._args = args
        self._key = key
        self._signals = signals

    def run(self) -> None:
        image = load_remote_image(*self._args)
        with contextlib.suppress(RuntimeError):  # the cache was deleted while this ran
            self._signals.done.emit(self._key, image)


class RemoteImageCache(QObject):
    """Memory LRU over the disk cache; ``loaded(url)`` fires when an image requested by ``get`` is ready."""

    loaded = Signal(str)

    def __init__(
        self,
        fetch: FetchBytes,
        cache_dir: Path | None,
        size: QSize,
        *,
        max_level: Callable[[], int],
        parent: QObject | None = None,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__(parent)
        self._fetch = fetch
        self._cache_dir = cache_dir
        self._size = QSize(size)
        self._max_level = max_level
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._pool = pool if pool is not None else QThreadPool.globalInstance()
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)

    def _key(self, url: str, nsfw_level: int | None) -> str:
        return f"{'B' if needs_blur(nsfw_level, self._max_level()) else 'S'}{url}"

    def get(self, url: str, nsfw_level: int | None = None) -> QImage | None:
        """The image if ready (blurred when above the NSFW level), else starts loading it once."""
        if not url:
            return None
        key = self._key(url, nsfw_level)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            blurred = key.startswith("B")
            args = (url, self._fetch, self._cache_dir, QSize(self._size), blurred)
            self._pool.start(_Load(key, args, self._signals))
        return None

    def _on_done(self, key: str, image: QImage | None) -> None:
        self._pending.discard(key)
        if image is None:
            self._failed.add(key)
            return
        self._images[key] = image
        while len(self._images) > MEMORY_ITEMS:
            self._images.popitem(last=False)
        self.loaded.emit(key[1:])

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Waits for the pool (tests and shutdown only)."""
        return self._pool.waitForDone(timeout_ms)
