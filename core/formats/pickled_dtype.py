"""numpy dtypes as a pickle may see them: a recipe, turned into a private numpy dtype where one is used.

numpy lets ``dtype.__setstate__`` (the pickle's BUILD) resize a flexible dtype (``U1``, ``S4``, ``V8``) in
place. An array or scalar already built on that dtype then believes its elements are larger than its
buffer, and the next read (``tolist()``, ``item()``) runs past the end of the allocation: a 150-byte pickle
crashes the process with a segmentation fault. So ``numpy.dtype(...)`` and the ``numpy.dtypes`` classes
never hand a real dtype to the pickle: they hand a ``PickledDType`` recording the call and any BUILD
state, and every consumer (``_reconstruct``, ``scalar``, an array's ``__setstate__``) gets a fresh copy
built from that recipe. A BUILD arriving later changes the recipe, never a dtype in use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.formats.model_file import CorruptFileError
from core.formats.pickle_limits import Expandable, short_repr

# Structured dtypes nest their fields' dtypes; real ones are a few levels deep.
MAX_NESTING = 8


class PickledDType(Expandable):
    """``factory(*args)``, then ``__setstate__(state)`` if the pickle built one: realised on demand."""

    __slots__ = ("args", "factory", "label", "state")

    def __init__(self, factory: Callable[..., Any], args: tuple[object, ...], label: str) -> None:
        self.factory = factory
        self.args = args
        self.label = label
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state

    def children(self) -> list[object]:
        return [self.args, self.state]

    def describe(self) -> str:
        return f"{self.label}({', '.join(short_repr(arg) for arg in self.args)})"

    def realize(self, depth: int = 0) -> np.dtype[Any]:
        """A new numpy dtype from the recipe, with nested recipes realised too."""
        if depth > MAX_NESTING:
            raise CorruptFileError(f"the pickle nests numpy dtypes more than {MAX_NESTING} levels deep")
        made = self.factory(*(_realized(arg, depth + 1) for arg in self.args))
        if not isinstance(made, np.dtype):
            raise CorruptFileError("the pickle builds something other than a numpy dtype")
        fresh: np.dtype[Any] = np.dtype(made, copy=True)
        if self.state is not None:
            fresh.__setstate__(_realized(self.state, depth + 1))  # type: ignore[attr-defined]
        return fresh


def as_dtype(value: object) -> object:
    """``value`` with a recipe realised; anything else (a dtype string such as ``b'b'``) unchanged."""
    return value.realize() if isinstance(value, PickledDType) else value


def _realized(value: object, depth: int) -> object:
    if isinstance(value, PickledDType):
        return value.realize(depth)
    if depth > MAX_NESTING:
        return value
    if isinstance(value, tuple):
        return tuple(_realized(item, depth + 1) for item in value)
    if isinstance(value, list):
        return [_realized(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: _realized(item, depth + 1) for key, item in value.items()}
    return value
