"""What reading a model file yields: tensor names, shapes and dtypes, metadata, never the weights.

This is the contract between ``core.formats`` (which parses containers) and ``core.identify`` (which
decides what a file is). Every container - safetensors, torch pickles, GGUF, diffusers folders - is
reduced to the same flat view so that identification rules are written once.

Flattening rules for nested containers (pickles):
- a Lightning checkpoint's ``state_dict`` is unwrapped (its keys become the top-level tensor names);
- nested dicts/lists/tuples of tensors are joined with ``.``: an A1111 embedding's
  ``string_to_param["*"]`` becomes ``string_to_param.*``; a hypernetwork's ``{768: [sd_k, sd_v]}``
  becomes ``768.0.linear.0.weight`` ... ``768.1.linear.2.bias``;
- top-level values that are not tensors (``layer_structure``, ``activation_func``, ``name``, ``step``,
  ``global_step``, ``string_to_token``...) go to ``extras`` as plain JSON-able Python values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import msgspec

# The error family lives in core.formats.errors (light to import); named here too, as it always was.
from core.formats.errors import CorruptFileError as CorruptFileError  # noqa: PLC0414
from core.formats.errors import FormatError as FormatError  # noqa: PLC0414
from core.formats.errors import UnreadableFileError as UnreadableFileError  # noqa: PLC0414
from core.formats.errors import UnsafeFileError as UnsafeFileError  # noqa: PLC0414
from core.taxonomy import FileFormat

_Count = Annotated[int, msgspec.Meta(ge=0)]


class TensorInfo(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """One tensor as described by its container.

    A msgspec Struct because scans build millions of these: the safetensors reader has msgspec decode
    header entries straight into this type, in C, with the field types checked on the way (a shape of
    negative numbers does not decode).

    ``dtype`` uses safetensors' names (``F32``, ``F16``, ``BF16``, ``F8_E4M3``, ``F8_E5M2``, ``F64``,
    ``I64``, ``I32``, ``I16``, ``I8``, ``U8``, ``BOOL``; GGUF quantised types as ``Q4_0``, ``Q8_0``...).
    ``data_offsets`` is ``[begin, end)`` within the container's data section (``ModelHeader.data_start``)
    for containers with random access (safetensors, GGUF), else None; ``byte_size`` is the size for
    containers without offsets (pickles).
    """

    dtype: str
    shape: tuple[_Count, ...]
    data_offsets: tuple[_Count, _Count] | None = None
    byte_size: int = 0

    @property
    def nbytes(self) -> int:
        offsets = self.data_offsets
        return offsets[1] - offsets[0] if offsets is not None else self.byte_size


_Derived = TypeVar("_Derived")


class TensorTable(dict[str, TensorInfo]):
    """A read-only tensor table, shared by every file whose header lists the same tensors.

    LoRAs trained for the same base model, module set, rank and dtype list the same tensors byte for byte;
    the safetensors reader validates each distinct table once and hands the same ``TensorTable`` to every
    such file (only ``__metadata__`` differs between them). Being shared, it refuses every change, and it
    keeps what identification derives from the tensors alone (sorted names, the LoRA module scan) in
    ``derived``, so that work too is done once per table. A ``dict`` underneath: lookups stay at C speed.
    """

    __slots__ = ("derived",)

    def __init__(self, tensors: Mapping[str, TensorInfo] | Iterable[tuple[str, TensorInfo]] = ()) -> None:
        super().__init__(tensors)
        self.derived: dict[object, Any] = {}

    def derive(self, key: object, compute: Callable[[], _Derived]) -> _Derived:
        """``compute()`` the first time ``key`` is asked for, the same value afterwards.

        Only for values that are a pure function of the tensors (names, shapes, dtypes), never of a
        file's metadata, path or size: every file sharing the table gets them.
        """
        derived = self.derived
        if key in derived:
            value: _Derived = derived[key]
            return value
        value = derived[key] = compute()
        return value

    def _read_only(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("a TensorTable is read-only: it is shared by every file listing these tensors")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[type[TensorTable], tuple[dict[str, TensorInfo]]]:
        return (TensorTable, (dict(self),))

    def __copy__(self) -> TensorTable:
        return self  # read-only: a copy would be the same table

    def __deepcopy__(self, _memo: dict[int, object]) -> TensorTable:
        return self


def derived_from(tensors: Mapping[str, TensorInfo], key: object, compute: Callable[[], _Derived]) -> _Derived:
    """``compute()``, remembered with ``tensors`` when it is a shared ``TensorTable`` (see there)."""
    if type(tensors) is TensorTable:
        return tensors.derive(key, compute)
    return compute()


@dataclass(frozen=True, slots=True)
class DiffusersInfo:
    """A diffusers-format folder: its ``model_index.json`` and each component's config.

    ``configs`` maps a component folder name (``unet``, ``vae``, ``text_encoder``, ``scheduler``...) to
    its parsed ``config.json`` / ``scheduler_config.json``. A single-component folder (e.g. a diffusers
    VAE with just ``config.json`` + weights) has an empty ``model_index`` and its config under ``""``.
    """

    model_index: Mapping[str, Any]
    configs: Mapping[str, Mapping[str, Any]]
    weight_files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModelHeader:
    """Everything identification may look at for one file or folder."""

    path: Path
    format: FileFormat
    size: int
    tensors: Mapping[str, TensorInfo] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    diffusers: DiffusersInfo | None = None
    data_start: int = 0  # absolute file offset that TensorInfo.data_offsets count from
    # The set of the tensors' dtypes when the reader already has it (the safetensors reader computes it to
    # check sizes); None: whoever needs it takes it from ``tensors``.
    dtypes: frozenset[str] | None = None

    def data_offset(self, name: str) -> int | None:
        """Absolute position of a tensor's data in the file, when the container allows random access."""
        offsets = self.tensors[name].data_offsets
        return None if offsets is None else self.data_start + offsets[0]
