"""An unpickler that can only build what a weights file legitimately contains, and never loads torch.

Torch pickles are programs: any global they name is imported and may be called. This unpickler resolves
globals against an allow-list modelled on AUTOMATIC1111's ``modules/safe.py`` and torch's
``weights_only`` loader, and replaces torch's own rebuild functions with stand-ins that record a tensor's
dtype and shape. Storages are never read: ``persistent_load`` hands back a stub, so a 4 GB checkpoint costs
only its small ``data.pkl``. Every allowed callable is a guarded stand-in: it checks the size of its
arguments and charges what it will allocate to the pickle's budget (``pickle_limits``), and numpy dtypes
reach the pickle only as recipes (``pickled_dtype``), so no allowed call can exhaust memory or corrupt it.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import io
import math
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from core.formats.dtypes import TORCH_DTYPE_NAMES, TORCH_STORAGE_DTYPES
from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.formats.pickle_limits import AllocationBudget, check_arguments, exhaustion_error, short_repr
from core.formats.pickled_dtype import PickledDType, as_dtype

# A real checkpoint holds a few thousand tensors; a pickle building millions is hostile or broken.
MAX_TENSORS = 200_000
# torch tensors have at most 64 dimensions; their byte sizes (up to 16 bytes an element) must fit the
# catalog's 64-bit integers.
MAX_DIMS = 64
MAX_ELEMENTS = 1 << 58
# What one entry of a set, dict or tuple costs in memory (pointers, hash table slack), for the budget.
_ENTRY_BYTES = 64

# Lightning stores its callback classes (e.g. ModelCheckpoint) in real SD 1.x checkpoints; they are
# replaced by inert placeholders, never imported.
INERT_MODULE_PREFIXES = ("pytorch_lightning.", "lightning.", "lightning_fabric.")


@dataclass(frozen=True, slots=True)
class StorageStub:
    """Where a tensor's bytes would come from; the bytes themselves are never read."""

    dtype: str
    key: str
    numel: int


@dataclass(frozen=True, slots=True)
class PickledTensor:
    """A tensor as a pickle describes it: element type and shape, nothing else."""

    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TorchDType:
    """A ``torch.<dtype>`` object (``torch.float16``) met in a pickle."""

    torch_name: str

    @property
    def dtype(self) -> str:
        return TORCH_DTYPE_NAMES.get(self.torch_name, self.torch_name.upper())


@dataclass(frozen=True, slots=True)
class StorageType:
    """A ``torch.<Type>Storage`` / ``torch.storage.UntypedStorage`` class reference."""

    name: str

    @property
    def dtype(self) -> str:
        return TORCH_STORAGE_DTYPES.get(self.name, "U8")


class InertObject:
    """Base of the placeholders standing in for Lightning classes: accepts anything, does nothing.

    The placeholder classes are created per qualified name so a checkpoint's ``callbacks`` dict (keyed by
    the callback class) keeps distinct keys, and ``qualified_name`` lets the flattener print them.
    """

    qualified_name = "inert"
    # Class-level defaults: NEWOBJ creates instances without calling __init__.
    args: tuple[object, ...] = ()
    state: object = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args = args
        self.state: object = kwargs or None

    def __setstate__(self, state: object) -> None:
        self.state = state


class ModuleStub:
    """A pickled ``torch.nn.Module`` allowed here (``ParameterDict``): keeps its state dict, runs nothing."""

    def __init__(self, class_name: str) -> None:
        self.class_name = class_name
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: object) -> None:
        if isinstance(state, dict):
            self.state = state

    def children(self) -> dict[str, Any]:
        """The parameters, buffers and submodules, keyed the way ``state_dict()`` would key them."""
        merged: dict[str, Any] = {}
        for slot in ("_parameters", "_buffers", "_modules"):
            value = self.state.get(slot)
            if isinstance(value, dict):
                merged.update(value)
        return merged


def canonical_global(module: str, name: str) -> tuple[str, str]:
    """The Python 3 name of a global, as ``pickle`` maps it for protocol 0-2 pickles (``__builtin__.exec``
    is ``builtins.exec``, ``commands.call`` is ``subprocess.call``), so refusals name what would run."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _module_factory(class_name: str) -> Callable[..., ModuleStub]:
    class _Module(ModuleStub):
        # NEWOBJ (how nn.Modules are pickled) calls only __new__, so the stub is initialised there.
        def __new__(cls, *args: object, **kwargs: object) -> _Module:
            stub = object.__new__(cls)
            ModuleStub.__init__(stub, class_name)
            return stub

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass  # already initialised by __new__

    _Module.__name__ = class_name.rsplit(".", 1)[-1]
    return _Module


class _NdarrayMarker:
    """What ``numpy.ndarray`` resolves to: only usable as ``_reconstruct``'s first argument.

    Handing out the real class would let a pickle call ``numpy.ndarray((10**12,))`` and allocate at will.
    """


_NDARRAY = _NdarrayMarker()


def _numpy_dtype_classes() -> dict[str, type]:
    # numpy >= 1.25 names its dtype classes (``numpy.dtypes.Float32DType``); pickles may too.
    dtypes_module = getattr(np, "dtypes", None)
    if dtypes_module is None:
        return {}
    return {name: getattr(dtypes_module, name) for name in dir(dtypes_module) if name.endswith("DType")}


_NUMPY_DTYPE_CLASSES = _numpy_dtype_classes()
_NUMPY_RECONSTRUCT = cast("Callable[..., Any]", np.ndarray((0,)).__reduce__()[0])
_NUMPY_SCALAR = cast("Callable[..., Any]", np.float32(0).__reduce__()[0])
# numpy 2 moved ``numpy.core`` to ``numpy._core``; pickles name either, both resolve to the same objects.
_NUMPY_MULTIARRAY = frozenset({"numpy.core.multiarray", "numpy._core.multiarray"})
# Iterables the allowed constructors accept: their length is known before anything is built.
_SIZED = (list, tuple, str, bytes, set, frozenset, dict)
_ALLOWED_CODECS = frozenset({"latin-1", "iso8859-1", "utf-8", "ascii"})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles one stream, building tensors as ``PickledTensor`` and refusing every other global.

    Every callable it hands to the pickle is a bound method or a builtin, so a hostile ``BUILD`` cannot
    rewrite module-level functions (their ``__defaults__``, say) and affect the next file. Every callable
    that allocates states what it is about to allocate to ``budget`` first (see ``pickle_limits``), so
    no argument, however large it claims to be, makes the process grow past what the file's size allows.
    """

    def __init__(self, data: bytes, persistent: Mapping[str, object] | None = None) -> None:
        super().__init__(io.BytesIO(data), encoding="latin1")
        self._persistent = persistent
        self._inert: dict[str, type[InertObject]] = {}
        self._modules: dict[str, Callable[..., ModuleStub]] = {}
        self._array_type: type[np.ndarray[Any, Any]] | None = None
        self.budget = AllocationBudget(len(data))
        self.tensor_count = 0

    def find_class(self, module: str, name: str) -> Any:
        module, name = canonical_global(module, name)
        found = self._resolve(module, name)
        if found is None:
            qualified = f"{module}.{name}"
            raise UnsafeFileError(
                f"the pickle imports {qualified}, which a weights file never needs; it was not loaded",
                (qualified,),
            )
        return found

    def _resolve(self, module: str, name: str) -> object | None:
        if module == "collections" and name == "OrderedDict":
            return self._ordered_dict
        if module == "builtins":
            return {"set": self._set, "frozenset": self._frozenset, "slice": self._slice}.get(name)
        if module == "_codecs" and name == "encode":
            return self._codecs_encode
        if module == "torch._utils":
            return {
                "_rebuild_tensor": self._rebuild_tensor,
                "_rebuild_tensor_v2": self._rebuild_tensor,
                "_rebuild_tensor_v3": self._rebuild_tensor_v3,
                "_rebuild_parameter": self._rebuild_parameter,
                "_rebuild_parameter_with_state": self._rebuild_parameter,
            }.get(name)
        if module == "torch":
            if name in TORCH_STORAGE_DTYPES:
                return StorageType(name)
            if name.endswith("Tensor") and name[: -len("Tensor")] + "Storage" in TORCH_STORAGE_DTYPES:
                return StorageType(name[: -len("Tensor")] + "Storage")  # tar records name the tensor type
            if name in TORCH_DTYPE_NAMES:
                return TorchDType(name)
            return self._torch_size if name == "Size" else None
        if module == "torch.storage" and name in {"UntypedStorage", "TypedStorage", "_UntypedStorage"}:
            return StorageType(name)
        if module == "torch.nn.modules.container" and name == "ParameterDict":
            qualified = f"{module}.{name}"
            return self._modules.setdefault(qualified, _module_factory(qualified))
        if module.startswith(INERT_MODULE_PREFIXES):
            return self._inert_class(f"{module}.{name}")
        if module in _NUMPY_MULTIARRAY and name == "_reconstruct":
            return self._reconstruct_array
        if module in _NUMPY_MULTIARRAY and name == "scalar":
            return self._numpy_scalar
        if module == "numpy" and name == "dtype":
            return self._numpy_dtype
        if module == "numpy" and name == "ndarray":
            return _NDARRAY
        if module == "numpy.dtypes" and name in _NUMPY_DTYPE_CLASSES:
            # a bound method, like every callable handed out: BUILD cannot rewrite it (a partial could)
            return _DTypeClassCall(name, self.budget).make
        return None

    def _inert_class(self, qualified: str) -> type[InertObject]:
        if qualified not in self._inert:
            self._inert[qualified] = type(
                qualified.rsplit(".", 1)[-1], (InertObject,), {"qualified_name": qualified}
            )
        return self._inert[qualified]

    def persistent_load(self, pid: Any) -> object:
        # zip: ('storage', storage_type, key, location, numel)
        # legacy: ('storage', storage_type, root_key, location, numel, view_metadata)
        # legacy, for a pickled nn.Module class: ('module', cls, source_file, source); the class was
        # already resolved by find_class, so only our own stand-ins can arrive here.
        # tar: the key of a tensor read beside the pickle (``persistent``).
        if self._persistent is not None and isinstance(pid, str | int) and not isinstance(pid, bool):
            found = self._persistent.get(str(pid))
            if found is None:
                raise CorruptFileError("the pickle refers to a tensor the archive does not hold")
            return found
        if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module":
            if isinstance(pid[1], type) and issubclass(pid[1], ModuleStub):
                return pid[1]
            raise CorruptFileError("the pickle refers to a module class it does not define")
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            kind = pid[0] if isinstance(pid, tuple) and pid else type(pid).__name__
            raise CorruptFileError(f"the pickle refers to an unsupported external object ({kind!r})")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if (
            not isinstance(storage_type, StorageType)
            or not isinstance(numel, int)
            or not 0 <= numel < MAX_ELEMENTS
            or not isinstance(key, str | int)
            or (isinstance(key, int) and key.bit_length() > 64)
        ):
            raise CorruptFileError("the pickle has a malformed storage reference")
        self.budget.charge(len(key) if isinstance(key, str) else 8, "persistent_load")
        return StorageStub(dtype=storage_type.dtype, key=str(key), numel=numel)

    def _rebuild_tensor(
        self, storage: object, storage_offset: object, size: object, *_rest: object
    ) -> PickledTensor:
        if not isinstance(storage, StorageStub):
            raise CorruptFileError("the pickle builds a tensor without a storage")
        return self._tensor(storage.dtype, size)

    def _rebuild_tensor_v3(
        self, storage: object, offset: object, size: object, *rest: object
    ) -> PickledTensor:
        # rest = (stride, requires_grad, backward_hooks, dtype[, metadata])
        dtype = rest[3] if len(rest) >= 4 else None
        if not isinstance(storage, StorageStub) or not isinstance(dtype, TorchDType):
            raise CorruptFileError("the pickle builds a tensor without a storage or dtype")
        return self._tensor(dtype.dtype, size)

    def _tensor(self, dtype: str, size: object) -> PickledTensor:
        if (
            not isinstance(size, tuple | list)
            or len(size) > MAX_DIMS
            or not all(isinstance(d, int) and 0 <= d < 1 << 63 for d in size)
        ):
            raise CorruptFileError(f"the pickle builds a tensor with an invalid shape {short_repr(size)}")
        if math.prod(size) >= MAX_ELEMENTS:
            raise CorruptFileError("the pickle builds a tensor of more than 2**58 elements")
        self.tensor_count += 1
        if self.tensor_count > MAX_TENSORS:
            raise CorruptFileError(f"the pickle builds more than {MAX_TENSORS:,} tensors")
        return PickledTensor(dtype=dtype, shape=tuple(size))

    def _rebuild_parameter(self, data: object, *_rest: object) -> object:
        return data

    def _torch_size(self, values: Sequence[int] = ()) -> tuple[int, ...]:
        check_arguments(values, "torch.Size", self.budget)
        if not isinstance(values, list | tuple) or not all(isinstance(v, int) for v in values):
            raise CorruptFileError("the pickle builds a torch.Size of something other than integers")
        self.budget.charge(_ENTRY_BYTES * len(values), "torch.Size")
        return tuple(values)

    def _sized(self, iterable: object, culprit: str) -> None:
        check_arguments(iterable, culprit, self.budget)
        if not isinstance(iterable, _SIZED):
            raise CorruptFileError(f"the pickle calls {culprit} on {type(iterable).__name__}")
        self.budget.charge(_ENTRY_BYTES * len(iterable), culprit)

    def _set(self, iterable: object = ()) -> set[Any]:
        self._sized(iterable, "builtins.set")
        return set(cast("Sequence[Any]", iterable))

    def _frozenset(self, iterable: object = ()) -> frozenset[Any]:
        self._sized(iterable, "builtins.frozenset")
        return frozenset(cast("Sequence[Any]", iterable))

    def _slice(self, *args: object) -> slice:
        if not 1 <= len(args) <= 3:
            raise CorruptFileError("the pickle builds a slice with the wrong number of bounds")
        check_arguments(args, "builtins.slice", self.budget)
        return slice(*args)

    def _ordered_dict(self, *args: object) -> OrderedDict[Any, Any]:
        # torch pickles an OrderedDict as ``OrderedDict()`` followed by SETITEMS; protocol 0-1 pickles
        # may pass a list of pairs.
        if len(args) > 1:
            raise CorruptFileError("the pickle builds an OrderedDict with unexpected arguments")
        if not args:
            return OrderedDict()
        self._sized(args[0], "collections.OrderedDict")
        return OrderedDict(cast("Sequence[tuple[Any, Any]]", args[0]))

    def _codecs_encode(self, text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        # numpy's protocol-2 pickles carry bytes as ``_codecs.encode(text, 'latin1')``; only text codecs pass.
        if not isinstance(text, str) or not isinstance(encoding, str) or not isinstance(errors, str):
            raise CorruptFileError("the pickle calls _codecs.encode on something other than text")
        if codecs.lookup(encoding).name not in _ALLOWED_CODECS:
            raise UnsafeFileError(
                f"the pickle calls _codecs.encode with the {encoding!r} codec, "
                "which a weights file never needs",
                ("_codecs.encode",),
            )
        self.budget.charge(4 * len(text), "_codecs.encode")  # at most 4 bytes a character
        return codecs.encode(text, encoding, errors)

    def _numpy_dtype(self, *args: object) -> PickledDType:
        # Creating a dtype allocates nothing big, but numpy walks (and prints, in its errors) the spec.
        check_arguments(args, "numpy.dtype", self.budget)
        if not 1 <= len(args) <= 3:
            raise CorruptFileError("the pickle builds a numpy dtype with unexpected arguments")
        return PickledDType(np.dtype, args, "numpy.dtype")

    def _numpy_scalar(self, dtype: object, *data: object) -> Any:
        # numpy allocates ``dtype.itemsize`` bytes for the scalar whatever data comes with it.
        if not isinstance(dtype, PickledDType) or len(data) > 1:
            raise CorruptFileError("the pickle builds a numpy scalar in an unexpected way")
        check_arguments(dtype, "numpy.core.multiarray.scalar", self.budget)
        made = dtype.realize()
        self.budget.charge(made.itemsize, "numpy.core.multiarray.scalar")
        return _NUMPY_SCALAR(made, *data)

    def _reconstruct_array(self, subtype: object, shape: object, dtype: object) -> Any:
        # numpy pickles always start from an empty array and fill it from the pickled bytes via BUILD;
        # the array is of a subclass whose __setstate__ charges what the filling allocates.
        if subtype is not _NDARRAY or shape != (0,):
            raise CorruptFileError("the pickle reconstructs a numpy array in an unexpected way")
        check_arguments(dtype, "numpy.core.multiarray._reconstruct", self.budget)
        return _NUMPY_RECONSTRUCT(self._budgeted_array(), (0,), as_dtype(dtype))

    def _budgeted_array(self) -> type[np.ndarray[Any, Any]]:
        if self._array_type is None:
            self._array_type = _budgeted_array_type(self.budget)
        return self._array_type


class _DTypeClassCall:
    """``numpy.dtypes.<Name>(...)`` for a pickle: a recipe, like ``numpy.dtype`` (see ``pickled_dtype``)."""

    __slots__ = ("budget", "name")

    def __init__(self, name: str, budget: AllocationBudget) -> None:
        self.name = name
        self.budget = budget

    def make(self, *args: object) -> PickledDType:
        check_arguments(args, f"numpy.dtypes.{self.name}", self.budget)
        return PickledDType(_NUMPY_DTYPE_CLASSES[self.name], args, f"numpy.dtypes.{self.name}")


def _budgeted_array_type(budget: AllocationBudget) -> type[np.ndarray[Any, Any]]:
    """An ``ndarray`` subclass whose ``__setstate__`` (numpy's BUILD) charges the bytes it will hold."""

    def setstate(self: np.ndarray[Any, Any], state: object) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise CorruptFileError("the pickle fills a numpy array in an unexpected way")
        shape, dtype, raw = state[-4], as_dtype(state[-3]), state[-1]
        if not isinstance(shape, tuple | list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise CorruptFileError("the pickle fills a numpy array with an invalid shape")
        if not isinstance(dtype, np.dtype):
            raise CorruptFileError("the pickle fills a numpy array without a dtype")
        if isinstance(raw, list):  # object arrays carry their items as a list
            needed = _ENTRY_BYTES * len(raw)
        elif isinstance(raw, bytes | bytearray | str):
            needed = len(raw)
        else:
            raise CorruptFileError("the pickle fills a numpy array from an unexpected source")
        if needed > budget.limit:
            raise exhaustion_error(needed, budget.pickle_size, "numpy.ndarray.__setstate__")
        budget.charge(needed, "numpy.ndarray.__setstate__")
        np.ndarray.__setstate__(self, (*state[:-3], dtype, *state[-2:]))

    return type("ndarray", (np.ndarray,), {"__setstate__": setstate, "__slots__": ()})


def is_allowed_global(module: str, name: str) -> bool:
    """Whether ``find_class`` would resolve ``module.name`` (checked before anything is unpickled)."""
    return RestrictedUnpickler(b"")._resolve(*canonical_global(module, name)) is not None


def restricted_loads(data: bytes, persistent: Mapping[str, object] | None = None) -> Any:
    """Unpickle ``data`` with the allow-list; raises ``UnsafeFileError`` / ``CorruptFileError``.

    The data must have been framed by ``pickle_reader`` first, which bounds memo slots, counted lengths
    and the expansion of hashed values before a single opcode runs.
    """
    try:
        return RestrictedUnpickler(data, persistent).load()
    except MemoryError:
        raise UnsafeFileError(
            f"the pickle asks for more memory than there is from a {len(data):,}-byte file "
            "(resource exhaustion); it was not loaded",
            ("memory",),
        ) from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        LookupError,
        RecursionError,
    ) as exc:
        # The allowed callables reject malformed arguments with these; the pickle machinery raises the rest.
        detail = str(exc)
        detail = detail if len(detail) <= 200 else detail[:200] + "…"
        raise CorruptFileError(f"the pickle is damaged: {type(exc).__name__}: {detail}") from None
