"""Fetching preview images (Civitai covers and example images): bounded in size, errors as ``RemoteError``.

One function for the GUI's image cache and the enrichment job, so both refuse oversized or failed answers
the same way.
"""

from __future__ import annotations

import requests

from core.sources.errors import RemoteError

MAX_IMAGE_BYTES = 20 * 1024 * 1024


def fetch_image_bytes(session: requests.Session, url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The image's bytes; raises ``RemoteError`` for a failed request, a non-200 answer or a huge body."""
    try:
        with session.get(url, timeout=(10, 30), stream=True) as response:
            status = response.status_code
            if status != 200:
                raise RemoteError(f"could not fetch the preview image ({status})", status=status)
            data = response.raw.read(max_bytes + 1, decode_content=True)
    except requests.RequestException as exc:
        raise RemoteError(f"could not fetch the preview image: {type(exc).__name__}") from exc
    if len(data) > max_bytes:
        raise RemoteError("the preview image is too large")
    return bytes(data)
