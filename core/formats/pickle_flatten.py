"""Turn the object tree of an unpickled checkpoint into the flat view ``ModelHeader`` promises.

Pickled checkpoints nest their tensors in many ways (Lightning's ``state_dict``, A1111 embeddings'
``string_to_param`` dict or ``ParameterDict``, hypernetworks' ``{768: [sd_k, sd_v]}``); identification
wants one flat ``name -> TensorInfo`` map with dotted names and the remaining plain values on the side.
The walk is bounded because a pickle can share one object many times and make a small file describe an
enormous tree: by the nodes it visits and by the bytes of names and plain values it copies, both from the
pickle's own size (``pickle_limits.allowance``); a limit hit is ``UnsafeFileError`` (resource exhaustion).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.formats.dtypes import NUMPY_DTYPE_NAMES, SAFETENSORS_DTYPE_BITS
from core.formats.model_file import CorruptFileError, TensorInfo, UnsafeFileError
from core.formats.pickle_limits import allowance, exhaustion_error, short_repr
from core.formats.pickled_dtype import PickledDType
from core.formats.restricted_unpickler import (
    InertObject,
    ModuleStub,
    PickledTensor,
    StorageStub,
    StorageType,
    TorchDType,
)

# A checkpoint with optimizer state has tens of thousands of objects; an SD 1.x state dict ~1,200.
# Bigger pickles may describe more (one more node per NODE_BYTES bytes of pickle).
MAX_NODES = 200_000
NODE_BYTES = 4
# Integers wider than this are described, not kept: JSON and Python's digit limit choke on them.
MAX_INT_BITS = 256
MAX_DEPTH = 64
# Small numpy arrays in extras (e.g. a stored loss value) are kept as lists; bigger ones are described.
MAX_INLINE_ARRAY = 256
MAX_INLINE_BYTES = 256
# Element sizes of the torch-only dtypes a pickle can hold beyond the safetensors ones.
_EXTRA_BITS = {"C128": 128, "C32": 32, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "F4_X2": 8}


class _Budget:
    """Counts visited nodes and copied bytes across one checkpoint so shared sub-objects cannot blow the
    walk up (a 1,000-byte pickle can reference one string 2**40 times)."""

    def __init__(self, pickle_size: int = 0) -> None:
        self.pickle_size = pickle_size
        self.nodes = 0
        self.max_nodes = MAX_NODES + pickle_size // NODE_BYTES
        self.copied = 0
        self.max_bytes = allowance(pickle_size)

    def visit(self, depth: int) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise UnsafeFileError(
                f"the pickle describes more than {self.max_nodes:,} objects from a "
                f"{self.pickle_size:,}-byte file (resource exhaustion); it was not loaded",
                ("resource exhaustion",),
            )
        if depth > MAX_DEPTH:
            raise CorruptFileError(f"the pickle nests objects more than {MAX_DEPTH} levels deep")

    def copy(self, nbytes: int) -> None:
        """Account for a name or plain value about to be copied into the header."""
        self.copied += nbytes
        if self.copied > self.max_bytes:
            raise exhaustion_error(self.copied, self.pickle_size, "flattening")


def flatten_checkpoint(root: object, pickle_size: int = 0) -> tuple[dict[str, TensorInfo], dict[str, Any]]:
    """Split an unpickled checkpoint into dotted tensor names and JSON-able extras.

    ``pickle_size`` (the bytes the object came from) sets how much the walk may visit and copy.
    """
    budget = _Budget(pickle_size)
    if not is_container(root):
        raise CorruptFileError(f"the pickle holds {_describe(root)}, not a dict of tensors")
    items = container_items(root)
    tensors: dict[str, TensorInfo] = {}
    extras: dict[str, Any] = {}
    state_dict = dict(items).get("state_dict")
    if state_dict is not None and is_container(state_dict):
        # Lightning checkpoint: the weights are the state_dict, everything else is bookkeeping.
        _walk_into(state_dict, "", tensors, extras, budget)
        for key, value in items:
            if key != "state_dict":
                extras[key] = to_plain(value, budget)
        return tensors, extras
    for key, value in items:
        found: dict[str, TensorInfo] = {}
        leaves: dict[str, Any] = {}
        if _walk(value, key, found, leaves, budget, depth=1):
            tensors.update(found)
            extras.update(leaves)
        else:
            extras[key] = to_plain(value, budget)
    return tensors, extras


def _walk_into(
    node: object, prefix: str, tensors: dict[str, TensorInfo], extras: dict[str, Any], budget: _Budget
) -> None:
    for key, value in container_items(node):
        budget.copy(len(prefix) + len(key))
        _walk(value, f"{prefix}{key}", tensors, extras, budget, depth=1)


def _walk(
    node: object,
    name: str,
    tensors: dict[str, TensorInfo],
    leaves: dict[str, Any],
    budget: _Budget,
    *,
    depth: int,
) -> bool:
    """Add the tensors under ``node`` to ``tensors``; return whether there were any."""
    budget.visit(depth)
    tensor = _tensor_info(node)
    if tensor is not None:
        tensors[name] = tensor
        return True
    if not is_container(node):
        leaves[name] = to_plain(node, budget)
        return False
    found = False
    for key, value in container_items(node):
        budget.copy(len(name) + 1 + len(key))
        found = _walk(value, f"{name}.{key}", tensors, leaves, budget, depth=depth + 1) or found
    return found


def _tensor_info(node: object) -> TensorInfo | None:
    if isinstance(node, PickledTensor):
        bits = SAFETENSORS_DTYPE_BITS.get(node.dtype) or _EXTRA_BITS.get(node.dtype, 0)
        return TensorInfo(dtype=node.dtype, shape=node.shape, byte_size=math.prod(node.shape) * bits // 8)
    if isinstance(node, np.ndarray) and node.dtype.kind in "biufc":
        return TensorInfo(dtype=_numpy_dtype(node.dtype), shape=tuple(node.shape), byte_size=node.nbytes)
    return None


def _numpy_dtype(dtype: np.dtype[Any]) -> str:
    return NUMPY_DTYPE_NAMES.get(dtype.name, dtype.name.upper())


def is_container(node: object) -> bool:
    # Unpickled mappings are always dicts (OrderedDict included); checking the ABC would be slower.
    return isinstance(node, dict | list | tuple | ModuleStub)


def container_items(node: object) -> list[tuple[str, Any]]:
    if isinstance(node, ModuleStub):
        node = node.children()
    if isinstance(node, dict):
        return [(entry_key(key), value) for key, value in node.items()]
    if isinstance(node, list | tuple):
        return [(str(index), value) for index, value in enumerate(node)]
    return []


def entry_key(key: object) -> str:
    """A container key as text; keys that are not plain scalars get a bounded ``repr``."""
    if isinstance(key, str):
        return key
    if isinstance(key, type) and issubclass(key, InertObject):
        return key.qualified_name
    if key is None or isinstance(key, bool | float):
        return str(key)
    if isinstance(key, int):
        return str(key) if key.bit_length() <= MAX_INT_BITS else f"<{key.bit_length():,}-bit integer>"
    return short_repr(key)


def to_plain(value: object, budget: _Budget | None = None, depth: int = 0) -> Any:
    """A JSON-able rendering of a non-tensor value (tensors and big arrays become short descriptions)."""
    budget = budget or _Budget()
    budget.visit(depth)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= MAX_INT_BITS else f"<{value.bit_length():,}-bit integer>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # NaN is not JSON
    if isinstance(value, str):
        budget.copy(len(value))
        return value
    if isinstance(value, bytes | bytearray):
        budget.copy(2 * min(len(value), MAX_INLINE_BYTES))
        return value.hex() if len(value) <= MAX_INLINE_BYTES else f"<{len(value):,} bytes>"
    if isinstance(value, np.generic):
        budget.copy(value.nbytes)
        return to_plain(value.item(), budget, depth + 1)
    if isinstance(value, np.ndarray):
        if value.size <= MAX_INLINE_ARRAY and value.dtype.kind in "biufcU":
            budget.copy(value.nbytes)
            return to_plain(value.tolist(), budget, depth + 1)
        return f"<array {_numpy_dtype(value.dtype)} {list(value.shape)}>"
    if isinstance(value, PickledTensor):
        return f"<tensor {value.dtype} {list(value.shape)}>"
    if isinstance(value, ModuleStub):
        return to_plain(value.children(), budget, depth + 1)
    if isinstance(value, dict):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            text = entry_key(key)
            budget.copy(len(text))
            plain[text] = to_plain(item, budget, depth + 1)
        return plain
    if isinstance(value, list | tuple):
        return [to_plain(item, budget, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((to_plain(item, budget, depth + 1) for item in value), key=repr)
    if isinstance(value, slice):
        return f"slice({short_repr(value.start)}, {short_repr(value.stop)}, {short_repr(value.step)})"
    if isinstance(value, PickledDType):
        return value.describe()
    if isinstance(value, TorchDType | StorageType):
        return f"torch.{value.torch_name if isinstance(value, TorchDType) else value.name}"
    if isinstance(value, StorageStub):
        return f"<storage {value.dtype} x{value.numel}>"
    if isinstance(value, InertObject):
        return type(value).qualified_name
    if isinstance(value, type) and issubclass(value, InertObject):
        return value.qualified_name
    return _describe(value)


def _describe(value: object) -> str:
    if isinstance(value, PickledTensor):
        return f"a single {value.dtype} tensor {list(value.shape)}"
    return f"a {type(value).__name__}"
