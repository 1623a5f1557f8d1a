"""GGUF transformer files as ComfyUI-GGUF (city96) writes them, for the render tests.

A city96 file holds the diffusion model alone, in the names of the diffusion-model-only
``.safetensors`` file, with ``general.architecture`` naming the model (``flux``...). Matrices whose rows
split into 32-value blocks are quantized (Q8_0 here, the quality most users pick); vectors and odd
shapes stay F16. Written with the ``gguf`` package's own writer and quantizer (llama.cpp's reference
code), so the bytes are what a real converter writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_gguf(path: Path, state: Mapping[str, Any], *, arch: str, quantize: bool) -> Path:
    """``state`` (torch tensors) as a GGUF file; ``quantize`` stores every 2-D tensor whose rows are
    whole 32-value blocks as Q8_0 and the rest as F16 (False: everything F16, which dequantizes to
    exactly the F16 values)."""
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    for name, tensor in state.items():
        values = tensor.detach().float().numpy()
        if quantize and values.ndim == 2 and values.shape[-1] % 32 == 0:
            data = gguf.quants.quantize(values, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, values.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def as_stored(state: Mapping[str, Any], *, quantize: bool) -> dict[str, Any]:
    """The float32 values a GGUF file written by :func:`write_gguf` holds: F16-rounded, and Q8_0
    round-tripped where quantized — the weights a ``.safetensors`` file must hold to be the same model."""
    import gguf
    import numpy as np
    import torch

    stored: dict[str, Any] = {}
    for name, tensor in state.items():
        values = tensor.detach().float().numpy()
        if quantize and values.ndim == 2 and values.shape[-1] % 32 == 0:
            kind = gguf.GGMLQuantizationType.Q8_0
            values = gguf.quants.dequantize(gguf.quants.quantize(values, kind), kind)
        else:
            values = values.astype(np.float16).astype(np.float32)
        stored[name] = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return stored
