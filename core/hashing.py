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

The same machinery hashes a download while it arrives, in two states of some lanes each: the SHA-256
that verifies it (:data:`VERIFY_LANES`, fed from the receive buffers by ``core.downloads``) and the
catalog's others (:data:`CATALOG_LANES`, fed from the file behind the writer by
``core.download_catalog_hashes``): the catalog gets every hash of a downloaded file without reading it
back from disk, and the download never waits for hashes it does not need to be verified.

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
from core.hash_workers import DEFAULT_WORKERS
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
_HEAD_LENGTH = 9  # a safetensors file's u64 header length and the "{" that opens its JSON header
# The hash lanes a state can run. A download verifies with the SHA-256 alone while bytes arrive and
# computes the catalog's others from the file behind it (``core.download_catalog_hashes``).
ALL_LANES = frozenset({"sha256", "blake3", "crc32", "autov3"})
VERIFY_LANES = frozenset({"sha256"})
CATALOG_LANES = ALL_LANES - VERIFY_LANES
# How many chunks may be in flight: one being read, the others being hashed. Two would already overlap
# the read with hashing; a third absorbs jitter between the hash threads.
_PIPELINE_BUFFERS = 3
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

    Fed every chunk in file order by the thread that hands chunks over; cheap (it copies 64 KiB once and
    keeps the first 9 bytes), so it needs no lane of its own. The file's size is not needed up front (a
    download learns it at the end): whether the header fits in the file is decided by
    :meth:`data_start_within`.
    """

    def __init__(self) -> None:
        self.autov1_window = bytearray()
        self._head = bytearray()  # the first 9 bytes, gathered across chunks however small they come
        # Offset where AutoV3's data section starts, or None while unknown / when not a safetensors file.
        self.data_start: int | None = None

    def feed(self, offset: int, chunk: memoryview) -> memoryview | None:
        """Record what this chunk holds of the AutoV1 window; return its part in the AutoV3 data section."""
        end = offset + len(chunk)
        lo = max(offset, AUTOV1_OFFSET)
        hi = min(end, AUTOV1_OFFSET + AUTOV1_LENGTH)
        if lo < hi:
            self.autov1_window += chunk[lo - offset : hi - offset]
        if len(self._head) < _HEAD_LENGTH:
            self._head += chunk[: _HEAD_LENGTH - len(self._head)]
            if len(self._head) == _HEAD_LENGTH:
                # A data section starts at 10 at the earliest, so no chunk before this one held any of it.
                self.data_start = _safetensors_data_start(bytes(self._head))
        if self.data_start is None or end <= self.data_start:
            return None
        return chunk[max(0, self.data_start - offset) :]

    def data_start_within(self, file_size: int) -> bool:
        """Whether the file is a safetensors file: a header was found and the file holds all of it."""
        return self.data_start is not None and self.data_start <= file_size

    def autov1(self, file_size: int) -> str | None:
        if file_size < AUTOV1_MIN_FILE_SIZE:
            return None
        return hashlib.sha256(self.autov1_window).hexdigest()[:8].upper()


def _safetensors_data_start(head: bytes) -> int | None:
    """Where a safetensors file's data section starts, or None when the file is not a safetensors file.

    Only the container's framing is checked (a sane header length and a header that opens a JSON object;
    that the header fits in the file is checked once the file's size is known): AutoV3 is defined on the
    framing, and parsing a header of up to 100 MB here would cost more than it tells. ``core.formats`` is
    where a broken header is diagnosed.
    """
    if len(head) < _HEAD_LENGTH or head[8:9] != b"{":
        return None
    header_len = int.from_bytes(head[:8], "little")
    if header_len < 2 or header_len > SAFETENSORS_MAX_HEADER:
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


class HashState:
    """Every hash of the first :attr:`length` bytes of a file, fed in file order.

    The state outlives the threads that feed it: :func:`hash_file` fills one from disk, and a download
    (``core.downloads``) fills two (``lanes``: its verifying SHA-256, the catalog's others) from the
    network and its ``.part`` file, and hands the finished :class:`FileHashes` to the catalog, so no byte
    is read from disk twice. The
    hashes are the same whatever the chunking: ``tests/core/test_hashing.py`` holds a state fed in odd
    pieces to :func:`hash_file` of the same bytes.
    """

    def __init__(self, lanes: frozenset[str] = ALL_LANES) -> None:
        unknown = lanes - ALL_LANES
        if unknown or not lanes:
            raise ValueError(f"hash lanes must be some of {sorted(ALL_LANES)}, got {sorted(lanes)}")
        self.wanted = lanes
        self.sha256 = hashlib.sha256()
        self.blake3 = blake3.blake3()
        self.crc32 = _Crc32()
        # The AutoV3 stream is always kept: whether the file is a safetensors file is known only once its
        # first bytes arrive, and the stream gets bytes only past the header of one.
        self.autov3 = hashlib.sha256()
        self.scan = _FileScan()
        self.length = 0

    def lanes(self) -> dict[str, _Updatable]:
        every: dict[str, _Updatable] = {
            "sha256": self.sha256,
            "blake3": self.blake3,
            "crc32": self.crc32,
            "autov3": self.autov3,
        }
        return {name: hasher for name, hasher in every.items() if name in self.wanted}

    def split(self, chunk: memoryview) -> dict[str, memoryview | None]:
        """Account for the next ``chunk`` of the file; returns what each of this state's lanes must hash."""
        data_part = self.scan.feed(self.length, chunk)
        self.length += len(chunk)
        every = {"sha256": chunk, "blake3": chunk, "crc32": chunk, "autov3": data_part}
        return {name: view for name, view in every.items() if name in self.wanted}

    def update(self, chunk: memoryview) -> None:
        """Hash the next ``chunk`` in the calling thread (small files: no threads to start)."""
        lanes = self.lanes()
        for name, view in self.split(chunk).items():
            if view is not None:
                lanes[name].update(view)

    def sha256_hex(self) -> str:
        """The SHA-256 of the bytes fed so far, lowercase (what a download is verified against)."""
        if "sha256" not in self.wanted:
            raise ValueError("this hash state does not compute the SHA-256")
        return self.sha256.hexdigest()

    def finish(self, sha256: str | None = None) -> FileHashes:
        """Every hash of the bytes fed so far, as a file of exactly that many bytes.

        A state without the SHA-256 lane (a download's catalog hashes, :data:`CATALOG_LANES`) is given the
        SHA-256 of the same bytes, computed by the state that verified them.
        """
        if ALL_LANES - self.wanted - {"sha256"}:
            raise ValueError(f"this hash state computes only {sorted(self.wanted)}")
        if sha256 is None:
            sha256 = self.sha256_hex()
        sha256 = sha256.upper()
        is_safetensors = self.scan.data_start_within(self.length)
        return FileHashes(
            sha256=sha256,
            blake3=self.blake3.hexdigest().upper(),
            crc32=render_crc32(self.crc32.value),
            autov1=self.scan.autov1(self.length),
            autov2=sha256[:10],
            autov3=self.autov3.hexdigest().upper() if is_safetensors else None,
        )


class HashPipeline:
    """A ring of buffers one thread fills and one thread per hash of a :class:`HashState` consumes.

    The filling thread asks for a free buffer (:meth:`take`), fills it and hands the filled part over
    (:meth:`hand_over`); a buffer comes back when the last lane is done with it, so the filler waits only
    when every buffer is still being hashed (back-pressure, bounded memory). The C implementations of all
    the hashes release the GIL on large buffers, so they run in parallel with each other and with the next
    fill. :meth:`close` waits until every handed-over byte is hashed (unless ``abandon``: cancel, error)
    and raises what a lane met, so the state covers exactly the bytes handed over.
    """

    def __init__(self, state: HashState, buffer_size: int, buffers: int = _PIPELINE_BUFFERS) -> None:
        self.state = state
        self.views = [memoryview(bytearray(buffer_size)) for _ in range(buffers)]
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(buffers):
            self._free.put(index)
        self._pending = [0] * buffers
        self._lock = threading.Lock()
        self._lanes = {name: _Lane(h, self._release, f"hash-{name}") for name, h in state.lanes().items()}
        for lane in self._lanes.values():
            lane.start()

    def take(self) -> int:
        """The index of a free buffer (waits while every buffer is still being hashed)."""
        return self._free.get()

    def hand_over(self, index: int, length: int) -> None:
        """Hash the first ``length`` bytes of buffer ``index`` (the file's next bytes), then free it."""
        views = self.state.split(self.views[index][:length])
        with self._lock:
            self._pending[index] = len(self._lanes)
        for name, lane in self._lanes.items():
            lane.inbox.put((index, views[name]))

    def give_back(self, index: int) -> None:
        """Return a buffer that holds nothing to hash."""
        self._free.put(index)

    def raise_lane_error(self) -> None:
        for lane in self._lanes.values():
            if lane.error is not None:
                raise lane.error

    def close(self, *, abandon: bool = False) -> None:
        """Stop the lanes once they are done and raise what one met; with ``abandon`` (the filler is
        ending with an error of its own) they skip the chunks still queued and nothing is raised."""
        for lane in self._lanes.values():
            lane.stopping = abandon
            lane.inbox.put(None)
        for lane in self._lanes.values():
            lane.join()
        if not abandon:
            self.raise_lane_error()

    def _release(self, index: int) -> None:
        with self._lock:
            self._pending[index] -= 1
            last = self._pending[index] == 0
        if last:
            self._free.put(index)


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
        state = HashState()
        if file_size <= chunk_size:
            # Small files (embeddings, most sidecar-sized models) are hashed inline: starting threads
            # would cost more than the hashing itself.
            _hash_inline(cast("_RawFile", fileobj), state, file_size, progress, cancel)
        else:
            feed_file(
                cast("_RawFile", fileobj), state, progress=progress, cancel=cancel, chunk_size=chunk_size
            )
        return state.finish()


def _hash_inline(
    fileobj: _RawFile,
    state: HashState,
    file_size: int,
    progress: Callable[[int], None] | None,
    cancel: CancelToken | None,
) -> None:
    view = memoryview(bytearray(max(file_size, MIN_CHUNK_SIZE)))
    while True:
        if cancel is not None:
            cancel.raise_if_cancelled()
        n = _read_full(fileobj, view)
        if not n:
            return
        state.update(view[:n])
        if progress is not None:
            progress(state.length)


def feed_file(
    fileobj: _RawFile,
    state: HashState,
    *,
    until: int | None = None,
    progress: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> None:
    """Hash ``fileobj`` from its current position into ``state`` (up to ``until`` bytes of the state, or
    to the end of the file), through a :class:`HashPipeline`: the read of a chunk overlaps the hashing of
    the ones before it. ``progress``/``cancel`` as in :func:`hash_file`; a cancel leaves ``state`` unusable.
    """
    pipeline = HashPipeline(state, chunk_size)
    abandon = True
    try:
        while until is None or state.length < until:
            if cancel is not None:
                cancel.raise_if_cancelled()
            index = pipeline.take()
            pipeline.raise_lane_error()
            view = pipeline.views[index]
            if until is not None and until - state.length < len(view):
                view = view[: until - state.length]
            n = _read_full(fileobj, view)
            if not n:
                pipeline.give_back(index)
                break
            pipeline.hand_over(index, n)
            if progress is not None:
                progress(state.length)
        abandon = False
    finally:
        pipeline.close(abandon=abandon)


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
