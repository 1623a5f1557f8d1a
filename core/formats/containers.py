"""What tells model containers apart before any parser runs: magic numbers, sniff size, pickle extensions.

Kept free of the parsers themselves so that recognising a safetensors file (the scan's common case) loads
none of the pickle machinery (picklescan, the restricted unpickler, numpy).
"""

from __future__ import annotations

from core.taxonomy import FileFormat

SNIFF_BYTES = 1024  # enough for every magic number and the first pickle opcodes
ZIP_MAGIC = b"PK\x03\x04"
# Extensions of torch pickles, and the format each is filed under.
PICKLE_FORMATS: dict[str, FileFormat] = {
    ".ckpt": FileFormat.CKPT,
    ".pt": FileFormat.PT,
    ".pth": FileFormat.PT,
    ".bin": FileFormat.BIN,
}


# Downloads that went wrong leave text under a model's name: a login or error page, an API's JSON error,
# a Git LFS pointer instead of the file it points to. Said as what they are, not as a bad header length.
_LFS_POINTER = b"version https://git-lfs"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")
_PRINTABLE = frozenset(range(32, 127)) | {9, 10, 13}


def text_instead_of_model(head: bytes, expected: str = "a model file", *, plain: bool = True) -> str | None:
    """What a file is when its first bytes are text rather than a model container, else None.

    ``head`` is the file's first bytes (a kilobyte is plenty); ``expected`` what its name promised
    ("a safetensors file"); ``plain`` False leaves plain text unnamed (a reader with its own words for
    it). Only called when a reader has already
    refused the bytes, so it costs nothing on a good file.
    """
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start:
        return None
    lowered = start[:64].lower()
    if lowered.startswith(_HTML_STARTS):
        return f"the file is an HTML page, not {expected}: was the download a login or error page?"
    if start.startswith(_LFS_POINTER):
        return "the file is a Git LFS pointer, not the model it names: fetch it with `git lfs pull`"
    if not plain and start[:1] not in (b"{", b"["):
        return None
    sample = start[:512]
    if sum(byte in _PRINTABLE or byte >= 0x80 for byte in sample) < len(sample):
        return None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 3:  # a character cut by the sample's end is still text
            return None
    if start[:1] in (b"{", b"["):
        return f"the file is JSON text, not {expected}: was the download an error message from the site?"
    return (
        f"the file is plain text, not {expected}: was the download a page or a message instead of the file?"
    )
