"""A loopback server that answers like a hostile or broken site, for the tests of Atelier's limits.

Each path picks a behaviour (``HostileState.routes``): a body that never ends (no ``Content-Length``,
zeros until the client goes away or ``endless_cap`` is reached), a gzip bomb (a small compressed body
that inflates to ``inflated`` bytes), a redirect to a ``file://`` address, a redirect loop, a redirect
whose own body never ends or is a gzip bomb, or plain JSON.
The bytes each path wrote are counted, so a test can prove the client stopped reading.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeHandler, FakeServer, serve

_BLOCK = 64 * 1024


@dataclass(frozen=True)
class Endless:
    """200 without ``Content-Length`` (the end of the body would be the connection's close): ``head``,
    then zeros, at most ``cap`` bytes in all (a bound for the test machine, far past any limit tested)."""

    head: bytes = b""
    cap: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class GzipBomb:
    """200 ``Content-Encoding: gzip`` whose body inflates to ``prefix`` + ``inflated`` zeros."""

    inflated: int
    prefix: bytes = b'{"id": 1, "pad": "'


@dataclass(frozen=True)
class RedirectTo:
    """302 to ``location`` (a ``file://`` address, or the path itself for a loop); ``body``: what the 302
    itself carries (none: ``Content-Length: 0``; an endless body or a gzip bomb, which a client that
    follows the redirect must not read whole)."""

    location: str
    body: Endless | GzipBomb | None = None


@dataclass(frozen=True)
class JsonAnswer:
    payload: Any


Behaviour = Endless | GzipBomb | RedirectTo | JsonAnswer


@dataclass
class HostileState:
    routes: dict[str, Behaviour] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)  # body bytes written per path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str, size: int) -> None:
        with self.lock:
            self.sent[path] = self.sent.get(path, 0) + size


def gzip_of_zeros(prefix: bytes, inflated: int) -> bytes:
    """A gzip stream of ``prefix`` + ``inflated`` zeros + ``"}``, built without holding the zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    blocks = [packer.compress(prefix)]
    zeros = b"0" * (4 * 1024 * 1024)
    left = inflated
    while left > 0:
        blocks.append(packer.compress(zeros[: min(left, len(zeros))]))
        left -= len(zeros)
    blocks.append(packer.compress(b'"}'))
    blocks.append(packer.flush())
    return b"".join(blocks)


class HostileHandler(FakeHandler):
    def _state(self) -> HostileState:
        state = self.server.state
        assert isinstance(state, HostileState)
        return state

    def do_GET(self) -> None:
        self.record()
        path = self.path.split("?")[0]
        behaviour = self._state().routes.get(path)
        if behaviour is None:
            self.send_json({"error": "Not found"}, 404)
        elif isinstance(behaviour, JsonAnswer):
            self.send_json(behaviour.payload)
        elif isinstance(behaviour, RedirectTo):
            self._redirect(path, behaviour)
        elif isinstance(behaviour, GzipBomb):
            self._bomb(path, behaviour)
        else:
            self._endless(path, behaviour)

    def _redirect(self, path: str, behaviour: RedirectTo) -> None:
        location = ("Location", behaviour.location)
        if isinstance(behaviour.body, GzipBomb):
            self._bomb(path, behaviour.body, 302, location)
        elif isinstance(behaviour.body, Endless):
            self._endless(path, behaviour.body, 302, location)
        else:
            self.send_response(302)
            self.send_header(*location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _bomb(self, path: str, behaviour: GzipBomb, status: int = 200, *extra: tuple[str, str]) -> None:
        body = gzip_of_zeros(behaviour.prefix, behaviour.inflated)
        self.send_response(status)
        for header in extra:
            self.send_header(*header)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the client went away without reading the body
            return
        self._state().count(path, len(body))

    def _endless(self, path: str, behaviour: Endless, status: int = 200, *extra: tuple[str, str]) -> None:
        self.send_response(status)
        for header in extra:
            self.send_header(*header)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        zeros = b"\0" * _BLOCK
        try:
            self.wfile.write(behaviour.head)
            sent = len(behaviour.head)
            self._state().count(path, len(behaviour.head))
            while sent < behaviour.cap:
                block = zeros[: min(_BLOCK, behaviour.cap - sent)]
                self.wfile.write(block)
                sent += len(block)
                self._state().count(path, len(block))
        except OSError:  # the client went away: what a client that stops reading does
            return


@contextmanager
def hostile_server(state: HostileState | None = None) -> Iterator[tuple[FakeServer, HostileState]]:
    """The server on a free loopback port, with its state (routes may be added while it runs)."""
    own = state or HostileState()
    with serve(HostileHandler, own) as server:
        yield server, own
