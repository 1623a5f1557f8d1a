"""Where each tensor of a torch pickle keeps its bytes, and reading them, without torch.

Cataloging only needs names and shapes (``core.formats.pickle_reader``); converting needs the numbers too.
The file is first read exactly as a scan reads it (picklescan, then the allow-list unpickler), so an
unsafe pickle is refused with the same reason the library shows. Then the pickle is unpickled once more
by ``LocatingUnpickler``, the same allow-list but recording for every tensor its storage, offset and
strides, and the bytes are read from the container: ``<archive>/data/<key>`` entries of a zip checkpoint,
or the raw storages that follow the pickles of a legacy one. Strided views (``expand``, slices, tensors
sharing one storage) are gathered into contiguous bytes with numpy, element by element as raw integers of
the same width, so bf16 and float8 values pass through untouched.
"""

from __future__ import annotations

import math
import pickle
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from core.formats.containers import ZIP_MAGIC
from core.formats.dtypes import SAFETENSORS_DTYPE_BITS
from core.formats.model_file import CorruptFileError, ModelHeader
from core.formats.pickle_flatten import container_items, is_container
from core.formats.pickle_reader import read_pickle_header
from core.formats.pickle_stream import LEGACY_MAGIC, MAX_PICKLE_BYTES
from core.formats.restricted_unpickler import (
    PickledTensor,
    RestrictedUnpickler,
    StorageStub,
    TorchDType,
)
from core.formats.safe_open import open_regular

# numpy's name for each safetensors dtype numpy knows; bf16 and float8 are copied as raw integers.
NUMPY_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
    "C64": "<c8",
}


def element_size(dtype: str) -> int:
    """Bytes per element of a safetensors dtype; 0 for sub-byte or unknown types."""
    bits = SAFETENSORS_DTYPE_BITS.get(dtype, 0)
    return bits // 8 if bits % 8 == 0 else 0


@dataclass(frozen=True, slots=True)
class StoredTensor(PickledTensor):
    """A tensor of the pickle with the place of its bytes: storage key, element offset and strides."""

    storage_key: str
    offset: int
    stride: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class InlineArray:
    """A numpy array pickled inline (plain pickles of numpy weights): its bytes are already in memory."""

    dtype: str
    array: np.ndarray[Any, Any]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)


Tensor = StoredTensor | InlineArray


@dataclass(frozen=True, slots=True)
class _StorageRef:
    """What ``persistent_load`` hands back: a storage key, plus the element offset of a legacy view."""

    dtype: str
    key: str
    numel: int
    base: int = 0


class LocatingUnpickler(RestrictedUnpickler):
    """The allow-list unpickler, keeping where every tensor's bytes are instead of only their shape."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(b"")
        # Re-point the C unpickler at the real stream so legacy files can be read pickle after pickle.
        pickle.Unpickler.__init__(self, stream, encoding="latin1")
        self.storages: dict[str, _StorageRef] = {}

    def persistent_load(self, pid: Any) -> object:
        stub = super().persistent_load(pid)
        if not isinstance(stub, StorageStub):
            return stub
        base, key = 0, stub.key
        view = pid[5] if len(pid) == 6 else None
        if view is not None:  # legacy: ('storage', type, root_key, location, numel, (view_key, offset, size))
            if not (isinstance(view, tuple) and len(view) == 3 and isinstance(view[1], int)):
                raise CorruptFileError("the pickle has a malformed storage view")
            base = view[1]
        ref = _StorageRef(dtype=stub.dtype, key=key, numel=stub.numel, base=base)
        self.storages.setdefault(key, ref)
        return ref

    def _rebuild_tensor(
        self, storage: object, storage_offset: object, size: object, *rest: object
    ) -> PickledTensor:
        stride = rest[0] if rest else None
        if not isinstance(storage, _StorageRef):
            raise CorruptFileError("the pickle builds a tensor without a storage")
        return self._located(storage, storage.dtype, storage_offset, size, stride)

    def _rebuild_tensor_v3(
        self, storage: object, offset: object, size: object, *rest: object
    ) -> PickledTensor:
        dtype = rest[3] if len(rest) >= 4 else None
        if not isinstance(storage, _StorageRef) or not isinstance(dtype, TorchDType):
            raise CorruptFileError("the pickle builds a tensor without a storage or dtype")
        return self._located(storage, dtype.dtype, offset, size, rest[0])

    def _located(
        self, storage: _StorageRef, dtype: str, offset: object, size: object, stride: object
    ) -> StoredTensor:
        shape = self._tensor(dtype, size).shape  # validates the shape and counts the tensor
        if not isinstance(offset, int) or offset < 0:
            raise CorruptFileError(f"the pickle builds a tensor at an invalid offset {offset!r}")
        if stride is None:
            stride = _contiguous_strides(shape)
        if not (
            isinstance(stride, tuple | list)
            and len(stride) == len(shape)
            and all(isinstance(s, int) and s >= 0 for s in stride)
        ):
            raise CorruptFileError(f"the pickle builds a tensor with invalid strides {stride!r}")
        return StoredTensor(
            dtype=dtype,
            shape=shape,
            storage_key=storage.key,
            offset=storage.base + offset,
            stride=tuple(stride),
        )


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides: list[int] = []
    step = 1
    for dim in reversed(shape):
        strides.append(step)
        step *= max(dim, 1)
    return tuple(reversed(strides))


class PickledCheckpoint:
    """An open torch pickle: its header (names, extras) and its tensors, readable one at a time.

    Use as a context manager; ``read(name)`` returns the tensor's bytes, contiguous and little-endian.
    """

    def __init__(self, path: Path) -> None:
        # The scan every cataloged file gets: raises UnsafeFileError with picklescan's reason, or
        # CorruptFileError, before anything below unpickles a byte.
        self.header: ModelHeader = read_pickle_header(path)
        self.path = path
        self._fh: IO[bytes] = open_regular(path)  # closed by close()
        self._archive: zipfile.ZipFile | None = None
        self._prefix = ""
        self._legacy_offsets: dict[str, tuple[int, int]] = {}  # key -> (data start, byte length)
        self._big_endian = False
        try:
            root, storages = self._load()
            self.tensors: dict[str, Tensor] = dict(tensor_leaves(root))
            self._storages = storages
        except BaseException:
            self.close()
            raise
        missing = sorted(set(self.header.tensors) - set(self.tensors))
        if missing:
            raise CorruptFileError(f"the pickle's tensor {missing[0]!r} could not be located")

    def __enter__(self) -> PickledCheckpoint:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
        self._fh.close()

    # -- loading ------------------------------------------------------------------------------------------

    def _load(self) -> tuple[Any, dict[str, _StorageRef]]:
        head = self._fh.read(4)
        self._fh.seek(0)
        if head == ZIP_MAGIC:
            return self._load_zip()
        return self._load_legacy()

    def _load_zip(self) -> tuple[Any, dict[str, _StorageRef]]:
        try:
            archive = zipfile.ZipFile(self._fh)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise CorruptFileError(f"the zip archive is damaged ({exc})") from None
        self._archive = archive
        data_name = next(
            (
                info.filename
                for info in archive.infolist()
                if (info.filename.endswith("/data.pkl") and info.filename.count("/") == 1)
                or info.filename == "data.pkl"
            ),
            None,
        )
        if data_name is None:
            raise CorruptFileError("the zip archive has no data.pkl: it is not a torch checkpoint")
        self._prefix = data_name[: -len("data.pkl")]
        names = set(archive.namelist())
        if f"{self._prefix}byteorder" in names:
            self._big_endian = archive.read(f"{self._prefix}byteorder").strip() == b"big"
        with archive.open(data_name) as stream:
            unpickler = LocatingUnpickler(stream)
            root = _restricted(unpickler.load)
        return root, unpickler.storages

    def _load_legacy(self) -> tuple[Any, dict[str, _StorageRef]]:
        unpickler = LocatingUnpickler(self._fh)
        first = _restricted(unpickler.load)
        if first != LEGACY_MAGIC:
            return first, unpickler.storages  # a plain pickle (numpy arrays inline), not torch.save
        _protocol = _restricted(unpickler.load)
        sys_info = _restricted(unpickler.load)
        if isinstance(sys_info, dict):
            self._big_endian = sys_info.get("little_endian") is False
        root = _restricted(unpickler.load)
        keys = _restricted(unpickler.load)
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise CorruptFileError("the legacy checkpoint's storage list is damaged")
        position = self._fh.tell()
        size = self.header.size
        for key in keys:
            ref = unpickler.storages.get(key)
            if ref is None:
                raise CorruptFileError(f"the legacy checkpoint stores an unknown storage {key!r}")
            self._fh.seek(position)
            raw = self._fh.read(8)
            if len(raw) != 8:
                raise CorruptFileError("the file is truncated: a storage is cut short")
            (count,) = struct.unpack(">q" if self._big_endian else "<q", raw)
            nbytes = count * max(element_size(ref.dtype), 1)
            if count < 0 or position + 8 + nbytes > size:
                raise CorruptFileError("the file is truncated: a storage is cut short")
            self._legacy_offsets[key] = (position + 8, nbytes)
            position += 8 + nbytes
        return root, unpickler.storages

    # -- reading ------------------------------------------------------------------------------------------

    def read(self, name: str) -> bytes:
        """The bytes of tensor ``name``: its elements in C order, little-endian."""
        tensor = self.tensors[name]
        if isinstance(tensor, InlineArray):
            array = tensor.array
            return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        width = element_size(tensor.dtype)
        if width == 0 or width > 8:
            raise CorruptFileError(f"tensor {name!r} is {tensor.dtype}, which cannot be read")
        count = math.prod(tensor.shape)
        if count == 0:
            return b""
        span = 1 + sum((dim - 1) * step for dim, step in zip(tensor.shape, tensor.stride, strict=True))
        start, length = tensor.offset * width, span * width
        raw = self._storage_bytes(tensor.storage_key, start, length, name)
        order = ">" if self._big_endian else "<"
        words = np.frombuffer(raw, dtype=f"{order}u{width}")
        if span == count and tensor.stride == _contiguous_strides(tensor.shape) and not self._big_endian:
            return raw
        view = np.lib.stride_tricks.as_strided(
            words, shape=tensor.shape, strides=[step * width for step in tensor.stride], writeable=False
        )
        return np.ascontiguousarray(view).astype(f"<u{width}").tobytes()

    def _storage_bytes(self, key: str, start: int, length: int, name: str) -> bytes:
        if self._archive is not None:
            entry = f"{self._prefix}data/{key}"
            try:
                info = self._archive.getinfo(entry)
            except KeyError:
                raise CorruptFileError(f"the archive has no storage for tensor {name!r}") from None
            if start + length > info.file_size:
                raise CorruptFileError(f"tensor {name!r} reaches past the end of its storage")
            with self._archive.open(info) as stream:
                stream.seek(start)
                raw = stream.read(length)
        else:
            where = self._legacy_offsets.get(key)
            if where is None:
                raise CorruptFileError(f"the file holds no storage for tensor {name!r}")
            if start + length > where[1]:
                raise CorruptFileError(f"tensor {name!r} reaches past the end of its storage")
            self._fh.seek(where[0] + start)
            raw = self._fh.read(length)
        if len(raw) != length:
            raise CorruptFileError(f"the file is truncated: tensor {name!r} is cut short")
        return raw


def _restricted(load: Any) -> Any:
    """One ``load()`` with the same error mapping as ``restricted_loads``."""
    try:
        return load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, LookupError) as exc:
        raise CorruptFileError(f"the pickle is damaged: {type(exc).__name__}: {exc}") from None


def tensor_leaves(root: object) -> Iterator[tuple[str, Tensor]]:
    """Every tensor of an unpickled checkpoint under the dotted name ``flatten_checkpoint`` gives it.

    The naming follows ``core.formats.pickle_flatten`` (a Lightning ``state_dict`` unwrapped, nested
    containers joined with dots), so the names match what the catalog shows for the file.
    """
    items = container_items(root)
    state_dict = dict(items).get("state_dict")
    if state_dict is not None and is_container(state_dict):
        for key, value in container_items(state_dict):
            yield from _walk(value, key, 1)
        return
    for key, value in items:
        yield from _walk(value, key, 1)


def _walk(node: object, name: str, depth: int) -> Iterator[tuple[str, Tensor]]:
    if depth > 64:
        raise CorruptFileError("the pickle nests objects more than 64 levels deep")
    if isinstance(node, StoredTensor):
        yield name, node
    elif isinstance(node, np.ndarray) and node.dtype.kind in "biufc":
        dtype = {"float64": "F64", "float32": "F32", "float16": "F16"}.get(node.dtype.name)
        dtype = dtype or next((k for k, v in NUMPY_DTYPES.items() if np.dtype(v) == node.dtype), "")
        yield name, InlineArray(dtype=dtype or node.dtype.name.upper(), array=node)
    elif is_container(node):
        for key, value in container_items(node):
            yield from _walk(value, f"{name}.{key}", depth + 1)


__all__ = ["MAX_PICKLE_BYTES", "InlineArray", "PickledCheckpoint", "StoredTensor", "Tensor", "element_size"]
