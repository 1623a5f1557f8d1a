"""Saving renders with A1111 infotext, and reading infotext back from images.

A1111 stores its generation parameters in a PNG ``tEXt`` chunk named ``parameters`` and, for JPEG and
WebP, in the EXIF ``UserComment`` tag; reading both lets users drop any A1111/Forge/Civitai image onto
the app. Pillow only (no torch), so the catalog and the GUI can import this module cheaply.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from core.replace_file import replace_file

PARAMETERS_KEY = "parameters"
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286


def save_png(image: Image.Image, path: Path, infotext: str) -> Path:
    """Write ``image`` as PNG to ``path`` with ``infotext`` in the ``parameters`` text chunk.

    The file is written to a temporary sibling and moved into place with ``replace_file``, so a crash or a
    full disk never leaves a truncated image where the library (or a file watcher) would pick it up.
    Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    info.add_text(PARAMETERS_KEY, infotext)  # Pillow writes iTXt when the text is not Latin-1
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format="PNG", pnginfo=info)
            fh.flush()
            os.fsync(fh.fileno())
        replace_file(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def _decode_user_comment(raw: bytes | str) -> str | None:
    """EXIF UserComment: an 8-byte charset prefix then the text (A1111 writes ``UNICODE`` + UTF-16)."""
    if isinstance(raw, str):
        return raw.strip("\x00") or None
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        # piexif (what A1111 uses) writes big-endian UTF-16 without a BOM; a BOM overrides.
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = body.decode("utf-16")
        else:
            text = body.decode("utf-16-be", errors="replace")
    elif prefix.startswith(b"ASCII") or prefix == b"\x00" * 8:
        text = body.decode("utf-8", errors="replace")
    else:
        text = raw.decode("utf-8", errors="replace")
    return text.strip("\x00") or None


def read_infotext(path: Path) -> str | None:
    """The A1111 ``parameters`` text of the image at ``path``, or None when it has none.

    PNG: the ``parameters`` text chunk (tEXt, zTXt or iTXt). JPEG/WebP: the EXIF UserComment. Files
    that are not images raise ``PIL.UnidentifiedImageError`` (an ``OSError``).
    """
    with Image.open(path) as image:
        text = image.info.get(PARAMETERS_KEY)
        if isinstance(text, str) and text:
            return text
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT) or exif.get(_USER_COMMENT)
        if isinstance(raw, bytes | str) and raw:
            return _decode_user_comment(raw)
    return None
