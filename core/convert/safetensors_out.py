"""Writing a safetensors file tensor by tensor, and proving it by reading it back.

numpy has no bfloat16 and ``safetensors.numpy`` cannot write it, so the file is written here: an 8-byte
little-endian header length, the JSON header padded with spaces to 8 bytes, then each tensor's bytes at
the offsets the header gives. Tensors are streamed one at a time, so converting a 7 GB checkpoint needs
the memory of its largest tensor, not of the file.

Verification reads the finished file back: the safetensors library must parse the header and report the
same names, dtypes, shapes and metadata, and every tensor's bytes, read from the offsets the file itself
declares, must hash to the digest of the bytes taken from the source.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from safetensors import SafetensorError, safe_open

from core.convert.errors import ConvertError
from core.convert.selection import OutputTensor
from core.formats.model_file import FormatError
from core.formats.safetensors_header import read_safetensors_header
from core.jobs import CancelToken

_READ_CHUNK = 16 * 2**20


def header_bytes(tensors: Sequence[OutputTensor], metadata: Mapping[str, str]) -> bytes:
    """The length prefix and JSON header for ``tensors`` laid out back to back in this order."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for tensor in tensors:
        header[tensor.name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + tensor.nbytes],
        }
        offset += tensor.nbytes
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def write_safetensors(
    path: Path,
    tensors: Sequence[OutputTensor],
    metadata: Mapping[str, str],
    produce: Callable[[OutputTensor], bytes],
    *,
    on_bytes: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, bytes]:
    """Write ``path`` (which must not exist) and return each tensor's BLAKE2b digest, fsynced to disk.

    ``produce`` gives a tensor's final bytes; ``on_bytes`` is told the running total written.
    """
    digests: dict[str, bytes] = {}
    written = 0
    with open(path, "xb") as fh:
        fh.write(header_bytes(tensors, metadata))
        for tensor in tensors:
            if cancel is not None:
                cancel.raise_if_cancelled()
            data = produce(tensor)
            if len(data) != tensor.nbytes:
                raise ConvertError(
                    f"tensor {tensor.source!r} gave {len(data):,} bytes instead of {tensor.nbytes:,}"
                )
            fh.write(data)
            digests[tensor.name] = hashlib.blake2b(data, digest_size=32).digest()
            written += len(data)
            if on_bytes is not None:
                on_bytes(written)
        fh.flush()
        os.fsync(fh.fileno())
    return digests


def verify_safetensors(
    path: Path,
    tensors: Sequence[OutputTensor],
    metadata: Mapping[str, str],
    digests: Mapping[str, bytes],
    *,
    cancel: CancelToken | None = None,
) -> None:
    """Raise ``ConvertError`` unless ``path`` holds exactly ``tensors`` with these bytes and metadata."""
    expected = {tensor.name: tensor for tensor in tensors}
    try:
        with safe_open(str(path), framework="numpy") as reader:
            names = set(reader.keys())
            if names != set(expected):
                raise ConvertError("the written file does not list the same tensors; it was removed")
            if dict(reader.metadata() or {}) != dict(metadata):
                raise ConvertError("the written file's metadata differs; it was removed")
            for name, tensor in expected.items():
                view = reader.get_slice(name)
                if view.get_dtype() != tensor.dtype or tuple(view.get_shape()) != tensor.shape:
                    raise ConvertError(f"tensor {name!r} was written with the wrong type or shape")
    except SafetensorError as exc:
        raise ConvertError(f"the written file does not read back as safetensors ({exc})") from None
    try:
        header = read_safetensors_header(path)
    except FormatError as exc:
        raise ConvertError(f"the written file does not read back: {exc.reason}") from None
    with open(path, "rb") as fh:
        for name in expected:
            if cancel is not None:
                cancel.raise_if_cancelled()
            start = header.data_offset(name)
            if start is None:  # pragma: no cover - safetensors always gives offsets
                raise ConvertError(f"tensor {name!r} has no place in the written file")
            digest = _digest_range(fh, start, header.tensors[name].nbytes)
            if digest != digests[name]:
                raise ConvertError(
                    f"tensor {name!r} reads back different from the source; the file was removed"
                )


def _digest_range(fh: IO[bytes], start: int, length: int) -> bytes:
    hasher = hashlib.blake2b(digest_size=32)
    fh.seek(start)
    left = length
    while left:
        chunk = fh.read(min(left, _READ_CHUNK))
        if not chunk:
            break
        hasher.update(chunk)
        left -= len(chunk)
    return hasher.digest()
