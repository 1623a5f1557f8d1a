"""Receiving a download's body at the pace of the link: socket to disk, SHA-256 and disk writeback beside it.

Why it is built this way (``core.downloads`` owns the policy: deadlines, resume, verification, errors):

* **One thread reads and writes, in that order, nothing else.** Each read goes straight from the socket
  into a reused buffer (``readinto1``: one ``recv`` at most, so whatever arrived is returned and written
  at once) and is written to the ``.part`` before the next read. A killed process therefore loses no byte
  it had received: what is in the ``.part`` is what the resume offset says, and only bytes the kernel
  still held for the dead socket are fetched again.
* **Every hash in threads of their own** (``core.hashing.HashPipeline``: SHA-256, BLAKE3, CRC32 and
  AutoV3, one thread each). The reader fills the pipeline's buffers; the hash functions release the GIL
  on large buffers, so hashing a filled buffer runs on another core while the next one is read, and the
  reader waits only when every buffer of the ring is still being hashed (back-pressure, bounded memory).
  The SHA-256 verifies the download; the others are the catalog's, so the finished file is never read
  back to hash it.
* **Write-behind instead of one huge ``fsync`` at the end** (:class:`WriteBehind`). Every 16 MiB, and
  at least once a second while bytes arrive, a flusher thread has the disk write what has arrived
  (:func:`start_writeback`), so the disk works while the network does, the page cache never holds
  gigabytes of dirty pages, and a power loss costs only the last second or so of a ``.part``. The
  writing thread never waits for it: it only bumps a counter. The last flush of a finished file (its
  bytes and its new name) is ``core.download_flush``'s, behind the caller too.
* **A small receive window on low-latency links** (:func:`limit_receive_window`). On loopback or a LAN the
  kernel would let several MiB pile up in the socket that a killed process never reads (and a resume must
  fetch again); a window of a few round trips at full speed is all such a link needs. Links with a real
  round trip keep the kernel's autotuning: capping them would cap their speed.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import socket
import struct
import sys
import threading
from collections.abc import Callable
from typing import Protocol, cast

import requests

MIB = 1024 * 1024
# How far the kernel may run ahead of a reader on a link whose round trip is short: enough for this many
# bytes per second (the window is rate x round trip), never under _MIN_WINDOW (a few loopback segments).
_WINDOW_RATE = 2 * 1024 * MIB
_MIN_WINDOW = 256 * 1024
_MAX_CAPPED_WINDOW = 4 * MIB  # above this the kernel's own autotuning is left alone
_TCP_INFO_RTT_OFFSET = 68  # struct tcp_info: 8 bytes of u8 fields, then 15 u32 before tcpi_rtt (us)
WRITE_BEHIND_EVERY = 16 * MIB
WRITE_BEHIND_INTERVAL_S = 1.0  # a slow download is pushed to disk at least this often


ReadInto = Callable[[memoryview], int]


def body_reader(response: requests.Response) -> ReadInto:
    """``readinto(view)``: the next bytes of the body into ``view`` (at most one receive), 0 at the end.

    A body with a ``Content-Length`` is read from the connection's socket file directly into the caller's
    buffer: no intermediate ``bytes`` per read, no copy, no per-read bookkeeping in urllib3. The byte count
    is kept here and handed back to ``http.client`` so the response stays consistent when it is closed. A
    chunked body, or a response object of another kind, is read through urllib3's ``read1`` (a copy).
    """
    raw = response.raw
    inner = getattr(raw, "_fp", None)
    if (
        isinstance(inner, http.client.HTTPResponse)
        and not inner.chunked
        and inner.length is not None
        and callable(getattr(inner.fp, "readinto1", None))
    ):
        return _direct_reader(inner)
    read1 = cast("Callable[[int], bytes]", raw.read1)

    def copy_into(view: memoryview) -> int:
        block = read1(len(view))
        view[: len(block)] = block
        return len(block)

    return copy_into


class _BufferedSocketFile(Protocol):
    def readinto1(self, buffer: memoryview, /) -> int: ...


def _direct_reader(inner: http.client.HTTPResponse) -> ReadInto:
    source = cast("_BufferedSocketFile", inner.fp)

    def readinto(view: memoryview) -> int:
        left = inner.length or 0
        if left <= 0:
            return 0
        n = source.readinto1(view[:left] if len(view) > left else view)
        inner.length = left - n  # what http.client would have counted; 0 marks the body read
        return n

    return readinto


def limit_receive_window(response: requests.Response) -> int | None:
    """Cap the socket's receive buffer when the link's round trip is short; returns the cap, or None.

    Linux only (``TCP_INFO``); elsewhere, or when the socket is not reachable, nothing changes. The cap is
    ``_WINDOW_RATE`` x the measured round trip (at least ``_MIN_WINDOW``), applied only when that is under
    ``_MAX_CAPPED_WINDOW``: a download from the internet keeps the kernel's autotuned window.
    """
    connection = getattr(response.raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    tcp_info = getattr(socket, "TCP_INFO", None)
    if not isinstance(sock, socket.socket) or tcp_info is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 104)
        if len(info) < _TCP_INFO_RTT_OFFSET + 4:
            return None
        rtt_us = int(struct.unpack_from("<I", info, _TCP_INFO_RTT_OFFSET)[0])
        window = max(_MIN_WINDOW, _WINDOW_RATE * rtt_us // 1_000_000)
        if rtt_us == 0 or window > _MAX_CAPPED_WINDOW:
            return None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
        return window
    except OSError:  # a socket option this kernel does not have: the default window is still correct
        return None


class WriteBehind:
    """Has the disk write a growing file while it grows: a thread flushes it every ``every`` bytes, and
    every ``interval_s`` seconds while anything new was written.

    :meth:`wrote` is called by the writer after each write (cheap: a counter, and a wake-up every
    ``every`` bytes); the writer never waits for the flusher. :meth:`close` stops the thread;
    :meth:`raise_error` re-raises a failed flush in the writing thread: on Linux a write-back error is
    reported once per file description, so a later flush might not see an error this one consumed.
    """

    def __init__(
        self, fd: int, every: int = WRITE_BEHIND_EVERY, interval_s: float = WRITE_BEHIND_INTERVAL_S
    ) -> None:
        self._fd = fd
        self._every = every
        self._interval_s = interval_s
        self._written = 0  # bytes written so far (only the writer adds to it)
        self._next_wake = every
        self._wake = threading.Event()
        self._stop = False
        self.error: OSError | None = None
        self.flushes = 0  # how many flushes have completed (the bench and tests read it)
        self._thread = threading.Thread(target=self._run, name="download-writeback", daemon=True)
        self._thread.start()

    def wrote(self, n: int) -> None:
        self._written += n
        if self._written >= self._next_wake:
            self._next_wake = self._written + self._every
            self._wake.set()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Stop the thread (after the flush it is in, if any); what is left is the final flush's."""
        self._stop = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        flush = start_writeback()
        flushed = 0
        while True:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            if self._stop:
                return
            written = self._written
            if written == flushed:
                continue  # nothing new since the last flush (a stalled link)
            try:
                flush(self._fd)
            except OSError as error:
                self.error = error
                return
            flushed = written
            self.flushes += 1


# sync_file_range(2) flags (linux/fs.h)
_SYNC_FILE_RANGE_WAIT_BEFORE = 1
_SYNC_FILE_RANGE_WRITE = 2


def start_writeback() -> Callable[[int], None]:
    """``flush(fd)``: have the disk start writing the file's dirty pages now.

    On Linux, ``sync_file_range(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE)`` over the whole file:
    it waits (in the flusher thread) for the writeback it started last time, then starts the next,
    without ``fdatasync``'s journal commit and disk-cache flush each time (measured: ``fdatasync`` every
    16 MiB made the same 512 MiB take 1.9 s to reach the disk instead of 1.4-1.5 s with one ``fsync``).
    Waiting for the previous round keeps the dirty pages to about what arrives during one round. The
    final ``fdatasync`` (``core.download_flush``) makes the file durable. Elsewhere (or without the call)
    ``fdatasync``/``fsync``.
    """
    sync_file_range = _libc_sync_file_range()
    if sync_file_range is None:
        return cast("Callable[[int], None]", getattr(os, "fdatasync", os.fsync))
    flags = _SYNC_FILE_RANGE_WAIT_BEFORE | _SYNC_FILE_RANGE_WRITE

    def flush(fd: int) -> None:
        if sync_file_range(fd, 0, 0, flags) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return flush


def _libc_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):  # a libc without it (very old, or not glibc/musl)
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], int]", function)
