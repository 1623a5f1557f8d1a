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

The same machinery hashes a download while it arrives (:class:`HashState` fed through a
:class:`HashPipeline` by ``core.downloads``): the catalog gets every hash of a downloaded file without
reading it back from disk. A download waits only for the SHA-256 it is verified against; the catalog's
lanes trail (``trailing``) and, where the machine's cores cannot keep them up with the link, are dropped
and hashed from the finished file instead (:func:`hash_dropped_lanes`): on a 2-core machine two SHA-256
streams, BLAKE3 and the receiving itself cost more CPU than a fast link leaves.

Definitions (see FORMATS-AND-APIS.md section D): AutoV1 = first 8 hex of the SHA-256 of the 64 KiB at
offset 1 MiB, None for files under 2 MiB; AutoV2 = first 10 hex of the SHA-256; AutoV3 = SHA-256 of the
bytes after the safetensors header (offset 8 + N to the end, N being the little-endian u64 at offset 0);
CRC32 = zlib's CRC-32 with its 4 bytes rendered little-endian, as Civitai does. Everything is uppercase.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
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
# How many chunks may be in flight: one being read, the others being hashed. Two would already overlap
# the read with hashing; a third absorbs jitter between the hash threads.
_PIPELINE_BUFFERS = 3
# How often hash_files wakes up to forward progress and notice a cancel while no file finishes.
_POLL_SECONDS = 0.05
# A trailing lane is dropped once this many buffers wait for it alone (one would be mere jitter between
# lanes running side by side on cores of their own).
_DROP_BEHIND_BUFFERS = 2
# The OS priority (nice) of a trailing lane's thread: it gets the CPU the download leaves idle.
_TRAILING_NICE = 19


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
    """One hash fed by a queue of chunks; each chunk it finishes is reported back to the pipeline.

    A ``trailing`` lane runs at the lowest OS priority (Linux: a thread's own nice value), so it hashes
    with the CPU the rest of the work leaves idle. Once :attr:`dropped`, it skips whatever is still
    queued: its hash has been taken away from it (:meth:`HashState.drop`) and is recomputed from the file.
    """

    def __init__(
        self, name: str, hasher: _Updatable, release: Callable[[int, str], None], *, trailing: bool = False
    ) -> None:
        super().__init__(name=f"hash-{name}", daemon=True)
        self.lane = name
        self.hasher = hasher
        self.trailing = trailing
        self.inbox: queue.SimpleQueue[tuple[int, memoryview | None] | None] = queue.SimpleQueue()
        self._release = release
        self.error: BaseException | None = None
        self.stopping = False
        self.dropped = False

    def run(self) -> None:
        if self.trailing:
            _lower_thread_priority()
        while (item := self.inbox.get()) is not None:
            index, view = item
            try:
                if view is not None and self.error is None and not self.stopping and not self.dropped:
                    self.hasher.update(view)
            except BaseException as exc:  # handed to the reading thread, re-raised there
                self.error = exc
            finally:
                self._release(index, self.lane)


def _lower_thread_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux: threads have a nice value of their own).

    Elsewhere ``setpriority`` takes a process id, and a thread id could name another process: nothing is
    done there, and a trailing lane simply competes for the CPU like any thread.
    """
    if not sys.platform.startswith("linux"):
        return
    # A sandbox that forbids it leaves the lane at normal priority, which is still correct.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _TRAILING_NICE)


class HashState:
    """Every hash of the first :attr:`length` bytes of a file, fed in file order.

    The state outlives the threads that feed it: :func:`hash_file` fills one from disk, and a download
    (``core.downloads``) fills one from the network while it writes, then from its ``.part`` file after a
    restart, and hands the finished :class:`FileHashes` to the catalog, so no byte is read twice. The
    hashes are the same whatever the chunking: ``tests/core/test_hashing.py`` holds a state fed in odd
    pieces to :func:`hash_file` of the same bytes.
    """

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.blake3 = blake3.blake3()
        self.crc32 = _Crc32()
        # The AutoV3 stream is always kept: whether the file is a safetensors file is known only once its
        # first bytes arrive, and the stream gets bytes only past the header of one.
        self.autov3 = hashlib.sha256()
        self.scan = _FileScan()
        self.length = 0
        # Lanes a download dropped because the machine could not keep them up with the link: their hash
        # restarts from the file's first byte (:func:`hash_dropped_lanes`); no pipeline feeds them.
        self.dropped: set[str] = set()

    def lanes(self) -> dict[str, _Updatable]:
        return {"sha256": self.sha256, "blake3": self.blake3, "crc32": self.crc32, "autov3": self.autov3}

    def drop(self, lane: str) -> None:
        """Stop feeding ``lane``: a fresh hash takes its place, to be computed from the whole file."""
        setattr(self, lane, _FRESH[lane]())
        self.dropped.add(lane)

    def split(self, chunk: memoryview) -> dict[str, memoryview | None]:
        """Account for the next ``chunk`` of the file; returns what each lane must hash of it."""
        data_part = self.scan.feed(self.length, chunk)
        self.length += len(chunk)
        return {"sha256": chunk, "blake3": chunk, "crc32": chunk, "autov3": data_part}

    def update(self, chunk: memoryview) -> None:
        """Hash the next ``chunk`` in the calling thread (small files: no threads to start)."""
        lanes = self.lanes()
        for name, view in self.split(chunk).items():
            if view is not None:
                lanes[name].update(view)

    def sha256_hex(self) -> str:
        """The SHA-256 of the bytes fed so far, lowercase (what a download is verified against)."""
        return self.sha256.hexdigest()

    def finish(self) -> FileHashes:
        """Every hash of the bytes fed so far, as a file of exactly that many bytes."""
        if self.dropped:
            raise RuntimeError(f"hash_dropped_lanes must hash {sorted(self.dropped)} first")
        sha256 = self.sha256.hexdigest().upper()
        is_safetensors = self.scan.data_start_within(self.length)
        return FileHashes(
            sha256=sha256,
            blake3=self.blake3.hexdigest().upper(),
            crc32=render_crc32(self.crc32.value),
            autov1=self.scan.autov1(self.length),
            autov2=sha256[:10],
            autov3=self.autov3.hexdigest().upper() if is_safetensors else None,
        )


# The lanes only the catalog needs: a download is verified against the SHA-256 alone, so it may let these
# trail behind (``HashPipeline``'s ``trailing``).
CATALOG_LANES = frozenset({"blake3", "crc32", "autov3"})

_FRESH: dict[str, Callable[[], _Updatable]] = {
    "sha256": hashlib.sha256,
    "blake3": blake3.blake3,
    "crc32": _Crc32,
    "autov3": hashlib.sha256,
}


class HashPipeline:
    """A ring of buffers one thread fills and one thread per hash of a :class:`HashState` consumes.

    The filling thread asks for a free buffer (:meth:`take`), fills it and hands the filled part over
    (:meth:`hand_over`); a buffer comes back when the last lane is done with it, so the filler waits only
    when every buffer is still being hashed (back-pressure, bounded memory). The C implementations of all
    the hashes release the GIL on large buffers, so they run in parallel with each other and with the next
    fill. :meth:`close` waits until every handed-over byte is hashed (unless ``abandon``: cancel, error)
    and raises what a lane met, so the state covers exactly the bytes handed over.

    ``trailing`` lanes (a download's catalog hashes) never hold the filler back: they run at the lowest
    OS priority, and when ``_DROP_BEHIND_BUFFERS`` buffers wait for trailing lanes alone, those lanes are
    dropped (:meth:`HashState.drop`) and their buffers given back at once. Where cores are to spare (or
    the link is slower than hashing) they keep up and nothing changes; on a machine whose cores the
    download itself fills, the download runs at the pace of its required lanes (the SHA-256 it is verified
    against) and the dropped hashes are computed from the finished file (:func:`hash_dropped_lanes`).
    Lanes the state had already dropped are not fed at all.
    """

    def __init__(
        self,
        state: HashState,
        buffer_size: int,
        buffers: int = _PIPELINE_BUFFERS,
        *,
        trailing: Collection[str] = (),
    ) -> None:
        self.state = state
        self.views = [memoryview(bytearray(buffer_size)) for _ in range(buffers)]
        self._free: deque[int] = deque(range(buffers))
        self._holders: list[set[str]] = [set() for _ in range(buffers)]
        self._changed = threading.Condition(threading.Lock())
        self._threads = [
            _Lane(name, hasher, self._release, trailing=name in trailing)
            for name, hasher in state.lanes().items()
            if name not in state.dropped
        ]
        self._lanes = {lane.lane: lane for lane in self._threads}  # the lanes still fed
        self._trailing = frozenset(trailing)
        for lane in self._threads:
            lane.start()

    def take(self) -> int:
        """The index of a free buffer (waits while every buffer is still being hashed)."""
        with self._changed:
            while not self._free:
                if not self._drop_lagging():
                    self._changed.wait()
            return self._free.popleft()

    def hand_over(self, index: int, length: int) -> None:
        """Hash the first ``length`` bytes of buffer ``index`` (the file's next bytes), then free it."""
        views = self.state.split(self.views[index][:length])
        with self._changed:
            lanes = list(self._lanes.values())
            self._holders[index] = {lane.lane for lane in lanes}
            if not lanes:
                self._free.append(index)
                self._changed.notify()
        for lane in lanes:
            lane.inbox.put((index, views[lane.lane]))

    def give_back(self, index: int) -> None:
        """Return a buffer that holds nothing to hash."""
        with self._changed:
            self._free.append(index)
            self._changed.notify()

    def raise_lane_error(self) -> None:
        for lane in self._threads:
            if lane.error is not None and not lane.dropped:
                raise lane.error

    def close(self, *, abandon: bool = False) -> None:
        """Stop the lanes once they are done and raise what one met; with ``abandon`` (the filler is
        ending with an error of its own) they skip the chunks still queued and nothing is raised."""
        for lane in self._threads:
            lane.stopping = abandon
            lane.inbox.put(None)
        for lane in self._threads:
            if not lane.dropped:  # a dropped lane's hash is not used: it ends on its own, unwaited
                lane.join()
        if not abandon:
            self.raise_lane_error()

    def _release(self, index: int, lane: str) -> None:
        with self._changed:
            holders = self._holders[index]
            if lane in holders:  # a dropped lane's buffers were given back when it was dropped
                holders.remove(lane)
                if not holders:
                    self._free.append(index)
                if not holders or holders <= self._trailing:  # free, or the filler may drop a lane
                    self._changed.notify()

    def _drop_lagging(self) -> bool:
        """Drop the trailing lanes that alone hold ``_DROP_BEHIND_BUFFERS`` buffers (lock held); True
        when that freed a buffer."""
        waiting_for_trailing = [h for h in self._holders if h and h <= self._trailing]
        if len(waiting_for_trailing) < min(_DROP_BEHIND_BUFFERS, len(self.views)):
            return False
        behind = set().union(*waiting_for_trailing)
        for name in behind:
            self._lanes.pop(name).dropped = True
            self.state.drop(name)
        for index, holders in enumerate(self._holders):
            if holders & behind:
                holders.difference_update(behind)
                if not holders:
                    self._free.append(index)
        return bool(self._free)


def hash_dropped_lanes(fileobj: _RawFile, state: HashState, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
    """Hash the lanes ``state`` dropped from ``fileobj`` (read from its first byte up to ``state.length``:
    the file the state was fed), so :meth:`HashState.finish` has every hash again. The other lanes are
    not touched; the dropped ones run in parallel, at normal priority (nothing else is waiting on the CPU
    for this file any more)."""
    if not state.dropped:
        return
    redo = HashState()
    redo.dropped = set(redo.lanes()) - state.dropped  # only the dropped lanes run
    feed_file(fileobj, redo, until=state.length, chunk_size=chunk_size)
    if redo.length != state.length:
        raise OSError(f"the file holds {redo.length:,} bytes, not the {state.length:,} it was fed")
    for lane in state.dropped:
        setattr(state, lane, getattr(redo, lane))
    state.dropped.clear()


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
