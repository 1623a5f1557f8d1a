"""LoRA switches served from the layer cache (or skipped) give exactly the weights of a fresh merge.

On the tiny real SD1 pipeline with real .safetensors LoRA/LoHa/full/DoRA files (the builders of
``test_lora``): a weight change and back, switching everything off and on, a budget too small for the
set (evicted entries recomputed), and a patcher with no cache at all are compared bit for bit; "off"
must be the original weights exactly. No renders: the merge arithmetic is what the cache changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from core.render.layer_cache import tensor_bytes
from core.render.lora import LoraNetwork, LoraPatcher, load_network
from tests.core.render.test_lora import (
    _assert_unchanged,
    _module,
    _snapshot,
    _use,
    _write,
    dora_case,
    full_case,
    loha_case,
    lora_case,
)
from tests.factory.tiny_pipeline import tiny_sd1_pipeline

pytestmark = pytest.mark.slow  # builds a tiny pipeline (no renders)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))


@pytest.fixture(scope="module")
def originals(pipe: Any) -> dict[str, torch.Tensor]:
    return _snapshot(pipe)


@pytest.fixture(scope="module")
def networks(pipe: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoraNetwork]:
    folder = tmp_path_factory.mktemp("loras")
    cases = {
        "lora": lora_case(pipe),
        "loha": loha_case(pipe),
        "full": full_case(pipe),
        "dora": dora_case(pipe),
    }
    return {name: load_network(_write(folder, case.tensors, name)) for name, case in cases.items()}


@pytest.fixture
def restored(pipe: Any, originals: dict[str, torch.Tensor]) -> Iterator[list[LoraPatcher]]:
    """Patchers a test makes are restored afterwards, and the pipeline must then be untouched."""
    made: list[LoraPatcher] = []
    yield made
    for patcher in made:
        patcher.restore()
    _assert_unchanged(pipe, originals)


def _fresh(pipe: Any, uses: list[Any], restored: list[LoraPatcher]) -> dict[str, torch.Tensor]:
    """The weights a patcher without any cache merges for ``uses`` (then restored)."""
    patcher = LoraPatcher(pipe, cache_budget_bytes=0)
    restored.append(patcher)
    patcher.apply(uses)
    state = _snapshot(pipe)
    patcher.restore()
    assert patcher.cache.bytes_used == 0
    return state


def _assert_same(now: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert now.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(now[key], value), key


def test_weight_change_and_back_is_bit_for_bit_a_fresh_merge(
    pipe: Any, networks: dict[str, LoraNetwork], restored: list[LoraPatcher]
) -> None:
    lora, loha, full = networks["lora"], networks["loha"], networks["full"]
    strong = [_use(lora, 1.0, 1.0), _use(loha, 0.8, 0.8), _use(full, 0.3, 0.3)]
    weak = [_use(lora, 0.5, 0.5), _use(loha, 0.8, 0.8), _use(full, 0.3, 0.3)]
    expected_strong, expected_weak = _fresh(pipe, strong, restored), _fresh(pipe, weak, restored)
    assert any(not torch.equal(expected_strong[k], v) for k, v in expected_weak.items())

    patcher = LoraPatcher(pipe)
    restored.append(patcher)
    for _ in range(2):
        patcher.apply(strong)
        _assert_same(_snapshot(pipe), expected_strong)
        patcher.apply(weak)  # merged again into the same tensors, from the originals
        _assert_same(_snapshot(pipe), expected_weak)


def test_everything_off_is_the_original_and_back_on_puts_the_merged_weights_back(
    pipe: Any,
    networks: dict[str, LoraNetwork],
    originals: dict[str, torch.Tensor],
    restored: list[LoraPatcher],
) -> None:
    uses = [_use(networks["lora"], 0.7, 0.4), _use(networks["full"], 0.5, 0.5), _use(networks["dora"])]
    expected = _fresh(pipe, uses, restored)
    patcher = LoraPatcher(pipe)
    restored.append(patcher)
    patcher.apply(uses)
    to_q = _module(pipe, lora_case(pipe).layers[0])  # "full" gives it a bias it did not have
    merged_weight, merged_bias = to_q.weight, to_q.bias
    assert merged_bias is not None

    patcher.apply([])
    _assert_same(_snapshot(pipe), originals)
    assert to_q.bias is None
    assert patcher.patched_layers == 0
    assert patcher.cache.bytes_used > 0  # the merged weights wait, switched off, in the cache

    patcher.apply(uses)
    assert to_q.weight is merged_weight  # put back, not merged again
    _assert_same(_snapshot(pipe), expected)


def test_unchanged_layers_are_left_alone_when_another_weight_changes(
    pipe: Any, networks: dict[str, LoraNetwork], restored: list[LoraPatcher]
) -> None:
    lora = networks["lora"]
    expected = _fresh(pipe, [_use(lora, 1.0, 0.5)], restored)
    patcher = LoraPatcher(pipe)
    restored.append(patcher)
    patcher.apply([_use(lora, 1.0, 1.0)])
    unet_layer, text_layer = lora_case(pipe).layers[0], lora_case(pipe).layers[-1]
    unet_weight, text_weight = _module(pipe, unet_layer).weight, _module(pipe, text_layer).weight
    patcher.apply([_use(lora, 1.0, 0.5)])  # only the text encoder's multiplier changed
    assert _module(pipe, unet_layer).weight is unet_weight
    assert _module(pipe, text_layer).weight is text_weight  # written in place, same tensor
    _assert_same(_snapshot(pipe), expected)


def test_a_small_budget_is_respected_and_evicted_entries_are_recomputed_the_same(
    pipe: Any, networks: dict[str, LoraNetwork], restored: list[LoraPatcher]
) -> None:
    loha, lora = networks["loha"], networks["lora"]
    first, second = [_use(loha, 1.0, 1.0), _use(lora, 0.6, 0.6)], [_use(loha, 0.2, 0.9), _use(lora, 0.6, 0.6)]
    layer = _module(pipe, loha_case(pipe).layers[0])
    budget = 3 * tensor_bytes(layer.weight)  # room for three merged copies of one layer: most get evicted
    expected = {"first": _fresh(pipe, first, restored), "second": _fresh(pipe, second, restored)}
    expected["off"] = _snapshot(pipe)
    patcher = LoraPatcher(pipe, cache_budget_bytes=budget)
    restored.append(patcher)
    sets = {"first": first, "second": second, "off": []}
    for name in ("first", "second", "off", "first", "off", "second", "first"):
        patcher.apply(sets[name])
        assert patcher.cache.bytes_used <= budget
        _assert_same(_snapshot(pipe), expected[name])
    assert patcher.cache.evictions > 0


def test_an_oversized_value_is_not_cached_and_changes_nothing(
    pipe: Any, networks: dict[str, LoraNetwork], restored: list[LoraPatcher]
) -> None:
    uses = [_use(networks["lora"], 0.9, 0.9)]
    expected = _fresh(pipe, uses, restored)
    patcher = LoraPatcher(pipe, cache_budget_bytes=16)  # smaller than any layer's delta
    restored.append(patcher)
    patcher.apply(uses)
    assert len(patcher.cache) == 0
    _assert_same(_snapshot(pipe), expected)


def test_restore_empties_the_cache(
    pipe: Any, networks: dict[str, LoraNetwork], originals: dict[str, Any]
) -> None:
    patcher = LoraPatcher(pipe)
    patcher.apply([_use(networks["loha"])])
    patcher.apply([])
    assert patcher.cache.bytes_used > 0
    patcher.restore()
    assert (len(patcher.cache), patcher.cache.bytes_used) == (0, 0)
    _assert_unchanged(pipe, originals)


def test_default_budget_follows_the_pipeline_size(pipe: Any, tmp_path: Path) -> None:
    from core.render.memory import available_memory_bytes, layer_cache_budget, pipeline_bytes

    budget = LoraPatcher(pipe).cache.budget_bytes
    assert budget == layer_cache_budget(pipeline_bytes(pipe), available_memory_bytes())
    assert budget > 0
