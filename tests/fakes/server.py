"""A real HTTP server on 127.0.0.1 for tests, run in a thread, with a port chosen by the OS.

Fakes subclass ``FakeHandler`` and implement ``do_GET``/``do_HEAD``/``do_POST``; shared state (routes,
fault switches, a log of requests) lives on the server object so a test can change it while running.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], state: Any = None) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.state = state
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that broke off (the client went away mid-answer) is told on the test process's own
        stderr, never in what a command run in this process (``tests.app.in_process``) captured: the
        server stands for another machine, whose messages a user's terminal does not show."""
        import traceback

        print(f"fake server: a request from {client_address} broke off:", file=sys.__stderr__)
        traceback.print_exc(file=sys.__stderr__)


class FakeHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with explicit lengths; records each request on the server."""

    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``server.requests`` instead."""

    def record(self) -> None:
        with self.server.lock:
            self.server.requests.append((self.command, self.path, dict(self.headers.items())))

    def send_json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], state: Any = None) -> Iterator[FakeServer]:
    """Run ``handler`` on a free loopback port for the duration of the block."""
    server = FakeServer(handler, state)
    # A short poll interval: shutdown() waits for the loop to notice, 0.5 s per server by default.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-http", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
