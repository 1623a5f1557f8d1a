"""The one entry point for reading any model file or folder into a ``ModelHeader``.

Files are recognised by their first bytes, not their names: ``.bin`` may be a torch zip, a legacy pickle
or (renamed) safetensors, and a half-downloaded file deserves a precise reason rather than a parser's
confusion. The extension only decides what to expect when the bytes say nothing, and which ``FileFormat``
a pickle is filed under. A file whose extension promises safety (``.safetensors``) but which holds a
pickle is reported, not loaded: tools that trust the extension would run it.
"""

from __future__ import annotations

import struct
from pathlib import Path

from core.formats.diffusers_folder import is_diffusers_folder, read_diffusers_folder
from core.formats.gguf import GGUF_MAGIC, read_gguf_header
from core.formats.model_file import CorruptFileError, ModelHeader
from core.formats.pickle_reader import PICKLE_FORMATS, ZIP_MAGIC, read_pickle_header
from core.formats.safetensors_header import MAX_HEADER_BYTES, read_safetensors_header

MODEL_EXTENSIONS: tuple[str, ...] = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")
SAFETENSORS_EXTENSIONS = (".safetensors", ".sft")


def read_header(path: Path) -> ModelHeader:
    """Read ``path`` (a model file or a diffusers folder) without loading any weights.

    Raises ``CorruptFileError`` / ``UnsafeFileError`` (both ``FormatError``) for files that cannot be
    cataloged as models, and ``OSError`` when the file cannot be opened at all (missing, no permission).
    """
    if path.is_dir():
        if is_diffusers_folder(path):
            return read_diffusers_folder(path)
        if (path / "config.json").is_file():
            raise CorruptFileError(
                "the folder's config.json names no model class and no model weights lie beside it"
            )
        raise CorruptFileError("the folder is not a diffusers model (no model_index.json or config.json)")
    kind, size = _sniff(path)
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_EXTENSIONS:
        if kind in {"zip", "gguf"}:
            raise CorruptFileError(f"the file is named {suffix} but holds {_LABELS[kind]}; it was not loaded")
        return read_safetensors_header(path)  # its reader explains what is wrong with a bad header
    if suffix == ".gguf":
        if kind in {"zip", "safetensors"}:
            raise CorruptFileError(f"the file is named .gguf but holds {_LABELS[kind]}")
        return read_gguf_header(path)
    if kind == "safetensors":
        return read_safetensors_header(path)
    if kind == "gguf":
        return read_gguf_header(path)
    if kind in {"zip", "pickle"}:
        return read_pickle_header(path)
    if size == 0:
        raise CorruptFileError("the file is empty")
    if suffix in PICKLE_FORMATS:
        raise CorruptFileError(f"the {suffix} file is neither a torch checkpoint nor safetensors data")
    raise CorruptFileError("the file is not in a known model format")


_LABELS = {"safetensors": "safetensors data", "gguf": "GGUF data", "zip": "a torch pickle (zip archive)"}


def _sniff(path: Path) -> tuple[str | None, int]:
    """The container the first bytes show (safetensors, gguf, zip, pickle or None) and the file size."""
    with open(path, "rb") as fh:
        head = fh.read(9)
        size = fh.seek(0, 2)
    if head[:4] == GGUF_MAGIC:
        return "gguf", size
    if head[:4] == ZIP_MAGIC:
        return "zip", size
    if len(head) == 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        # A safetensors header is a JSON object right after its length. Checked before the pickle opcode
        # because a header length such as 0x280 also starts with the byte 0x80.
        if 0 < header_len <= min(MAX_HEADER_BYTES, size - 8) and head[8:9] == b"{":
            return "safetensors", size
    if head[:1] == b"\x80" and head[1:2] in {b"\x02", b"\x03", b"\x04", b"\x05"}:
        return "pickle", size
    return None, size
