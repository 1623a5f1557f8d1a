"""The dominant floating point type of a file's weights.

"Dominant" is by element count, not by tensor count: an fp16 checkpoint keeps a few fp32 scalars and
int64 ``position_ids``, and a "fp8" checkpoint keeps its norms in bf16; what matters to the user (size,
quality, which loader options apply) is the type most of the weights are stored in. Integer tensors are
ignored; quantised GGUF types and F64 have no name in the vocabulary, so a file dominated by them has
no precision rather than a misleading one. A file whose linears are bitsandbytes 4-bit (U8 bytes with a
``quant_state.bitsandbytes__nf4``/``__fp4`` beside each) is ``nf4``/``fp4``: its float tensors are only the
norms and biases left unquantized.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from operator import attrgetter

from core.formats.model_file import TensorInfo
from core.identify.view import BNB_4BIT_STATES, bnb_4bit_format
from core.taxonomy import Precision

_FLOAT_PRECISIONS: dict[str, Precision] = {
    "F32": Precision.FP32,
    "F16": Precision.FP16,
    "BF16": Precision.BF16,
    "F8_E4M3": Precision.FP8,
    "F8_E5M2": Precision.FP8,
    "F8_E4M3FNUZ": Precision.FP8,
    "F8_E5M2FNUZ": Precision.FP8,
}
_DTYPE = attrgetter("dtype")
# Element types that are neither weights (integers, booleans) nor quantised blocks.
_IGNORED = frozenset({"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64"})
# The precisions of bitsandbytes 4-bit packed weights: what the renderer cannot load, what identify explains.
PACKED_4BIT_PRECISIONS = frozenset(Precision(fmt) for fmt in BNB_4BIT_STATES.values())


def dominant_precision(
    tensors: Mapping[str, TensorInfo], dtypes: frozenset[str] | None = None
) -> Precision | None:
    """Precision of the float dtype holding the most elements; None without float weights.

    ``dtypes``, the set of the tensors' dtypes when the header reader already has it, spares a pass.
    """
    if dtypes is None:
        dtypes = frozenset(map(_DTYPE, tensors.values()))  # one C-level pass, no Python code per tensor
    if "U8" in dtypes:  # rare: only then are the names searched for bitsandbytes' quantization state
        packed = _bnb_precision(tensors)
        if packed is not None:
            return packed
    weighted = dtypes - _IGNORED
    if not weighted:
        return None
    if len(weighted) == 1:  # the common case, decided without multiplying shapes
        return _FLOAT_PRECISIONS.get(next(iter(weighted)))
    counts: dict[str, int] = {}
    for info in tensors.values():
        if info.dtype not in _IGNORED:
            counts[info.dtype] = counts.get(info.dtype, 0) + math.prod(info.shape)
    # Ties resolved by name for determinism; ties on real files do not happen.
    top = max(sorted(counts), key=lambda dtype: counts[dtype])
    return _FLOAT_PRECISIONS.get(top)


def _bnb_precision(tensors: Mapping[str, TensorInfo]) -> Precision | None:
    """``nf4``/``fp4`` when the file's weights are bitsandbytes 4-bit packed, else None."""
    for name, info in tensors.items():
        if info.dtype == "U8" and (fmt := bnb_4bit_format(tensors, name)) is not None:
            return Precision(fmt)
    return None
