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

A hit costs one full comparison: the entry keeps the key it was stored under, and moving it to the
recent end goes by that very object (an identity match, no second ``memcmp``). The cache also knows
the lengths of the tables it holds for each (form, data size): a reader that has not yet found where a
file's metadata ends can try the file's last bytes against those lengths (:meth:`TableCache.lengths`).

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
        if not isinstance(other, TableKey):
            return NotImplemented  # a ``TableSpan`` compares itself
        return (
            self._hash == other._hash
            and self.data_size == other.data_size
            and self.form == other.form
            and self.data == other.data
        )


class TableSpan:
    """A lookup key for the table at ``raw[start:end]``, equal to the ``TableKey`` of those bytes, that
    never copies them: an SDXL LoRA's table is 400 KiB, and slicing it out of every header only to
    look it up cost as much as comparing it. Its hash samples the same bytes as the key's, and the full
    comparison runs in place (``bytes.startswith`` at an offset is a ``memcmp``)."""

    __slots__ = ("_hash", "data_size", "end", "form", "raw", "start")

    def __init__(self, form: str, data_size: int, raw: bytes, start: int, end: int) -> None:
        self.form = form
        self.data_size = data_size
        self.raw = raw
        self.start = start
        self.end = end = max(start, end)  # an empty span, as the slice ``raw[start:end]`` would be
        sample = raw[start:end:_STRIDE]
        self._hash = hash((form, data_size, end - start, sample, raw[max(start, end - 64) : end]))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableKey):
            return NotImplemented
        return (
            self._hash == hash(other)
            and self.data_size == other.data_size
            and self.form == other.form
            and len(other.data) == self.end - self.start
            and self.raw.startswith(other.data, self.start)
        )

    def key(self) -> TableKey:
        """The stored key of these bytes (a copy of them), for ``TableCache.put``."""
        return TableKey(self.form, self.data_size, self.raw[self.start : self.end])


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
        # Each value keeps the key object it was stored under: see ``get``.
        self._entries: OrderedDict[TableKey, tuple[TableKey, ValidatedTable]] = OrderedDict()
        # (form, data size) -> {table length: how many held}: the lengths a file's table may have.
        self._lengths: dict[tuple[str, int], dict[int, int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: TableKey | TableSpan) -> ValidatedTable | None:
        with self._lock:
            found = self._entries.get(key)  # type: ignore[arg-type]  # a span hashes and compares as its key
            if found is None:
                return None
            stored, table = found
            self._entries.move_to_end(stored)  # the stored object itself: found by identity, no memcmp
            return table

    def lengths(self, form: str, data_size: int) -> tuple[int, ...]:
        """The lengths of the tables held for ``form`` and ``data_size``, longest first."""
        with self._lock:
            held = self._lengths.get((form, data_size))
            return tuple(sorted(held, reverse=True)) if held else ()

    def put(self, key: TableKey, table: ValidatedTable) -> None:
        """Remember ``table``; a table larger than the whole budget is not kept."""
        size = len(key.data)
        with self._lock:
            if size > self.max_bytes or key in self._entries:
                return
            self._entries[key] = (key, table)
            self.held_bytes += size
            held = self._lengths.setdefault((key.form, key.data_size), {})
            held[size] = held.get(size, 0) + 1
            while self.held_bytes > self.max_bytes or len(self._entries) > self.max_entries:
                evicted, _ = self._entries.popitem(last=False)
                self.held_bytes -= len(evicted.data)
                self._forget_length(evicted)

    def _forget_length(self, key: TableKey) -> None:
        group = (key.form, key.data_size)
        held = self._lengths[group]
        size = len(key.data)
        if held[size] == 1:
            del held[size]
            if not held:
                del self._lengths[group]
        else:
            held[size] -= 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._lengths.clear()
            self.held_bytes = 0
