"""Read and validate the header of a safetensors file without touching its tensor data.

A scan opens thousands of files, so this does the least work that still proves the file is sound: one
``open``, two reads (the 8-byte length and the JSON header), one parse. Everything the safetensors
library itself would reject at load time is rejected here too, with a reason a user can act on, so a file
marked OK in the library is a file the tools will actually load.

Real LoRA headers list 800-3,000 tensors, so parsing dominates a scan. Sound files take a fast path:
msgspec decodes and type-checks every entry in C, and one tight loop checks sizes and the tiling of the
data section. Anything the fast path does not accept falls back to the plain-Python validator, which
applies the same rules and explains exactly what is wrong.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import msgspec

from core.formats.dtypes import SAFETENSORS_DTYPE_BITS
from core.formats.model_file import CorruptFileError, ModelHeader, TensorInfo
from core.taxonomy import FileFormat

# The safetensors library refuses headers above 100 MB; a bigger claim means a damaged or hostile file.
MAX_HEADER_BYTES = 100 * 1024 * 1024
METADATA_KEY = "__metadata__"

# Decodes header entries straight into TensorInfo (fields type-checked in C, unknown keys refused).
_TENSORS = msgspec.json.Decoder(dict[str, TensorInfo])
_JSON = json.JSONDecoder()
_OFFSETS = operator.attrgetter("data_offsets")
_DTYPE = operator.attrgetter("dtype")
_SHAPE = operator.attrgetter("shape")
_BEGIN = operator.itemgetter(0)
_END = operator.itemgetter(1)
_THREES = itertools.repeat(3)  # bytes -> bits is a shift left by 3
# Writers (the safetensors library, kohya, diffusers) put the metadata first, a few hand-made ones last;
# either way it is split off there. Inside a JSON string a quote is escaped, so when '"__metadata__"'
# occurs exactly once, a match of these patterns is the top-level key itself.
_METADATA_FIRST = re.compile(r'\A\s*\{\s*"__metadata__"\s*:\s*')
_METADATA_LAST = re.compile(r',\s*"__metadata__"\s*:\s*')
_METADATA_TOKEN = '"__metadata__"'


class _FastPathRefusedError(Exception):
    """The fast path cannot vouch for this header; the strict validator decides."""


def read_safetensors_header(path: Path) -> ModelHeader:
    """Return names, dtypes, shapes, absolute data offsets and ``__metadata__`` of a safetensors file.

    Raises ``CorruptFileError`` when the file is not a well-formed safetensors file; ``OSError`` when it
    cannot be opened or read at all.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise CorruptFileError("the file is empty")
        if size < 8:
            raise CorruptFileError(
                f"the file is only {size} bytes long; a safetensors file starts with an 8-byte header length"
            )
        (header_len,) = struct.unpack("<Q", fh.read(8))
        _check_header_length(header_len, size)
        raw = fh.read(header_len)
    if len(raw) != header_len:
        raise CorruptFileError("the file is truncated: it ends inside the header")
    data_start = 8 + header_len
    try:
        tensors, metadata = _fast_validate(raw, size - data_start)
    except _FastPathRefusedError:
        tensors, metadata = _validate(_parse_json(raw), size - data_start)
    return ModelHeader(
        path=path,
        format=FileFormat.SAFETENSORS,
        size=size,
        tensors=tensors,
        metadata=metadata,
        data_start=data_start,
    )


def _check_header_length(header_len: int, size: int) -> None:
    if header_len == 0:
        raise CorruptFileError("the header length is 0: this is not a safetensors file")
    if header_len > MAX_HEADER_BYTES:
        raise CorruptFileError(
            f"the header claims {header_len:,} bytes, more than the 100 MiB the format allows: "
            "this is not a safetensors file, or it is damaged"
        )
    if 8 + header_len > size:
        raise CorruptFileError(
            f"the header claims {header_len:,} bytes but the file has only {size - 8:,} after the length: "
            "the file is truncated or is not a safetensors file"
        )


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"the header is not valid UTF-8 (byte {exc.start})") from None
    try:
        header = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"the header is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise CorruptFileError("the header is not a safetensors header: JSON nested too deeply") from None
    if not isinstance(header, dict):
        raise CorruptFileError(f"the header is JSON {type(header).__name__}, not a JSON object")
    return header


def _fast_validate(raw: bytes, data_size: int) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Accept a sound header fast, or refuse; never accepts what ``_validate`` would reject."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _FastPathRefusedError from None
    metadata: dict[str, str] = {}
    tensors_json = text
    occurrences = text.count(_METADATA_TOKEN)
    if occurrences > 1:
        raise _FastPathRefusedError
    if occurrences == 1:
        metadata, tensors_json = _split_metadata(text)
    try:
        tensors = _TENSORS.decode(tensors_json)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Also refuses a header whose metadata sits in the middle: that entry does not decode as a tensor.
        raise _FastPathRefusedError from None
    # Every check below runs as C-level map/sort passes over all entries, no per-tensor Python code.
    values = list(tensors.values())
    maybe_offsets = list(map(_OFFSETS, values))
    if None in maybe_offsets:
        raise _FastPathRefusedError
    offsets = cast("list[tuple[int, int]]", maybe_offsets)
    try:
        bits = list(map(SAFETENSORS_DTYPE_BITS.__getitem__, map(_DTYPE, values)))
    except KeyError:
        raise _FastPathRefusedError from None
    needed_bits = list(map(operator.mul, map(math.prod, map(_SHAPE, values)), bits))
    span_bits = list(
        map(operator.lshift, map(operator.sub, map(_END, offsets), map(_BEGIN, offsets)), _THREES)
    )
    if needed_bits != span_bits:
        raise _FastPathRefusedError  # a size that does not match its dtype and shape
    # The spans must tile the data section exactly: each begins where the previous one ends.
    spans = sorted(offsets)
    if spans:
        if spans[0][0] != 0 or spans[-1][1] != data_size:
            raise _FastPathRefusedError
        if list(map(_END, spans[:-1])) != list(map(_BEGIN, spans[1:])):
            raise _FastPathRefusedError
    elif data_size != 0:
        raise _FastPathRefusedError
    return tensors, metadata


def _split_metadata(text: str) -> tuple[dict[str, str], str]:
    """Cut the ``__metadata__`` member out of the header text: (metadata, the tensors' JSON object)."""
    first = _METADATA_FIRST.match(text)
    key = first or _METADATA_LAST.search(text)
    if key is None:
        raise _FastPathRefusedError
    try:
        value, end = _JSON.raw_decode(text, key.end())
    except (json.JSONDecodeError, RecursionError):
        raise _FastPathRefusedError from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _FastPathRefusedError
    rest = text[end:].lstrip()
    if first is not None:
        if rest.startswith(","):
            return value, "{" + rest[1:]
        if rest.startswith("}") and not rest[1:].strip():
            return value, "{}"
        raise _FastPathRefusedError
    if rest.startswith("}") and not rest[1:].strip():
        return value, text[: key.start()] + "}"
    raise _FastPathRefusedError


def _validate(header: Mapping[str, Any], data_size: int) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    metadata = _validate_metadata(header.get(METADATA_KEY))
    tensors: dict[str, TensorInfo] = {}
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == METADATA_KEY:
            continue
        dtype, shape, begin, end = _validate_entry(name, entry)
        spans.append((begin, end, name))
        tensors[name] = TensorInfo(dtype=dtype, shape=shape, data_offsets=(begin, end))
    _validate_layout(spans, data_size)
    return tensors, metadata


def _validate_metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CorruptFileError(f"__metadata__ is JSON {type(value).__name__}, not an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise CorruptFileError(
                f"__metadata__[{key!r}] is JSON {type(item).__name__}; "
                "safetensors metadata values must be strings"
            )
    return value


def _validate_entry(name: str, entry: object) -> tuple[str, tuple[int, ...], int, int]:
    if not isinstance(entry, dict):
        raise CorruptFileError(f"tensor {name!r}: its header entry is not a JSON object")
    dtype = entry.get("dtype")
    if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPE_BITS:
        raise CorruptFileError(f"tensor {name!r}: unknown dtype {dtype!r}")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(_is_count(dim) for dim in shape):
        raise CorruptFileError(f"tensor {name!r}: shape {shape!r} is not a list of non-negative integers")
    offsets = entry.get("data_offsets")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(x) for x in offsets)):
        raise CorruptFileError(
            f"tensor {name!r}: data_offsets {offsets!r} is not a pair of non-negative integers"
        )
    begin, end = offsets
    if end < begin:
        raise CorruptFileError(f"tensor {name!r}: data_offsets end {end} is before its begin {begin}")
    bits = math.prod(shape) * SAFETENSORS_DTYPE_BITS[dtype]
    if bits % 8:
        raise CorruptFileError(f"tensor {name!r}: {dtype} {shape} does not fill a whole number of bytes")
    if end - begin != bits // 8:
        raise CorruptFileError(
            f"tensor {name!r}: {dtype} {shape} needs {bits // 8:,} bytes "
            f"but data_offsets span {end - begin:,}"
        )
    return dtype, tuple(shape), begin, end


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _validate_layout(spans: list[tuple[int, int, str]], data_size: int) -> None:
    """Tensors must tile the data section exactly, as the safetensors loader demands."""
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin < position:
            raise CorruptFileError(f"tensor {name!r} overlaps the tensor before it (bytes {begin}-{end})")
        if begin > position:
            raise CorruptFileError(
                f"tensor {name!r} starts at byte {begin}, leaving a gap at byte {position}"
            )
        position = end
    if position > data_size:
        raise CorruptFileError(
            f"the file is truncated: its tensors need {position:,} bytes of data "
            f"but only {data_size:,} are present"
        )
    if position < data_size:
        raise CorruptFileError(
            f"the file has {data_size - position:,} unexpected bytes after the last tensor's data"
        )
