"""Write real safetensors files for tests, including zero-filled files of real-model size.

A zero-filled file is written sparsely (header, then the file is extended with ``truncate``), so a
2 GB SD1 layout costs almost no disk or time while staying byte-for-byte a valid safetensors file.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

DTYPE_SIZES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
YAML_DTYPES = {
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "float64": "F64",
    "int64": "I64",
    "int32": "I32",
    "uint8": "U8",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "bool": "BOOL",
}
NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}

TensorSpec = tuple[str, tuple[int, ...]]


def _order(specs: Mapping[str, TensorSpec]) -> list[str]:
    # Same order the safetensors writer uses: larger dtype first, then by name.
    return sorted(specs, key=lambda name: (-DTYPE_SIZES[specs[name][0]], name))


def write_safetensors(
    path: Path,
    specs: Mapping[str, TensorSpec],
    *,
    metadata: Mapping[str, str] | None = None,
    values: Mapping[str, np.ndarray] | None = None,
    seed: int | None = None,
) -> Path:
    """Write ``specs`` (name -> (dtype, shape)) as a valid safetensors file.

    Tensors in ``values`` get those exact values; with ``seed`` the others get random values (float
    dtypes only), else they are zero and written sparsely.
    """
    values = dict(values or {})
    rng = np.random.default_rng(seed) if seed is not None else None
    # Real writers (the safetensors library, kohya) put __metadata__ first.
    header: dict[str, object] = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    names = _order(specs)
    for name in names:
        dtype, shape = specs[name]
        nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-(8 + len(raw)) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        start = fh.tell()
        for name in names:
            dtype, shape = specs[name]
            data: np.ndarray | None = values.get(name)
            if data is None and rng is not None and dtype in NUMPY_DTYPES:
                data = rng.standard_normal(shape).astype(NUMPY_DTYPES[dtype]) * 0.02
            if data is not None:
                entry = header[name]
                assert isinstance(entry, dict)
                fh.seek(start + entry["data_offsets"][0])
                fh.write(np.ascontiguousarray(data, dtype=NUMPY_DTYPES[dtype]).tobytes())
        fh.truncate(start + offset)
    return path
