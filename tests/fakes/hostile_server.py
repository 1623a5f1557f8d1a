"""A loopback server that answers like a hostile or broken site, for the tests of Atelier's limits.

Each path picks a behaviour (``HostileState.routes``): a body that never ends (no ``Content-Length``,
zeros until the client goes away or ``endless_cap`` is reached), a gzip bomb (a small compressed body
that inflates to ``inflated`` bytes), a redirect to a ``file://`` address, a redirect loop, a redirect
whose own body never ends or is a gzip bomb, or plain JSON.
The bytes each path wrote are counted, so a test can prove the client stopped reading.
"""

from __future__ import annotations

import struct
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


_ZEROS = b"0" * (4 * 1024 * 1024)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no name or time, max compression
_BOMB_END = b'"}'


def gzip_of_zeros(prefix: bytes, inflated: int) -> bytes:
    """A gzip stream of ``prefix`` + ``inflated`` zeros + ``"}``, built without holding the zeros.

    Each block of zeros is compressed after a full flush, which resets the compressor: every block then
    compresses to the same bytes, so one block is compressed and its bytes repeated (a 512 MiB bomb in
    0.1 s instead of 1.5 s of deflating the same zeros again and again). The trailer's CRC-32 and length
    are those of the whole inflated text, so the stream is a valid gzip file to its end.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_RLE)  # raw deflate
    whole, rest = divmod(inflated, len(_ZEROS))
    blocks = [
        _GZIP_HEADER,
        packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH),
        (packer.compress(_ZEROS) + packer.flush(zlib.Z_FULL_FLUSH)) * whole,
        packer.compress(_ZEROS[:rest]) + packer.flush(zlib.Z_FULL_FLUSH),
        packer.compress(_BOMB_END) + packer.flush(),
    ]
    crc = zlib.crc32(prefix)
    for _ in range(whole):
        crc = zlib.crc32(_ZEROS, crc)
    crc = zlib.crc32(_BOMB_END, zlib.crc32(_ZEROS[:rest], crc))
    size = len(prefix) + inflated + len(_BOMB_END)
    blocks.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
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
