"""Tensor tables already validated in this process, keyed by their exact header bytes.

Most LoRAs of a library share their tensor table byte for byte: a trainer writes the same names, dtypes,
shapes and offsets for the same base model, module set, rank and dtype; only ``__metadata__`` differs.
Whether such a table is sound is a pure function of its JSON bytes and of the size of the data section
after the header, so the safetensors reader validates each distinct (bytes, data size) once and gives
every later file with the same table the same read-only result.

Keys are the bytes themselves, compared in full (``memcmp``) on every hit: a table that differs by one
byte (an offset, a shape, a dtype, a name) is a different key and is validated afresh; there is no
collision to fear. Hashing 400 KiB per file would cost as much as a memcmp-free lookup saves, so a key
hashes a strided sample of its bytes (plus its length and data size): equal keys hash alike, and keys
that only differ between samples just share a hash bucket and are told apart by the full comparison.

The cache is bounded, least recently used first out, by the total bytes of the tables it holds and by
their number: a table's decoded Python objects take a few times its JSON size (an SDXL LoRA's 400 KiB
table is ~1.6 MB of entries), so the default 24 MiB of tables costs a worker about 100 MB at most, and a
library of thousands of unrelated tables only churns the cache without growing it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from core.formats.model_file import TensorTable

DEFAULT_MAX_BYTES = 24 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 512
# One byte in every _STRIDE enters a key's hash: ~800 bytes of an SDXL LoRA's table, ~200 of an SD1 one.
_STRIDE = 509


class TableKey:
    """A table's exact bytes, how they sit in the header (``form``) and the data size they must fill."""

    __slots__ = ("_hash", "data", "data_size", "form")

    def __init__(self, form: str, data_size: int, data: bytes) -> None:
        self.form = form
        self.data_size = data_size
        self.data = data
        self._hash = hash((form, data_size, len(data), data[::_STRIDE], data[-64:]))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TableKey)
            and self._hash == other._hash
            and self.data_size == other.data_size
            and self.form == other.form
            and self.data == other.data
        )


@dataclass(frozen=True, slots=True)
class ValidatedTable:
    """An accepted table: its read-only tensors and the set of their dtypes."""

    tensors: TensorTable
    dtypes: frozenset[str]


class TableCache:
    """A bounded LRU map from ``TableKey`` to ``ValidatedTable`` (see the module docstring).

    Thread-safe: the window reads headers from a scan's thread and from the detail view at the same time.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.held_bytes = 0
        self._entries: OrderedDict[TableKey, ValidatedTable] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: TableKey) -> ValidatedTable | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: TableKey, table: ValidatedTable) -> None:
        """Remember ``table``; a table larger than the whole budget is not kept."""
        size = len(key.data)
        with self._lock:
            if size > self.max_bytes or key in self._entries:
                return
            self._entries[key] = table
            self.held_bytes += size
            while self.held_bytes > self.max_bytes or len(self._entries) > self.max_entries:
                evicted, _ = self._entries.popitem(last=False)
                self.held_bytes -= len(evicted.data)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.held_bytes = 0
