"""Merged layer weights kept after their LoRAs are switched off, within a memory budget.

Switching a set of LoRAs off and on again used to merge every touched layer again: for a LyCORIS file
that touches the whole UNet, more work than loading the checkpoint. On the CPU a merged layer is a
tensor of its own (the original stays as the backup), so when a set is switched off its merged tensors
can simply be kept: :class:`LayerCache` holds them, keyed by layer and by the exact set (network
modules and multipliers), and switching the same set back on puts them back without any arithmetic.

Entries are evicted least recently used first when the budget is exceeded; a missing entry is merged
again, so the budget trades memory for speed and never changes a result. Keys hold ``id()``s of live
objects; each entry keeps those objects referenced (its anchor), so an id cannot be reused by another
object while the entry exists.

torch is never imported here: entries are handled as ``Any`` with their byte size given by the caller.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    size: int
    anchor: Any


def tensor_bytes(*tensors: Any) -> int:
    """Bytes held by the given tensors (None entries count nothing)."""
    return sum(int(t.numel()) * int(t.element_size()) for t in tensors if t is not None)


class LayerCache:
    """A least-recently-used store of tensors keyed by layer, limited to ``budget_bytes`` in total."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = max(0, int(budget_bytes))
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.bytes_used = 0
        self.hits = 0  # lookups answered from the cache (for tests and the benchmark)
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` (None when absent), marked as the most recently used."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.value

    def pop(self, key: Hashable) -> Any:
        """Remove and return the value under ``key`` (None when absent): the caller takes it over."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self.bytes_used -= entry.size
        self.hits += 1
        return entry.value

    def put(self, key: Hashable, value: Any, size: int, anchor: Any = None) -> bool:
        """Store ``value`` (``size`` bytes), evicting the least recently used entries to make room.

        Returns False, storing nothing, when the value alone exceeds the budget.
        """
        self.discard(key)
        if size > self.budget_bytes:
            return False
        while self._entries and self.bytes_used + size > self.budget_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes_used -= evicted.size
            self.evictions += 1
        self._entries[key] = _Entry(value, size, anchor)
        self.bytes_used += size
        return True

    def discard(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes_used -= entry.size

    def clear(self) -> None:
        self._entries.clear()
        self.bytes_used = 0
