"""A loopback host that answers every GET with one small real PNG (example images, covers)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from tests.fakes.server import FakeHandler, FakeServer, serve


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()  # what every request gets


class _ImageHost(FakeHandler):
    def do_GET(self) -> None:
        self.record()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)


@contextmanager
def image_host() -> Iterator[FakeServer]:
    """The host on 127.0.0.1; ``requests`` says what was asked for."""
    with serve(_ImageHost) as server:
        yield server
