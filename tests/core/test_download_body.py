"""core.download_body: the read path and the write-behind of a download, on real sockets.

The engine's behaviour (resume, verification, errors) is tested in test_downloads.py through these parts;
here each part is held to what it promises on its own: the direct socket reader and urllib3's path give
the same bytes, a chunked body still downloads, the receive window of a loopback link is capped, and
errors in the write-behind thread reach the downloading thread. The hash ring the body is read into is
``core.hashing.HashPipeline``, tested in tests/core/test_hashing.py.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.download_store import SqlDownloadStore
from core.download_body import WriteBehind, body_reader, limit_receive_window
from core.downloads import Downloader, DownloadRequest, DownloadStatus
from core.net import make_session
from tests.fakes.file_server import serve_files
from tests.fakes.server import FakeHandler, serve

DATA = os.urandom(2 * 1024 * 1024 + 777)
SHA = hashlib.sha256(DATA).hexdigest()


class _ChunkedHandler(FakeHandler):
    """Sends ``DATA`` with ``Transfer-Encoding: chunked`` (no Content-Length), as some hosts do."""

    def do_GET(self) -> None:
        self.record()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        view = memoryview(DATA)
        for start in range(0, len(view), 100_000):
            piece = view[start : start + 100_000]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


def _read_all(url: str, buffer_size: int) -> bytes:
    session = make_session(retries=0)
    with session.get(url, stream=True, timeout=(5, 5)) as response:
        read = body_reader(response)
        view = memoryview(bytearray(buffer_size))
        out = bytearray()
        while n := read(view):
            out += view[:n]
    return bytes(out)


@pytest.mark.parametrize("buffer_size", [4096, 1024 * 1024])
def test_the_direct_reader_and_urllib3s_path_read_the_same_bytes(buffer_size: int) -> None:
    with serve_files() as (http, state):
        state.add("/f.bin", DATA)
        assert _read_all(f"{http.base_url}/f.bin", buffer_size) == DATA
    with serve(_ChunkedHandler) as chunked:
        assert _read_all(f"{chunked.base_url}/f.bin", buffer_size) == DATA


def test_a_chunked_body_without_a_length_downloads_and_verifies(
    store: SqlDownloadStore, tmp_path: Path
) -> None:
    engine = Downloader(make_session(retries=0), store, chunk_size=256 * 1024, attempts=1)
    with serve(_ChunkedHandler) as chunked:
        request = DownloadRequest(f"{chunked.base_url}/m.safetensors", tmp_path, expected_sha256=SHA)
        path = engine.run_one(engine.enqueue(request))
    assert path.read_bytes() == DATA
    assert engine.list()[0].status is DownloadStatus.COMPLETED


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_a_loopback_connection_gets_a_small_receive_window() -> None:
    with serve_files() as (http, state):
        state.add("/f.bin", DATA)
        session = make_session(retries=0)
        with session.get(f"{http.base_url}/f.bin", stream=True, timeout=(5, 5)) as response:
            cap = limit_receive_window(response)
            sock = response.raw._connection.sock  # type: ignore[union-attr]
            assert cap is not None
            assert cap <= 4 * 1024 * 1024
            # Linux doubles the value asked for (bookkeeping overhead); it never grows it past that.
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) <= 2 * cap
            assert _drain(response) == len(DATA)


def _drain(response: object) -> int:
    read = body_reader(response)  # type: ignore[arg-type]
    view = memoryview(bytearray(64 * 1024))
    total = 0
    while n := read(view):
        total += n
    return total


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.skipif(sys.platform != "linux", reason="fdatasync refuses a pipe on Linux")
def test_a_failed_flush_is_raised_in_the_writing_thread() -> None:
    read_end, write_end = os.pipe()  # the flusher's call fails on it (ESPIPE/EINVAL), as a write-back error
    try:
        behind = WriteBehind(write_end, every=10)
        behind.wrote(11)
        _wait_for(lambda: behind.error is not None)
        behind.close()
        with pytest.raises(OSError):
            behind.raise_error()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_write_behind_flushes_a_real_file_while_it_grows(tmp_path: Path) -> None:
    with (tmp_path / "f.part").open("wb", buffering=0) as file:
        behind = WriteBehind(file.fileno(), every=64 * 1024)
        for _ in range(4):
            file.write(os.urandom(32 * 1024))
            behind.wrote(32 * 1024)
        _wait_for(lambda: behind.flushes >= 1)
        behind.close()
        behind.raise_error()
        assert behind.flushes >= 1
    assert (tmp_path / "f.part").stat().st_size == 4 * 32 * 1024
