"""The layer cache's bookkeeping: least recently used first out, the budget never exceeded."""

from __future__ import annotations

import torch

from core.render.layer_cache import LayerCache, tensor_bytes


def _tensor(values: int) -> torch.Tensor:
    return torch.zeros(values, dtype=torch.float32)


def test_least_recently_used_entries_leave_first_and_the_budget_holds() -> None:
    cache = LayerCache(budget_bytes=3 * 400)
    for name in "abc":
        assert cache.put(name, _tensor(100), 400)
    assert cache.get("a") is not None  # "a" is now the most recently used: "b" goes first
    assert cache.put("d", _tensor(100), 400)
    assert "b" not in cache
    assert {"a", "c", "d"} == {k for k in "abcd" if k in cache}
    assert cache.bytes_used == 1200
    assert cache.evictions == 1


def test_a_value_larger_than_the_budget_is_refused_without_evicting() -> None:
    cache = LayerCache(budget_bytes=1000)
    cache.put("small", _tensor(10), 40)
    assert not cache.put("huge", _tensor(1000), 4000)
    assert "small" in cache
    assert "huge" not in cache
    assert cache.bytes_used == 40


def test_pop_hands_the_value_over_and_frees_its_bytes() -> None:
    cache = LayerCache(budget_bytes=1000)
    value = _tensor(10)
    cache.put("k", value, 40, anchor=object())
    assert cache.pop("k") is value
    assert cache.pop("k") is None
    assert (len(cache), cache.bytes_used) == (0, 0)


def test_replacing_a_key_counts_its_bytes_once() -> None:
    cache = LayerCache(budget_bytes=1000)
    cache.put("k", _tensor(10), 40)
    cache.put("k", _tensor(20), 80)
    assert cache.bytes_used == 80
    cache.clear()
    assert cache.bytes_used == 0


def test_tensor_bytes_counts_dtype_sizes_and_skips_none() -> None:
    assert tensor_bytes(torch.zeros(10, dtype=torch.float16), None, torch.zeros(2, 2)) == 20 + 16
