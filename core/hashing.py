"""Every hash this ecosystem uses, computed in one pass over a file's bytes.

Model files are gigabytes, and a library holds hundreds of them, so each byte is read exactly once. The
file is read into a small ring of preallocated buffers by the calling thread while one thread per hash
(SHA-256, the AutoV3 SHA-256 of the safetensors data section, BLAKE3, CRC32) consumes each buffer. The
C implementations of all of them release the GIL on large buffers, so the hashes run in parallel with
each other and with the read of the next chunk; the Python work per chunk is a few queue operations.
SHA-256 is the slowest of them (about 1.6 GiB/s on one core with SHA-NI) and bounds the throughput; a
safetensors file needs two independent SHA-256 streams (the whole file and the data section after the
header), which is the price of AutoV3 and cannot be shared: the two streams start at different offsets.

AutoV1 and AutoV3's header are picked out of the chunks as they pass, so no second read happens.

Definitions (see FORMATS-AND-APIS.md section D): AutoV1 = first 8 hex of the SHA-256 of the 64 KiB at
offset 1 MiB, None for files under 2 MiB; AutoV2 = first 10 hex of the SHA-256; AutoV3 = SHA-256 of the
bytes after the safetensors header (offset 8 + N to the end, N being the little-endian u64 at offset 0);
CRC32 = zlib's CRC-32 with its 4 bytes rendered little-endian, as Civitai does. Everything is uppercase.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, cast

import blake3

from core.file_hashes import FileHashes
from core.formats.safe_open import open_regular
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback

try:  # ISA-L's CRC32 is the same function as zlib's, about 6x faster (PCLMULQDQ); optional.
    from isal.isal_zlib import crc32 as _crc32

    CRC32_IMPLEMENTATION = "isal"
except ImportError:  # pragma: no cover - depends on the environment
    from zlib import crc32 as _crc32

    CRC32_IMPLEMENTATION = "zlib"

MIB = 1 << 20
DEFAULT_CHUNK_SIZE = 8 * MIB
MIN_CHUNK_SIZE = 4096
AUTOV1_OFFSET = 0x100000
AUTOV1_LENGTH = 0x10000
AUTOV1_MIN_FILE_SIZE = 0x200000
AUTOV3_SHORT_LENGTH = 12
# safetensors itself refuses headers over 100 MB; anything larger is not a safetensors file.
SAFETENSORS_MAX_HEADER = 100_000_000
# How many chunks may be in flight: one being read, the others being hashed. Two would already overlap
# the read with hashing; a third absorbs jitter between the hash threads.
_PIPELINE_BUFFERS = 3
# Files hashed at once unless the caller says otherwise: one per core (every hash function here releases
# the GIL on large buffers, so threads put every core to work; measured by bench/bench_hash_many.py), at
# least two so one file's open and first read overlap another's hashing, at most eight (a disk's queue).
DEFAULT_WORKERS = max(2, min(8, os.cpu_count() or 2))
# How often hash_files wakes up to forward progress and notice a cancel while no file finishes.
_POLL_SECONDS = 0.05


def short_autov3(autov3: str) -> str:
    """The 12-hex form of an AutoV3 that Civitai displays and A1111 uses as a LoRA's short hash.

    FileHashes keeps the full digest because kohya's ``sshs_model_hash`` metadata holds the full value and
    comparing against it needs all 64 digits; the short form is only for display and Civitai look-ups.
    """
    return autov3[:AUTOV3_SHORT_LENGTH].upper()


def render_crc32(crc: int) -> str:
    """Render a zlib CRC-32 as Civitai does: its 4 bytes in little-endian order, uppercase hex.

    Civitai's scanner uses .NET's ``Crc32.GetCurrentHash``, which returns the bytes little-endian, so
    "hello world" (zlib 0x0D4A1185) shows as ``85114A0D``; rendering the integer would not match.
    """
    return crc.to_bytes(4, "little").hex().upper()


class _Updatable(Protocol):
    def update(self, data: memoryview, /) -> object: ...


class _Crc32:
    """A CRC-32 with the ``update`` interface of the hashlib objects, so every lane is driven alike."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: memoryview, /) -> None:
        self.value = _crc32(data, self.value)


class _FileScan:
    """Per-file state that is not a streaming hash: the AutoV1 window and the safetensors header.

    Fed every chunk in file order by the reading thread; cheap (it only copies 64 KiB once and looks at
    the first 9 bytes), so it does not need a lane of its own.
    """

    def __init__(self, file_size: int) -> None:
        self.file_size = file_size
        self.autov1_window = bytearray()
        # Offset where AutoV3's data section starts, or None while unknown / when not a safetensors file.
        self.data_start: int | None = None
        self.header_checked = False

    def feed(self, offset: int, chunk: memoryview) -> memoryview | None:
        """Record what this chunk holds of the AutoV1 window; return its part in the AutoV3 data section."""
        end = offset + len(chunk)
        lo = max(offset, AUTOV1_OFFSET)
        hi = min(end, AUTOV1_OFFSET + AUTOV1_LENGTH)
        if lo < hi:
            self.autov1_window += chunk[lo - offset : hi - offset]
        if not self.header_checked:
            # Chunks are at least MIN_CHUNK_SIZE and read in full, so the first one holds bytes 0..8.
            self.header_checked = True
            self.data_start = _safetensors_data_start(bytes(chunk[:9]), self.file_size)
        if self.data_start is None or end <= self.data_start:
            return None
        return chunk[max(0, self.data_start - offset) :]

    def autov1(self) -> str | None:
        if self.file_size < AUTOV1_MIN_FILE_SIZE:
            return None
        return hashlib.sha256(self.autov1_window).hexdigest()[:8].upper()


def _safetensors_data_start(head: bytes, file_size: int) -> int | None:
    """Where a safetensors file's data section starts, or None when the file is not a safetensors file.

    Only the container's framing is checked (a sane header length that fits in the file and a header that
    opens a JSON object): AutoV3 is defined on the framing, and parsing a header of up to 100 MB here would
    cost more than it tells. ``core.formats`` is where a broken header is diagnosed.
    """
    if len(head) < 9 or head[8:9] != b"{":
        return None
    header_len = int.from_bytes(head[:8], "little")
    if header_len < 2 or header_len > SAFETENSORS_MAX_HEADER or 8 + header_len > file_size:
        return None
    return 8 + header_len


class _RawFile(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def _read_full(fileobj: _RawFile, view: memoryview) -> int:
    """Fill ``view`` unless the file ends first; a raw read may legally return fewer bytes than asked."""
    filled = 0
    while filled < len(view):
        n = fileobj.readinto(view[filled:])
        if not n:
            break
        filled += n
    return filled


class _Lane(threading.Thread):
    """One hash fed by a queue of chunks; each chunk it finishes is reported back to the pipeline."""

    def __init__(self, hasher: _Updatable, release: Callable[[int], None], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.hasher = hasher
        self.inbox: queue.SimpleQueue[tuple[int, memoryview | None] | None] = queue.SimpleQueue()
        self._release = release
        self.error: BaseException | None = None
        self.stopping = False

    def run(self) -> None:
        while (item := self.inbox.get()) is not None:
            index, view = item
            try:
                if view is not None and self.error is None and not self.stopping:
                    self.hasher.update(view)
            except BaseException as exc:  # handed to the reading thread, re-raised there
                self.error = exc
            finally:
                self._release(index)


class _Pipeline:
    """The ring of buffers shared by the reading thread and the hash lanes.

    A buffer goes back to the free queue when the last lane is done with it, so the reader blocks only
    when every buffer is still being hashed, which is exactly the back-pressure wanted.
    """

    def __init__(self, chunk_size: int, hashers: dict[str, _Updatable]) -> None:
        self.buffers = [bytearray(chunk_size) for _ in range(_PIPELINE_BUFFERS)]
        self.views = [memoryview(b) for b in self.buffers]
        self.free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(_PIPELINE_BUFFERS):
            self.free.put(index)
        self._pending = [0] * _PIPELINE_BUFFERS
        self._lock = threading.Lock()
        self.lanes = {name: _Lane(h, self._release, f"hash-{name}") for name, h in hashers.items()}
        for lane in self.lanes.values():
            lane.start()

    def _release(self, index: int) -> None:
        with self._lock:
            self._pending[index] -= 1
            last = self._pending[index] == 0
        if last:
            self.free.put(index)

    def dispatch(self, index: int, views: dict[str, memoryview | None]) -> None:
        with self._lock:
            self._pending[index] = len(self.lanes)
        for name, lane in self.lanes.items():
            lane.inbox.put((index, views[name]))

    def raise_lane_error(self) -> None:
        for lane in self.lanes.values():
            if lane.error is not None:
                raise lane.error

    def close(self, *, abandon: bool) -> None:
        """Stop the lanes; with ``abandon`` they skip the chunks still queued (cancel, error)."""
        for lane in self.lanes.values():
            lane.stopping = abandon
            lane.inbox.put(None)
        for lane in self.lanes.values():
            lane.join()


def hash_file(
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> FileHashes:
    """Compute every hash of ``path`` reading it once.

    ``progress`` receives the number of bytes read so far, once per chunk, from the calling thread.
    ``cancel`` is polled once per chunk; CancelledError is raised within one chunk's time. OSError from
    opening or reading the file propagates unchanged.
    """
    if chunk_size < MIN_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be at least {MIN_CHUNK_SIZE} bytes, got {chunk_size}")
    # Never a FIFO or device swapped in after the scan: reading one would block or never end.
    with open_regular(path, buffering=0) as fileobj:
        file_size = os.fstat(fileobj.fileno()).st_size
        if hasattr(os, "posix_fadvise"):
            # Doubles the kernel's read-ahead on Linux: helps cold reads from disk, costs nothing warm.
            os.posix_fadvise(fileobj.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        if file_size <= chunk_size:
            # Small files (embeddings, most sidecar-sized models) are hashed inline: starting threads
            # would cost more than the hashing itself.
            return _hash_inline(cast("_RawFile", fileobj), file_size, progress, cancel)
        return _hash_pipelined(cast("_RawFile", fileobj), file_size, chunk_size, progress, cancel)


class _WholeFileHashers:
    """The hashes that see every byte of the file."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.blake3 = blake3.blake3()
        self.crc32 = _Crc32()

    def lanes(self) -> dict[str, _Updatable]:
        return {"sha256": self.sha256, "blake3": self.blake3, "crc32": self.crc32}

    def finish(self, scan: _FileScan, autov3: hashlib._Hash | None) -> FileHashes:
        sha256 = self.sha256.hexdigest().upper()
        return FileHashes(
            sha256=sha256,
            blake3=self.blake3.hexdigest().upper(),
            crc32=render_crc32(self.crc32.value),
            autov1=scan.autov1(),
            autov2=sha256[:10],
            autov3=autov3.hexdigest().upper() if autov3 is not None else None,
        )


def _hash_inline(
    fileobj: _RawFile,
    file_size: int,
    progress: Callable[[int], None] | None,
    cancel: CancelToken | None,
) -> FileHashes:
    hashers = _WholeFileHashers()
    lanes = hashers.lanes().values()
    scan = _FileScan(file_size)
    autov3: hashlib._Hash | None = None
    view = memoryview(bytearray(max(file_size, MIN_CHUNK_SIZE)))
    done = 0
    while True:
        if cancel is not None:
            cancel.raise_if_cancelled()
        n = _read_full(fileobj, view)
        if not n:
            break
        chunk = view[:n]
        data_part = scan.feed(done, chunk)
        for hasher in lanes:
            hasher.update(chunk)
        if data_part is not None:
            if autov3 is None:
                autov3 = hashlib.sha256()
            autov3.update(data_part)
        done += n
        if progress is not None:
            progress(done)
    scan.file_size = done
    if autov3 is None and scan.data_start is not None and scan.data_start <= done:
        autov3 = hashlib.sha256()  # a safetensors file with an empty data section
    if scan.data_start is not None and scan.data_start > done:
        autov3 = None  # the file shrank under us: its header now points past the end
    return hashers.finish(scan, autov3)


def _hash_pipelined(
    fileobj: _RawFile,
    file_size: int,
    chunk_size: int,
    progress: Callable[[int], None] | None,
    cancel: CancelToken | None,
) -> FileHashes:
    hashers = _WholeFileHashers()
    scan = _FileScan(file_size)
    # The AutoV3 lane is always started: whether the file is a safetensors file is known only after the
    # first read, and an idle thread costs nothing.
    autov3 = hashlib.sha256()
    pipeline = _Pipeline(chunk_size, {**hashers.lanes(), "autov3": autov3})
    done = 0
    abandon = True
    try:
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            index = pipeline.free.get()
            pipeline.raise_lane_error()
            n = _read_full(fileobj, pipeline.views[index])
            if not n:
                pipeline.free.put(index)
                break
            chunk = pipeline.views[index][:n]
            data_part = scan.feed(done, chunk)
            views: dict[str, memoryview | None] = {"sha256": chunk, "blake3": chunk, "crc32": chunk}
            views["autov3"] = data_part
            pipeline.dispatch(index, views)
            done += n
            if progress is not None:
                progress(done)
        abandon = False
    finally:
        pipeline.close(abandon=abandon)
    pipeline.raise_lane_error()
    scan.file_size = done
    is_safetensors = scan.data_start is not None and scan.data_start <= done
    return hashers.finish(scan, autov3 if is_safetensors else None)


def hash_files(
    paths: Sequence[Path],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[tuple[Path, FileHashes | OSError]]:
    """Hash several files concurrently, yielding ``(path, hashes)`` in the order they finish.

    Several files at a time (``DEFAULT_WORKERS``: one per core) keep the disk and every core busy: the
    hash functions release the GIL, so threads suffice, and one file's hashing overlaps the next one's
    open and first read. A file that cannot be read
    yields its OSError and the others go on. ``progress`` gets total bytes done / total bytes of all
    files, and is called from the iterating thread only, so a GUI adapter needs no locking. Cancelling
    ``cancel`` (or closing the iterator) stops every running file within a chunk and raises CancelledError.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    sizes = [_size_or_zero(p) for p in paths]
    total = sum(sizes)
    stop = CancelToken()
    done_by_index = [0] * len(paths)
    results: queue.SimpleQueue[tuple[int, FileHashes | BaseException]] = queue.SimpleQueue()

    def work(index: int) -> None:
        def on_bytes(n: int) -> None:
            done_by_index[index] = n  # one writer per slot; the reader sums a snapshot

        try:
            outcome: FileHashes | BaseException = hash_file(paths[index], progress=on_bytes, cancel=stop)
        except BaseException as exc:  # every outcome goes to the iterating thread
            outcome = exc
        else:
            done_by_index[index] = sizes[index]
        results.put((index, outcome))

    executor = ThreadPoolExecutor(max_workers=min(workers, max(1, len(paths))), thread_name_prefix="hash")
    futures: list[Future[None]] = [executor.submit(work, i) for i in range(len(paths))]
    remaining = len(paths)
    reported = -1
    try:
        while remaining:
            if cancel is not None and cancel.cancelled:
                stop.cancel()
                raise CancelledError
            try:
                index, outcome = results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                index, outcome = -1, None
            done = sum(done_by_index)
            if progress is not None and done != reported:
                reported = done
                progress(Progress(done, total, paths[index].name if index >= 0 else ""))
            if outcome is None:
                continue
            remaining -= 1
            if isinstance(outcome, CancelledError):
                stop.cancel()
                raise CancelledError
            if isinstance(outcome, FileHashes | OSError):
                yield paths[index], outcome
            else:
                stop.cancel()
                raise outcome
    finally:
        stop.cancel()
        for future in futures:
            future.cancel()
        executor.shutdown(wait=True)


def _size_or_zero(path: Path) -> int:
    """A file's size for the progress total; an unreadable file counts 0 and reports its error later."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
