"""Read the header of a GGUF file (quantised Flux / SD / text-encoder weights) without reading tensor data.

GGUF is llama.cpp's container: magic ``GGUF``, a version (2 or 3; little-endian), key/value metadata of
typed values, then one record per tensor (name, dims, ggml type, offset from the aligned data start).
The header is walked through a read-only memory map so skipping a 250k-entry tokenizer vocabulary costs
no copies. Every count and length is checked against the file size and a sane bound before it is used,
since a crafted header could otherwise claim billions of entries; skipped values are stepped over without
being copied, so time and memory stay proportional to the header's real size. Any defect is a
``CorruptFileError`` naming it; the file is only opened when it is a regular file.
"""

from __future__ import annotations

import itertools
import json
import math
import mmap
import os
import struct
from pathlib import Path

from core.formats.model_file import CorruptFileError, ModelHeader, TensorInfo
from core.formats.safe_open import open_regular
from core.taxonomy import FileFormat

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_TENSORS = 1_000_000
MAX_KV = 100_000
MAX_ARRAY_LENGTH = 16 * 1024 * 1024
MAX_STRING_BYTES = 64 * 1024 * 1024
MAX_ARRAY_NESTING = 4
# GGML_MAX_DIMS in ggml.h.
MAX_DIMS = 4
# Arrays up to this many elements are kept (as JSON) in the metadata; longer ones (vocabularies) are skipped.
MAX_KEPT_ARRAY = 64
# And at most this many elements per metadata value in all, so nested small arrays (64 x 64 x 64 x 64)
# cannot build millions of Python objects out of a few megabytes.
MAX_KEPT_ELEMENTS = 256

# ggml type id -> (name, block size in elements, bytes per block); from gguf-py's GGML_QUANT_SIZES.
_QK_K = 256
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 2 + 16),
    3: ("Q4_1", 32, 2 + 2 + 16),
    6: ("Q5_0", 32, 2 + 4 + 16),
    7: ("Q5_1", 32, 2 + 2 + 4 + 16),
    8: ("Q8_0", 32, 2 + 32),
    9: ("Q8_1", 32, 4 + 4 + 32),
    10: ("Q2_K", _QK_K, 2 + 2 + _QK_K // 16 + _QK_K // 4),
    11: ("Q3_K", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + 12),
    12: ("Q4_K", _QK_K, 2 + 2 + _QK_K // 2 + 12),
    13: ("Q5_K", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 8 + 12),
    14: ("Q6_K", _QK_K, 2 + _QK_K // 2 + _QK_K // 4 + _QK_K // 16),
    15: ("Q8_K", _QK_K, 4 + _QK_K + _QK_K // 8),
    16: ("IQ2_XXS", _QK_K, 2 + _QK_K // 4),
    17: ("IQ2_XS", _QK_K, 2 + _QK_K // 4 + _QK_K // 32),
    18: ("IQ3_XXS", _QK_K, 2 + _QK_K // 4 + _QK_K // 8),
    19: ("IQ1_S", _QK_K, 2 + _QK_K // 8 + _QK_K // 16),
    20: ("IQ4_NL", 32, 2 + 16),
    21: ("IQ3_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + _QK_K // 32 + 4),
    22: ("IQ2_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 16),
    23: ("IQ4_XS", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 64),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", _QK_K, _QK_K // 8 + _QK_K // 16 + _QK_K // 32),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", _QK_K, 2 + 4 * 13),
    35: ("TQ2_0", _QK_K, 2 + 64),
    39: ("MXFP4", 32, 1 + 16),
    40: ("NVFP4", 64, 4 + 32),
}

# GGUF metadata value types: id -> struct format of a scalar (strings and arrays are handled apart).
_STRING, _ARRAY = 8, 9
_SCALARS: dict[int, struct.Struct] = {
    0: struct.Struct("<B"),
    1: struct.Struct("<b"),
    2: struct.Struct("<H"),
    3: struct.Struct("<h"),
    4: struct.Struct("<I"),
    5: struct.Struct("<i"),
    6: struct.Struct("<f"),
    7: struct.Struct("<?"),
    10: struct.Struct("<Q"),
    11: struct.Struct("<q"),
    12: struct.Struct("<d"),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_SKIPPED = object()  # an array too long to keep


def read_gguf_header(path: Path) -> ModelHeader:
    """Tensor names (torch dim order), ggml types, absolute offsets and small metadata of a GGUF file."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 4 + 4 + 8 + 8:
            raise CorruptFileError(f"the file is only {size} bytes long: too short for a GGUF header")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            metadata, tensors, data_start = _Parser(view, size).parse()
    return ModelHeader(
        path=path,
        format=FileFormat.GGUF,
        size=size,
        tensors=tensors,
        metadata=metadata,
        data_start=data_start,
    )


class _Parser:
    def __init__(self, view: mmap.mmap, size: int) -> None:
        self.view = view
        self.size = size
        self.pos = 0
        self.kept = 0  # array elements kept for the current metadata value

    def parse(self) -> tuple[dict[str, str], dict[str, TensorInfo], int]:
        if self._take(4) != GGUF_MAGIC:
            raise CorruptFileError("the file does not start with the GGUF magic bytes")
        version = self._u32()
        if version not in SUPPORTED_VERSIONS:
            raise CorruptFileError(f"unsupported GGUF version {version} (only versions 2 and 3 are read)")
        tensor_count = self._count(self._u64(), MAX_TENSORS, "tensors")
        kv_count = self._count(self._u64(), MAX_KV, "metadata entries")
        metadata: dict[str, str] = {}
        alignment = DEFAULT_ALIGNMENT
        for _ in range(kv_count):
            key = self._string()
            if key in metadata:
                raise CorruptFileError(f"metadata key {key!r} appears twice")
            value_type = self._u32()
            self.kept = 0
            value = self._value(value_type, depth=0)
            if key == "general.alignment":
                alignment = _alignment(value_type, value)
            if value is not _SKIPPED:
                metadata[key] = value if isinstance(value, str) else _as_json(value)
        records = [self._tensor_record() for _ in range(tensor_count)]
        data_start = _align(self.pos, alignment)
        tensors = _original_shapes(_tensors(records, data_start, alignment, self.size), metadata)
        return metadata, tensors, data_start

    def _tensor_record(self) -> tuple[str, tuple[int, ...], int, int]:
        name = self._string()
        n_dims = self._u32()
        if not 1 <= n_dims <= MAX_DIMS:
            raise CorruptFileError(f"tensor {name!r} has {n_dims} dimensions (GGUF allows 1 to {MAX_DIMS})")
        dims = tuple(self._u64() for _ in range(n_dims))
        return name, dims, self._u32(), self._u64()

    def _value(self, value_type: int, depth: int) -> object:
        scalar = _SCALARS.get(value_type)
        if scalar is not None:
            return scalar.unpack(self._take(scalar.size))[0]
        if value_type == _STRING:
            return self._string(lenient=True)
        if value_type == _ARRAY:
            return self._array(depth)
        raise CorruptFileError(f"unknown metadata value type {value_type} at byte {self.pos - 4}")

    def _array(self, depth: int) -> object:
        if depth >= MAX_ARRAY_NESTING:
            raise CorruptFileError("metadata arrays are nested too deeply")
        item_type = self._u32()
        length = self._count(self._u64(), MAX_ARRAY_LENGTH, "array elements")
        keep = length <= MAX_KEPT_ARRAY and self.kept + length <= MAX_KEPT_ELEMENTS
        if keep:
            self.kept += length
        scalar = _SCALARS.get(item_type)
        if scalar is not None:
            if not keep:
                self._skip(scalar.size * length)
                return _SKIPPED
            return [value for (value,) in scalar.iter_unpack(self._take(scalar.size * length))]
        if item_type == _STRING and not keep:
            for _ in range(length):
                self._skip(self._count(self._u64(), MAX_STRING_BYTES, "string bytes"))
            return _SKIPPED
        if item_type not in (_STRING, _ARRAY):
            raise CorruptFileError(f"unknown metadata array element type {item_type} at byte {self.pos - 12}")
        if not keep:
            for _ in range(length):
                self._value(item_type, depth + 1)
            return _SKIPPED
        items = [self._value(item_type, depth + 1) for _ in range(length)]
        return items if _SKIPPED not in items else _SKIPPED

    def _string(self, *, lenient: bool = False) -> str:
        raw = self._take(self._count(self._u64(), MAX_STRING_BYTES, "string bytes"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if lenient:
                return raw.decode("utf-8", errors="replace")
            raise CorruptFileError(f"a name at byte {self.pos - len(raw)} is not valid UTF-8") from None

    def _count(self, value: int, bound: int, what: str) -> int:
        if value > bound:
            raise CorruptFileError(f"the header claims {value:,} {what} (more than {bound:,}): it is damaged")
        return value

    def _u32(self) -> int:
        return int(_U32.unpack(self._take(4))[0])

    def _u64(self) -> int:
        return int(_U64.unpack(self._take(8))[0])

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if end > self.size:
            raise CorruptFileError(f"the file is truncated: the GGUF header runs past its end (byte {end:,})")
        chunk = self.view[self.pos : end]
        self.pos = end
        return chunk

    def _skip(self, n: int) -> None:
        if self.pos + n > self.size:
            raise CorruptFileError("the file is truncated: the GGUF header runs past its end")
        self.pos += n


def _as_json(value: object) -> str:
    """A kept scalar or array as JSON text; NaN and infinities (valid floats) are spelled as strings."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value))


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _alignment(value_type: int, value: object) -> int:
    if value_type != 4 or not isinstance(value, int) or value <= 0 or value & (value - 1):
        raise CorruptFileError(f"general.alignment {value!r} is not a power-of-two uint32")
    return value


def _align(offset: int, alignment: int) -> int:
    return offset + (-offset % alignment)


def _tensors(
    records: list[tuple[str, tuple[int, ...], int, int]], data_start: int, alignment: int, size: int
) -> dict[str, TensorInfo]:
    tensors: dict[str, TensorInfo] = {}
    spans: list[tuple[int, int, str]] = []
    for name, dims, type_id, offset in records:
        if name in tensors:
            raise CorruptFileError(f"tensor {name!r} appears twice")
        if type_id not in GGML_TYPES:
            raise CorruptFileError(f"tensor {name!r} has unknown ggml type {type_id}")
        type_name, block, block_bytes = GGML_TYPES[type_id]
        if dims[0] % block:
            raise CorruptFileError(
                f"tensor {name!r}: {type_name} rows of {dims[0]} are not whole blocks of {block}"
            )
        if offset % alignment:
            raise CorruptFileError(f"tensor {name!r}: offset {offset} is not a multiple of {alignment}")
        nbytes = math.prod(dims) // block * block_bytes
        begin = data_start + offset
        if begin + nbytes > size:
            raise CorruptFileError(
                f"the file is truncated: tensor {name!r} ends at byte {begin + nbytes:,} of {size:,}"
            )
        spans.append((begin, begin + nbytes, name))
        # GGUF lists dimensions fastest-varying first; torch and safetensors list them the other way round.
        tensors[name] = TensorInfo(dtype=type_name, shape=dims[::-1], data_offsets=(offset, offset + nbytes))
    spans.sort()
    for (_, previous_end, previous), (begin, _, name) in itertools.pairwise(spans):
        if begin < previous_end:
            raise CorruptFileError(f"tensor {name!r} overlaps tensor {previous!r}")
    return tensors


# ComfyUI-GGUF (city96) stores tensors of more than GGML_MAX_DIMS dimensions (Wan's and Hunyuan Video's
# 5-D patch embeddings) flattened, with their real torch shape in this metadata key.
_ORIG_SHAPE = "comfy.gguf.orig_shape."


def _original_shapes(tensors: dict[str, TensorInfo], metadata: dict[str, str]) -> dict[str, TensorInfo]:
    """``tensors`` with the shapes ComfyUI-GGUF recorded for flattened tensors, where they hold the same
    number of elements (a recorded shape that does not is a defect of the file)."""
    for key, value in metadata.items():
        if not key.startswith(_ORIG_SHAPE):
            continue
        name = key[len(_ORIG_SHAPE) :]
        info = tensors.get(name)
        if info is None:
            continue
        shape = json.loads(value)
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise CorruptFileError(f"{key} is not a list of dimensions")
        if math.prod(shape) != math.prod(info.shape):
            raise CorruptFileError(f"{key} {shape} does not hold the {math.prod(info.shape)} elements stored")
        tensors[name] = TensorInfo(dtype=info.dtype, shape=tuple(shape), data_offsets=info.data_offsets)
    return tensors
