"""One header, indexed once for all matchers.

Identification runs on every file of a 10,000-file scan and every matcher asks the same questions ("is
there a tensor named X?", "does any name start with Y?", "what shape is Z?"). A ``HeaderView`` answers
them from indexes built lazily, at most once per file (once per distinct tensor table when the reader
shares one: ``TensorTable``), so each matcher costs a few dictionary lookups instead of another pass over
thousands of names.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from core.formats.embedded_metadata import EmbeddedMetadata, read_embedded_metadata
from core.formats.model_file import ModelHeader, TensorInfo, derived_from

if TYPE_CHECKING:  # numpy is loaded only when a tensor is actually read
    import numpy as np

TensorReader = Callable[[str], "np.ndarray"]

# bitsandbytes 4-bit linears (Forge's ``flux1-dev-bnb-nf4``) are stored as U8 ``[elements / 2, 1]`` with the
# quantization state beside them, under the weight's name plus one of these suffixes.
BNB_4BIT_STATES: dict[str, str] = {
    ".quant_state.bitsandbytes__nf4": "nf4",
    ".quant_state.bitsandbytes__fp4": "fp4",
}


def bnb_4bit_format(tensors: Mapping[str, TensorInfo], name: str) -> str | None:
    """``nf4``/``fp4`` where ``name`` is a bitsandbytes 4-bit packed weight (U8, its quantization state
    beside it), else None: the one test of that state, for a weight's shape (``HeaderView``) and for the
    file's precision (``core.identify.precision``)."""
    info = tensors.get(name)
    if info is None or info.dtype != "U8":
        return None
    return next((fmt for suffix, fmt in BNB_4BIT_STATES.items() if name + suffix in tensors), None)


# Sorts after every character a tensor name can contain, so ``prefix + _LAST_CHAR`` bounds a prefix range.
_LAST_CHAR = "\U0010ffff"


class HeaderView:
    """Read-only, lazily indexed access to a ``ModelHeader``."""

    def __init__(self, header: ModelHeader, read_tensor: TensorReader | None = None) -> None:
        self.header = header
        self.tensors: Mapping[str, TensorInfo] = header.tensors
        self.metadata: Mapping[str, str] = header.metadata
        self.extras: Mapping[str, Any] = header.extras
        self.read_tensor = read_tensor

    @cached_property
    def embedded(self) -> EmbeddedMetadata:
        return read_embedded_metadata(self.metadata)

    @cached_property
    def first_parts(self) -> frozenset[str]:
        """The first dotted component of every name (``lora_unet_x``, ``model``, ``encoder``...)."""
        tensors = self.tensors
        return derived_from(
            tensors, "first_parts", lambda: frozenset(name.partition(".")[0] for name in tensors)
        )

    @cached_property
    def sorted_names(self) -> list[str]:
        """Every name in sorted order; shared with the other files of a shared table: never modify it."""
        tensors = self.tensors
        return derived_from(tensors, "sorted_names", lambda: sorted(tensors))

    def __len__(self) -> int:
        return len(self.tensors)

    def has(self, name: str) -> bool:
        return name in self.tensors

    def shape(self, name: str) -> tuple[int, ...] | None:
        """The tensor's shape as the model uses it: a bitsandbytes 4-bit weight's stored shape counts
        packed bytes, so its ``(out, in)`` is read from its module's bias (None where it has none)."""
        info = self.tensors.get(name)
        if info is None:
            return None
        if bnb_4bit_format(self.tensors, name) is not None:
            return self._unpacked_shape(name)
        return info.shape

    def packed_elements(self, name: str) -> int | None:
        """How many numbers a bitsandbytes 4-bit weight holds (two per stored byte), else None."""
        if bnb_4bit_format(self.tensors, name) is None:
            return None
        return 2 * math.prod(self.tensors[name].shape)

    def _unpacked_shape(self, name: str) -> tuple[int, ...] | None:
        elements = self.packed_elements(name)
        bias = self.tensors.get(name.removesuffix(".weight") + ".bias") if name.endswith(".weight") else None
        if elements is None or bias is None or len(bias.shape) != 1:
            return None
        out = bias.shape[0]
        return (out, elements // out) if out and elements % out == 0 else None

    def dim(self, name: str, axis: int) -> int | None:
        """One dimension of a tensor's shape, or None when the tensor or the axis does not exist."""
        shape = self.shape(name)
        if shape is None or not -len(shape) <= axis < len(shape):
            return None
        return shape[axis]

    def first_present(self, names: Iterable[str]) -> str | None:
        return next((name for name in names if name in self.tensors), None)

    def has_prefix(self, prefix: str) -> bool:
        names = self.sorted_names
        index = bisect_left(names, prefix)
        return index < len(names) and names[index].startswith(prefix)

    def with_prefix(self, prefix: str) -> list[str]:
        """All names starting with ``prefix``, in sorted order (a slice of the sorted index)."""
        names = self.sorted_names
        return names[bisect_left(names, prefix) : bisect_left(names, prefix + _LAST_CHAR)]

    def find_suffix(self, suffix: str) -> str | None:
        """The first name (sorted order) ending with ``suffix``; a full pass, for rarely reached matchers."""
        return next((name for name in self.sorted_names if name.endswith(suffix)), None)
