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
