"""A loopback file host with per-URL fault injection, for the download engine's tests and benchmark.

Each path serves bytes (in memory) or a file on disk, honouring ``Range`` unless told not to. A
:class:`Fault` makes one path misbehave the ways real hosts do: cut the connection after N bytes, answer
429/5xx/401/403/404/410 with Civitai-style JSON a number of times, announce more bytes than it sends,
ignore ``Range``, serve an HTML login page, trickle slowly, send a hostile ``Content-Disposition``, or
redirect (307) like Civitai's ``/api/download`` does to its signed storage URL. The state counts body
bytes sent per path so tests can prove a resume did not fetch the file twice.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.server import FakeHandler, FakeServer

LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Fault:
    """How one path misbehaves. ``*_times`` count requests that misbehave before it behaves."""

    cut_after: int | None = None  # close the connection after this many body bytes
    cut_times: int = 1
    status: int | None = None  # answer this status with ``json_body`` instead of the file
    status_times: int | None = None  # None: always
    json_body: dict[str, Any] | None = None
    retry_after: str | None = None
    extra_length: int = 0  # Content-Length claims this many bytes more than are sent
    ignore_range: bool = False  # 200 with the whole file even when Range was asked
    html: bool = False  # 200 text/html login page
    trickle: tuple[int, float] | None = None  # (block size, delay between blocks)
    content_disposition: str | None = None
    content_type: str = "application/octet-stream"
    redirect_to: str | None = None  # 307 to this path


@dataclass
class FileServerState:
    files: dict[str, bytes | Path] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)  # body bytes written per path
    hits: dict[str, int] = field(default_factory=dict)  # GETs per path
    sending: dict[str, int] = field(default_factory=dict)  # bodies of each path being written right now
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, data: bytes | Path, fault: Fault | None = None) -> str:
        self.files[path] = data
        if fault is not None:
            self.faults[path] = fault
        return path

    def total_sent(self, path: str) -> int:
        with self.lock:
            return self.sent.get(path, 0)

    def wait_until_sent(self, path: str, within_s: float = 10.0) -> None:
        """Wait until no body of ``path`` is being written: a client killed mid-body leaves its handler
        writing until the socket refuses, and what it writes meanwhile counts in :attr:`sent`."""
        deadline = time.monotonic() + within_s
        while True:
            with self.lock:
                if not self.sending.get(path):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"the server is still sending {path} after {within_s} s")
            time.sleep(0.01)


class FileHandler(FakeHandler):
    def _state(self) -> FileServerState:
        state = self.server.state
        assert isinstance(state, FileServerState)
        return state

    def do_GET(self) -> None:
        self.record()
        state = self._state()
        path = urlsplit(self.path).path
        with state.lock:
            hit = state.hits.get(path, 0)
            state.hits[path] = hit + 1
        fault = state.faults.get(path, Fault())
        if fault.redirect_to is not None:
            self.send_response(307)
            self.send_header("Location", fault.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path not in state.files:
            self.send_json({"error": "Not Found", "message": "No file here"}, status=404)
            return
        if fault.status is not None and (fault.status_times is None or hit < fault.status_times):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            self.send_json(fault.json_body or {"error": f"status {fault.status}"}, fault.status, headers)
            return
        if fault.html:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(LOGIN_PAGE)))
            self.end_headers()
            self.wfile.write(LOGIN_PAGE)
            return
        self._send_file(state, path, fault, cut=fault.cut_after is not None and hit < fault.cut_times)

    def _send_file(self, state: FileServerState, path: str, fault: Fault, *, cut: bool) -> None:
        data = state.files[path]
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        start = 0
        match = _RANGE.match(self.headers.get("Range", "").strip())
        if match and not fault.ignore_range:
            start = int(match.group(1))
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", fault.content_type)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(size - start + fault.extra_length))
        if fault.content_disposition is not None:
            self.send_header("Content-Disposition", fault.content_disposition)
        self.end_headers()
        limit = size - start
        if cut and fault.cut_after is not None:
            limit = min(limit, fault.cut_after)
        block = fault.trickle[0] if fault.trickle else 1024 * 1024
        position = start
        with state.lock:
            state.sending[path] = state.sending.get(path, 0) + 1
        try:
            with self._reader(data) as read:
                while position < start + limit:
                    count = min(block, start + limit - position)
                    chunk = read(position, count)
                    self.wfile.write(chunk)
                    position += len(chunk)
                    with state.lock:
                        state.sent[path] = state.sent.get(path, 0) + len(chunk)
                    if fault.trickle:
                        time.sleep(fault.trickle[1])
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with state.lock:
                state.sending[path] -= 1
        if cut or fault.extra_length:
            self.close_connection = True

    @staticmethod
    @contextmanager
    def _reader(data: bytes | Path) -> Iterator[Any]:
        if isinstance(data, bytes):
            view = memoryview(data)
            yield lambda position, count: view[position : position + count]
            return
        with data.open("rb") as file:

            def read(position: int, count: int) -> bytes:
                file.seek(position)
                return file.read(count)

            yield read


@contextmanager
def serve_files(state: FileServerState | None = None) -> Iterator[tuple[FakeServer, FileServerState]]:
    """Run a file server on a free loopback port; yields the server and its (mutable) state."""
    state = state or FileServerState()
    server = FakeServer(FileHandler, state)
    # A short poll interval: ``shutdown`` waits up to one interval, and tests start many servers.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="fake-files", daemon=True)
    thread.start()
    try:
        yield server, state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
