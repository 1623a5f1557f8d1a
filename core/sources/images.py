"""Fetching preview images (Civitai covers and example images): bounded in size, errors as ``RemoteError``.

One function for the GUI's image cache and the enrichment job, so both refuse oversized or failed answers
the same way. A failed connection says why in the words of ``core.net.describe_failure`` (offline, refused…).
"""

from __future__ import annotations

import time

import requests
import urllib3.exceptions

from core.net import describe_failure, host_of
from core.sources.errors import NetworkError, RemoteError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TIMEOUT = (5.0, 15.0)
# The whole body must arrive within this: a host sending a byte a second renews the read timeout forever.
IMAGE_DEADLINE_S = 30.0
_BLOCK = 64 * 1024


def fetch_image_bytes(session: requests.Session, url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The image's bytes; raises ``RemoteError`` for a failed request, a non-200 answer or a huge body."""
    try:
        with session.get(url, timeout=IMAGE_TIMEOUT, stream=True) as response:
            status = response.status_code
            if status != 200:
                raise RemoteError(
                    f"{host_of(url)} did not send the preview image (HTTP {status})", status=status
                )
            data = _read_within(response, max_bytes + 1, url)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        # The body is read from ``raw``, past requests' wrapping: urllib3 and socket errors arrive as is.
        raise NetworkError(describe_failure(exc, host_of(url))) from None
    if len(data) > max_bytes:
        raise RemoteError("the preview image is too large")
    return bytes(data)


def _read_within(response: requests.Response, limit: int, url: str) -> bytes:
    """Up to ``limit`` bytes of the body, refusing a body still arriving after ``IMAGE_DEADLINE_S``.

    ``read1`` returns what has arrived (at most a block), so the deadline is checked between arrivals.
    """
    deadline = time.monotonic() + IMAGE_DEADLINE_S
    raw = response.raw
    blocks: list[bytes] = []
    received = 0
    while received < limit:
        if time.monotonic() > deadline:
            raise RemoteError(
                f"{host_of(url)} sent the preview image too slowly "
                f"(not complete after {IMAGE_DEADLINE_S:.0f} s)"
            )
        block = raw.read1(min(_BLOCK, limit - received), decode_content=True)
        if not block:
            break
        blocks.append(block)
        received += len(block)
    return b"".join(blocks)
