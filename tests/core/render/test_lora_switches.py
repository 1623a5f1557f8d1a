"""Long sequences of add-on switches end in exactly the weights of a fresh merge.

The patcher reuses work between applies (unchanged layers left alone, switched-off sets put back from
the layer cache, a LoRA added after the others merged onto the live weights in place). Whatever path a
switch takes, the weights must be bit for bit those a patcher without any history and without a cache
merges for the same LoRAs at the same weights, and "nothing" must be the pristine checkpoint. A seeded
random walk over real .safetensors LoRA, LoCon, LoHa, LoKr, DoRA and full-diff files on the tiny real
SD1 pipeline checks that after every step, with the default cache and with one that evicts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from core.render.layer_cache import tensor_bytes
from core.render.lora import LoraApplication, LoraNetwork, LoraPatcher, load_network
from tests.core.render.test_lora import (
    _assert_unchanged,
    _module,
    _snapshot,
    _use,
    _write,
    dora_case,
    full_case,
    locon_case,
    loha_case,
    lokr_case,
    lora_case,
)
from tests.factory.tiny_pipeline import tiny_sd1_pipeline

pytestmark = pytest.mark.slow  # builds a tiny pipeline (no renders)

WEIGHTS = (-0.5, 0.25, 0.5, 0.8, 1.0, 1.3)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second copy of the same pipeline, where fresh merges are made while ``pipe`` holds a merge."""
    return tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))


@pytest.fixture(scope="module")
def originals(pipe: Any, reference: Any) -> dict[str, torch.Tensor]:
    state = _snapshot(pipe)
    _assert_unchanged(reference, state)  # same seed, same weights
    return state


@pytest.fixture(scope="module")
def networks(pipe: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoraNetwork]:
    folder = tmp_path_factory.mktemp("loras")
    cases = {
        "lora": lora_case(pipe),
        "locon": locon_case(pipe),
        "loha": loha_case(pipe),
        "lokr": lokr_case(pipe),
        "dora": dora_case(pipe),
        "full": full_case(pipe),
    }
    return {name: load_network(_write(folder, case.tensors, name)) for name, case in cases.items()}


@pytest.fixture
def made(pipe: Any, originals: dict[str, torch.Tensor]) -> Iterator[list[LoraPatcher]]:
    """Patchers a test makes are restored afterwards, and the pipeline must then be untouched."""
    patchers: list[LoraPatcher] = []
    yield patchers
    for patcher in patchers:
        patcher.restore()
    _assert_unchanged(pipe, originals)


def _fresh(reference: Any, uses: list[LoraApplication]) -> dict[str, torch.Tensor]:
    """The weights a new patcher without any cache merges for ``uses`` on the untouched ``reference``
    pipeline (restored afterwards)."""
    patcher = LoraPatcher(reference, cache_budget_bytes=0)
    try:
        patcher.apply(uses)
        return _snapshot(reference)
    finally:
        patcher.restore()


def _assert_same(now: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], step: str) -> None:
    assert now.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(now[key], value), f"{key} after {step}"


def _step(rng: random.Random, uses: list[LoraApplication], networks: dict[str, LoraNetwork]) -> str:
    """Change ``uses`` the way a user would (add, remove, reweight, reorder, clear); say what was done."""
    absent = [name for name in networks if all(use.network.name != name for use in uses)]
    actions = ["reweight", "reweight", "add", "add", "remove"]
    actions += ["swap"] if len(uses) > 1 else []
    actions += ["clear"] if rng.random() < 0.1 else []
    action = rng.choice(actions)
    if action == "add" and absent:
        name = rng.choice(absent)
        use = _use(networks[name], rng.choice(WEIGHTS), rng.choice((0.0, *WEIGHTS)))
        uses.insert(rng.randrange(len(uses) + 1) if rng.random() < 0.3 else len(uses), use)
        return f"add {name}"
    if action == "remove" and uses:
        return f"remove {uses.pop(rng.randrange(len(uses))).network.name}"
    if action == "swap":
        i, j = rng.sample(range(len(uses)), 2)
        uses[i], uses[j] = uses[j], uses[i]
        return "reorder"
    if action == "clear":
        uses.clear()
        return "everything off"
    if not uses:
        return "nothing to change"
    index = rng.randrange(len(uses))
    old = uses[index]
    unet, text = old.unet_weight, old.text_encoder_weight
    if rng.random() < 0.7:
        unet = rng.choice([w for w in WEIGHTS if w != unet])
    else:
        text = rng.choice([w for w in (0.0, *WEIGHTS) if w != text])
    uses[index] = _use(old.network, unet, text)
    return f"reweight {old.network.name} to {unet}/{text}"


@pytest.mark.parametrize("budget", ["default", "evicting"])
def test_a_long_random_sequence_of_switches_always_equals_a_fresh_merge(  # noqa: PLR0917
    pipe: Any,
    reference: Any,
    networks: dict[str, LoraNetwork],
    originals: dict[str, torch.Tensor],
    made: list[LoraPatcher],
    budget: str,
) -> None:
    layer_bytes = tensor_bytes(_module(pipe, loha_case(pipe).layers[0]).weight)
    patcher = LoraPatcher(pipe, cache_budget_bytes=None if budget == "default" else 4 * layer_bytes)
    made.append(patcher)
    rng = random.Random(11 if budget == "default" else 23)
    uses: list[LoraApplication] = []
    seen: list[str] = []
    for _ in range(40):
        seen.append(_step(rng, uses, networks))
        patcher.apply(uses)
        now = _snapshot(pipe)
        _assert_same(now, _fresh(reference, uses), "; ".join(seen))
        assert patcher.cache.bytes_used <= patcher.cache.budget_bytes
        patcher.apply(uses)  # applying the same set again changes nothing
        _assert_same(_snapshot(pipe), now, "; ".join(seen) + " (again)")
    assert any(step.startswith("add") for step in seen)
    assert any(step.startswith("reweight") for step in seen)
    patcher.apply([])
    _assert_same(_snapshot(pipe), originals, "everything removed")


def test_a_lora_added_after_another_is_merged_onto_the_live_weights(
    pipe: Any, reference: Any, networks: dict[str, LoraNetwork], made: list[LoraPatcher]
) -> None:
    lora, loha = networks["lora"], networks["loha"]
    shared = _module(pipe, loha_case(pipe).layers[0])  # a layer both networks change
    patcher = LoraPatcher(pipe)
    made.append(patcher)
    patcher.apply([_use(lora, 0.5, 0.5)])
    live = shared.weight
    patcher.apply([_use(lora, 0.5, 0.5), _use(loha, 0.8, 0.8)])
    assert shared.weight is live  # the LoRA's merge was continued, not redone from the original
    _assert_same(_snapshot(pipe), _fresh(reference, [_use(lora, 0.5, 0.5), _use(loha, 0.8, 0.8)]), "add")
