"""Read the values of one small tensor, for the few identification rules that need numbers, not shapes.

ComfyUI tells SD 2.x v-prediction from epsilon models by the spread of a single 320-float norm bias; that
is the kind of read this is for. It seeks straight to the tensor's bytes (safetensors and GGUF headers
give absolute offsets), reads only those, and refuses anything big so a mistaken call can never turn a
scan into a full read of a multi-gigabyte file.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from core.formats.model_file import CorruptFileError, ModelHeader
from core.formats.safe_open import open_regular

_NUMPY_DTYPES: dict[str, str] = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}


def read_tensor(header: ModelHeader, name: str, max_elements: int = 65536) -> NDArray[np.float64]:
    """Return tensor ``name`` of the file behind ``header`` as a flat float64 array.

    Supports F64, F32, F16 and BF16 tensors of files read with random access (safetensors, GGUF). Raises
    ``ValueError`` for a missing, oversized or unsupported tensor and ``CorruptFileError`` when the file no
    longer holds the bytes its header promised.
    """
    info = header.tensors.get(name)
    if info is None:
        raise ValueError(f"{header.path.name} has no tensor {name!r}")
    position = header.data_offset(name)
    if position is None:
        raise ValueError(f"{header.format.value} files do not give random access to tensor data")
    count = math.prod(info.shape)
    if count > max_elements:
        raise ValueError(f"tensor {name!r} has {count:,} elements, more than the {max_elements:,} allowed")
    if info.dtype not in _NUMPY_DTYPES and info.dtype != "BF16":
        raise ValueError(f"tensor {name!r} is {info.dtype}; only F64, F32, F16 and BF16 can be read")
    nbytes = count * (8 if info.dtype == "F64" else 4 if info.dtype == "F32" else 2)
    with open_regular(header.path) as fh:  # the file may have been swapped for a named pipe since
        fh.seek(position)
        raw = fh.read(nbytes)
    if len(raw) != nbytes:
        raise CorruptFileError(f"the file is truncated: tensor {name!r} is cut short")
    if info.dtype == "BF16":
        # bfloat16 is the top half of a float32: widen each 16-bit word into the high bits.
        words = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return words.view(np.float32).astype(np.float64)
    return np.frombuffer(raw, dtype=_NUMPY_DTYPES[info.dtype]).astype(np.float64)
