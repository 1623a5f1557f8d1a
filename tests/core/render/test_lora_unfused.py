"""Plain LoRAs run beside their layers (unfused) give the merged result without touching a weight.

On the tiny real SD1 pipeline with real .safetensors files (the builders of ``test_lora``): an unfused
LoRA/LoCon renders like the same LoRA merged into the weights, leaves every weight bit for bit as
loaded (so a weight change is a new number, not a pass over the weights), weight 0 and "off" are the
bare model bit for bit with no hook left behind, and a random walk of switches mixing unfused LoRAs
with merged LoHa/LoKr/DoRA/full layers gives, layer by layer, the output of a fresh merge. The tiny
model's 32-wide layers are too narrow for the automatic choice to run rank-4 LoRAs unfused, so these
tests ask for it (``unfused=True``); the choice itself is checked on real SD layer sizes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from core.render.lora import LoraApplication, LoraMismatchError, LoraNetwork, LoraPatcher, load_network
from core.render.lora_keys import target_modules
from core.render.lora_unfused import execution_device_type, low_rank_extra, prefers_unfused
from tests.core.render.test_lora import (
    CONV3,
    _assert_unchanged,
    _render,
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

pytestmark = pytest.mark.slow  # builds two tiny pipelines and renders a few times

TUCKER = CONV3[2]  # locon_case's layer with a lora_mid: not a plain LoRA, so merged


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pipeline = tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second copy of the same pipeline, where fresh merges are made while ``pipe`` holds LoRAs."""
    pipeline = tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="module")
def originals(pipe: Any) -> dict[str, torch.Tensor]:
    return _snapshot(pipe)


@pytest.fixture(scope="module")
def bare(pipe: Any) -> np.ndarray:
    return _render(pipe)


@pytest.fixture(scope="module")
def networks(pipe: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoraNetwork]:
    folder = tmp_path_factory.mktemp("loras")
    cases = {
        "lora": lora_case(pipe),
        "lora2": lora_case(pipe, seed=5),
        "locon": locon_case(pipe),
        "loha": loha_case(pipe),
        "lokr": lokr_case(pipe),
        "dora": dora_case(pipe),
        "full": full_case(pipe),
    }
    return {name: load_network(_write(folder, case.tensors, name)) for name, case in cases.items()}


@pytest.fixture
def made(pipe: Any, originals: dict[str, torch.Tensor]) -> Iterator[list[LoraPatcher]]:
    """Patchers a test makes are restored afterwards: weights as loaded and no hook left."""
    patchers: list[LoraPatcher] = []
    yield patchers
    for patcher in patchers:
        patcher.restore()
    _assert_unchanged(pipe, originals)
    assert _hooked(pipe) == 0


def _hooked(pipe: Any) -> int:
    return sum(
        1 for component in (pipe.unet, pipe.text_encoder) for m in component.modules() if m._forward_hooks
    )


def _probe(layer: Any, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if isinstance(layer, torch.nn.Conv2d):
        return torch.randn(2, layer.in_channels, 6, 6, generator=g)
    return torch.randn(3, 5, layer.in_features, generator=g)


def _outputs(pipe: Any) -> dict[str, torch.Tensor]:
    """Every LoRA-targetable Linear/Conv2d's output on a fixed random input (hooks included)."""
    found: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for seed, target in enumerate({id(t.module): t for t in target_modules(pipe).values()}.values()):
            if isinstance(target.module, torch.nn.Linear | torch.nn.Conv2d):
                found[target.describe()] = target.module(_probe(target.module, seed))
    return found


def _fresh_outputs(reference: Any, uses: list[LoraApplication]) -> dict[str, torch.Tensor]:
    """Layer outputs of ``uses`` merged into the weights by a new patcher on ``reference``."""
    patcher = LoraPatcher(reference, unfused=False, cache_budget_bytes=0)
    try:
        patcher.apply([_use(reference_network(u), u.unet_weight, u.text_encoder_weight) for u in uses])
        return _outputs(reference)
    finally:
        patcher.restore()


def reference_network(use: LoraApplication) -> LoraNetwork:
    return use.network  # the network's tensors name layers by alias, so they fit either pipeline


def _assert_close(now: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], step: str) -> None:
    assert now.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(now[key], value, rtol=1e-4, atol=1e-5, msg=f"{key} after {step}")


@pytest.mark.parametrize("kind", ["lora", "locon"])
def test_an_unfused_lora_renders_like_the_merge_and_touches_no_weight(  # noqa: PLR0917
    kind: str,
    pipe: Any,
    networks: dict[str, LoraNetwork],
    originals: dict[str, torch.Tensor],
    bare: np.ndarray,
    made: list[LoraPatcher],
) -> None:
    network = networks[kind]
    merged = LoraPatcher(pipe, unfused=False)
    made.append(merged)
    merged.apply([_use(network, 0.9, 0.6)])
    expected = _render(pipe)
    merged.restore()

    patcher = LoraPatcher(pipe, unfused=True)
    made.append(patcher)
    assert patcher.apply([_use(network, 0.9, 0.6)]) == []
    # every weight as loaded (the LoRA runs beside the layers) but LoCon's Tucker layer, which is merged
    now = _snapshot(pipe)
    changed = {key for key, value in originals.items() if not torch.equal(now[key], value)}
    assert changed == ({f"unet.{TUCKER}.weight"} if kind == "locon" else set())
    plain = sum(1 for m in network.modules.values() if "lora_mid" not in m.tensors)
    assert patcher.unfused_layers == plain
    assert patcher.patched_layers == len(network.modules)  # LoCon's Tucker layer is merged
    rendered = _render(pipe)
    assert np.abs(rendered - bare).max() > 1e-3
    np.testing.assert_allclose(rendered, expected, rtol=0, atol=1e-5)

    assert patcher.apply([_use(network, 0.0, 0.0)]) == []
    assert patcher.patched_layers == 0
    assert _hooked(pipe) == 0
    assert np.array_equal(_render(pipe), bare)


def test_a_weight_change_is_a_new_scale_not_a_pass_over_the_weights(
    pipe: Any, reference: Any, networks: dict[str, LoraNetwork], made: list[LoraPatcher]
) -> None:
    network = networks["lora"]
    patcher = LoraPatcher(pipe, unfused=True)
    made.append(patcher)
    patcher.apply([_use(network, 1.0, 1.0)])
    weights = {name: id(p) for name, p in pipe.unet.named_parameters()}
    factors = {key: (down.data_ptr(), up.data_ptr()) for key, (_, _, down, up) in patcher._factors.items()}
    patcher.apply([_use(network, 0.5, 0.25)])
    assert {name: id(p) for name, p in pipe.unet.named_parameters()} == weights  # the same tensors
    # the converted factors were kept: nothing of the file was read or converted again
    assert {key: (down.data_ptr(), up.data_ptr()) for key, (_, _, down, up) in patcher._factors.items()} == (
        factors
    )
    _assert_close(_outputs(pipe), _fresh_outputs(reference, [_use(network, 0.5, 0.25)]), "0.5/0.25")


@pytest.mark.parametrize("budget", [None, 0])
def test_a_lora_switched_off_and_on_again_reuses_its_factors_from_the_cache(
    pipe: Any, networks: dict[str, LoraNetwork], made: list[LoraPatcher], budget: int | None
) -> None:
    patcher = LoraPatcher(pipe, unfused=True, cache_budget_bytes=budget)
    made.append(patcher)
    patcher.apply([_use(networks["lora"])])
    first = {key: down.data_ptr() for key, (_, _, down, _) in patcher._factors.items()}
    patcher.apply([])
    assert patcher._factors == {}
    assert patcher.cache.bytes_used <= patcher.cache.budget_bytes
    patcher.apply([_use(networks["lora"], 0.5, 0.5)])
    again = {key: down.data_ptr() for key, (_, _, down, _) in patcher._factors.items()}
    assert again.keys() == first.keys()
    if budget is None:
        assert again == first  # put back from the cache, not converted again
    else:
        assert patcher.cache.bytes_used == 0  # nothing fits a zero budget: converted again


def test_a_random_walk_of_switches_mixing_unfused_and_merged_layers_equals_fresh_merges(
    pipe: Any,
    reference: Any,
    networks: dict[str, LoraNetwork],
    originals: dict[str, torch.Tensor],
    made: list[LoraPatcher],
) -> None:
    weights = (-0.5, 0.25, 0.8, 1.0, 1.3)
    patcher = LoraPatcher(pipe, unfused=True)
    made.append(patcher)
    rng = random.Random(5)
    uses: list[LoraApplication] = []
    seen: list[str] = []
    bare = _outputs(pipe)
    for _ in range(25):
        absent = [name for name in networks if all(u.network.name != name for u in uses)]
        action = rng.choice(["add", "add", "reweight", "reweight", "remove", "swap"])
        if action == "add" and absent:
            name = rng.choice(absent)
            uses.insert(rng.randrange(len(uses) + 1), _use(networks[name], rng.choice(weights), 0.5))
            seen.append(f"add {name}")
        elif action == "remove" and uses:
            seen.append(f"remove {uses.pop(rng.randrange(len(uses))).network.name}")
        elif action == "swap" and len(uses) > 1:
            i, j = rng.sample(range(len(uses)), 2)
            uses[i], uses[j] = uses[j], uses[i]
            seen.append("reorder")
        elif uses:
            index = rng.randrange(len(uses))
            old = uses[index]
            uses[index] = _use(old.network, rng.choice(weights), rng.choice((0.0, *weights)))
            seen.append(f"reweight {old.network.name}")
        patcher.apply(uses)
        _assert_close(_outputs(pipe), _fresh_outputs(reference, uses), "; ".join(seen))
    assert patcher.unfused_layers > 0 or not any(u.network.name.startswith("lora") for u in uses)
    patcher.apply([])
    _assert_unchanged(pipe, originals)
    assert _hooked(pipe) == 0
    now = _outputs(pipe)
    assert all(torch.equal(now[key], value) for key, value in bare.items())


def test_a_failing_apply_removes_the_unfused_loras_too(
    pipe: Any, networks: dict[str, LoraNetwork], made: list[LoraPatcher], bare: np.ndarray, tmp_path: Path
) -> None:
    patcher = LoraPatcher(pipe, unfused=True)
    made.append(patcher)
    patcher.apply([_use(networks["lora"])])
    tensors = dict(lora_case(pipe).tensors)
    down = next(key for key in tensors if key.endswith("lora_down.weight"))
    tensors[down] = torch.zeros(4, 7)  # a LoRA made for another width
    wrong = load_network(_write(tmp_path, tensors, "wrong"))
    with pytest.raises(LoraMismatchError):
        patcher.apply([_use(networks["lora"]), _use(wrong)])
    assert patcher.patched_layers == 0
    assert _hooked(pipe) == 0
    assert np.array_equal(_render(pipe), bare)


def test_the_automatic_choice_runs_cheap_low_rank_paths_unfused_on_the_cpu() -> None:
    wide = torch.nn.Linear(1280, 1280)
    narrow = torch.nn.Linear(32, 32)
    conv = torch.nn.Conv2d(320, 320, 3, padding=1)
    assert low_rank_extra(8, (320, 320)) == pytest.approx(0.05)  # SD1's narrowest attention projection
    assert prefers_unfused(wide, 8)
    assert prefers_unfused(torch.nn.Linear(320, 320), 8)
    assert prefers_unfused(conv, 8)
    assert not prefers_unfused(wide, 128)  # a rank-128 path is a fifth of the layer: merged
    assert not prefers_unfused(narrow, 4)
    assert not prefers_unfused(torch.nn.GroupNorm(4, 32), 1)
    assert not prefers_unfused(torch.nn.Conv2d(320, 320, 3, groups=2), 1)
    assert not prefers_unfused(torch.nn.Linear(1280, 1280, device="meta"), 8)  # not on the CPU
    # model CPU offload: the weights wait on the CPU but the layer runs on the GPU, where merging wins
    assert not prefers_unfused(wide, 8, "cuda")
    assert prefers_unfused(wide, 8, "cpu")


def test_the_pipeline_says_where_it_runs(pipe: Any) -> None:
    assert execution_device_type(pipe) == "cpu"
    assert execution_device_type(object()) is None
