"""The one entry point for reading any model file or folder into a ``ModelHeader``.

Files are recognised by their first bytes, not their names: ``.bin`` may be a torch zip, a legacy pickle
or (renamed) safetensors, and a half-downloaded file deserves a precise reason rather than a parser's
confusion. The extension only decides what to expect when the bytes say nothing, and which ``FileFormat``
a pickle is filed under. Pickle content (a torch zip, a tar checkpoint, a bare pickle of any protocol) is
scanned whatever the name: ``torch.load`` does not look at extensions, so a pickle named ``.safetensors``
that would run code is ``unsafe``; a harmless one is still reported as not what its name promises.
Files are opened only through ``safe_open``: a FIFO named ``model.safetensors`` is refused at once.
The pickle machinery (picklescan, the restricted unpickler, numpy) is imported only when the first bytes
are not safetensors or GGUF: reading a safetensors header loads none of it.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from core.formats.containers import PICKLE_FORMATS, SNIFF_BYTES, ZIP_MAGIC, text_instead_of_model
from core.formats.diffusers_folder import is_diffusers_folder, read_diffusers_folder
from core.formats.gguf import GGUF_MAGIC, read_gguf_header
from core.formats.model_file import CorruptFileError, ModelHeader
from core.formats.safe_open import open_file, open_regular
from core.formats.safetensors_header import (
    MAX_HEADER_BYTES,
    read_open_safetensors_header,
    read_safetensors_header,
)

MODEL_EXTENSIONS: tuple[str, ...] = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")
SAFETENSORS_EXTENSIONS = (".safetensors", ".sft")


def read_header(path: Path) -> ModelHeader:
    """Read ``path`` (a model file or a diffusers folder) without loading any weights.

    Raises ``CorruptFileError`` / ``UnsafeFileError`` (both ``FormatError``) for files that cannot be
    cataloged as models, ``UnreadableFileError`` (also a ``FormatError``) for special files, link loops,
    dangling links and missing permissions, and ``FileNotFoundError`` for a file that is gone.
    """
    if path.is_dir():
        if is_diffusers_folder(path):
            return read_diffusers_folder(path)
        if (path / "config.json").is_file():
            raise CorruptFileError(
                "the folder's config.json names no model class and no model weights lie beside it"
            )
        raise CorruptFileError("the folder is not a diffusers model (no model_index.json or config.json)")
    fh = open_regular(path)
    return _read_file(path, fh, os.fstat(fh.fileno()).st_size)


def read_file_header(path: Path) -> ModelHeader:
    """``read_header`` of a path a scan found as a file, with one ``stat`` and one ``open`` for the lot.

    A path that is no regular file (a folder, a special file, a link to nothing, a file gone since the
    walk) raises ``UnreadableFileError`` with ``check_regular``'s reason; nothing else is opened.
    """
    fh, st = open_file(path)
    return _read_file(path, fh, st.st_size)


def _read_file(path: Path, fh: BinaryIO, size: int) -> ModelHeader:
    """The header of the regular file open as ``fh`` (closed here), ``size`` bytes long."""
    suffix = path.suffix.lower()
    with fh:
        head = fh.read(SNIFF_BYTES)
        kind = _sniff(head, size)
        if kind == "safetensors" and suffix != ".gguf":  # the common case: read on from the same open file
            return read_open_safetensors_header(fh, path, head, size)
    if kind in _PICKLE_KINDS:
        if suffix in SAFETENSORS_EXTENSIONS or suffix == ".gguf":
            _refuse_disguised_pickle(path, kind, suffix)
        else:
            try:
                return _read_pickle_header(path)
            except CorruptFileError:
                if kind != "pickle?":
                    raise
                kind = None  # a text file that happens to start like a protocol 0 pickle
    if suffix in SAFETENSORS_EXTENSIONS:
        if kind == "gguf":
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
    if size == 0:
        raise CorruptFileError("the file is empty")
    text = text_instead_of_model(head, plain=False)  # an HTML page, a JSON error, a Git LFS pointer
    if text is not None:
        raise CorruptFileError(text)
    if suffix in PICKLE_FORMATS:
        raise CorruptFileError(f"the {suffix} file is neither a torch checkpoint nor safetensors data")
    raise CorruptFileError("the file is not in a known model format")


_LABELS = {
    "safetensors": "safetensors data",
    "gguf": "GGUF data",
    "zip": "a torch pickle (zip archive)",
    "tar": "a torch pickle (tar archive)",
    "pickle": "a pickle",
    "pickle?": "a pickle",
}
# "pickle?" is a protocol 0/1 pickle, recognised by opcodes rather than a magic number.
_PICKLE_KINDS = frozenset({"zip", "tar", "pickle", "pickle?"})


def _read_pickle_header(path: Path) -> ModelHeader:
    """``pickle_reader.read_pickle_header``, imported on first use (see the module docstring)."""
    from core.formats.pickle_reader import read_pickle_header as read

    return read(path)


def _refuse_disguised_pickle(path: Path, kind: str, suffix: str) -> None:
    """A pickle under a name that promises none: unsafe if it would run code, corrupt otherwise."""
    try:
        _read_pickle_header(path)
    except CorruptFileError:
        if kind == "pickle?":
            return  # not really a pickle: the extension's own reader explains what the file is
    raise CorruptFileError(f"the file is named {suffix} but holds {_LABELS[kind]}; it was not loaded")


def _sniff(head: bytes, size: int) -> str | None:
    """The container the first bytes show: safetensors, gguf, zip, tar, pickle, pickle? or None."""
    if head[:4] == GGUF_MAGIC:
        return "gguf"
    if head[:4] == ZIP_MAGIC:
        return "zip"
    if len(head) >= 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        # A safetensors header is a JSON object right after its length. Checked before the pickle opcode
        # because a header length such as 0x280 also starts with the byte 0x80.
        if 0 < header_len <= min(MAX_HEADER_BYTES, size - 8) and head[8:9] == b"{":
            return "safetensors"
    from core.formats.pickle_stream import looks_like_pickle
    from core.formats.torch_tar import is_tar

    if is_tar(head):
        return "tar"
    if looks_like_pickle(head):
        return "pickle" if head[:1] == b"\x80" else "pickle?"
    return None
