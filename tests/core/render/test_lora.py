"""LoRA/LyCORIS merging on a tiny but real SD1 pipeline, checked against hand-written merges.

Every network type is written to a real .safetensors file with the names real trainers use for the
tiny model's modules (kohya ``lora_unet_``/``lora_te_`` and PEFT ``unet.``/``text_encoder.``). The
expected deltas are written out independently here (matmul, einsum, torch.kron, explicit norms), the
patched weights are compared with them, and a render with the patcher is compared with a render of
the same pipeline whose weights were merged by hand. The kohya LoRA is also cross-checked against
diffusers' own ``load_lora_weights`` + ``fuse_lora``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.render.lora import (
    LoraApplication,
    LoraFormatError,
    LoraMismatchError,
    LoraNetwork,
    LoraPatcher,
    load_network,
)
from tests.factory.tiny_pipeline import tiny_sd1_pipeline, tiny_sdxl_pipeline

pytestmark = pytest.mark.slow  # builds tiny pipelines and renders ~30 times

Delta = tuple[torch.Tensor, torch.Tensor | None]

A0 = "down_blocks.0.attentions.0"
UP = "up_blocks.1.attentions.2"
MID = "mid_block.attentions.0"
UNET_LINEARS = (
    f"{A0}.transformer_blocks.0.attn1.to_q",
    f"{A0}.transformer_blocks.0.attn2.to_k",
    f"{A0}.transformer_blocks.0.ff.net.0.proj",
    f"{UP}.transformer_blocks.0.attn1.to_out.0",
    f"{UP}.transformer_blocks.0.attn2.to_v",
    f"{MID}.transformer_blocks.0.attn2.to_k",
    f"{MID}.transformer_blocks.0.ff.net.2",
)
TEXT_LINEARS = (
    "encoder.layers.0.self_attn.q_proj",
    "encoder.layers.1.self_attn.out_proj",
    "encoder.layers.2.mlp.fc1",
)
CONV3 = ("down_blocks.0.resnets.0.conv1", "up_blocks.0.resnets.1.conv2", "mid_block.resnets.0.conv2")
CONV1 = f"{A0}.proj_in"


@dataclass
class Layer:
    component: str
    path: str
    delta: Callable[[torch.Tensor], Delta]  # original float32 weight -> (ΔW, Δbias) at multiplier 1


@dataclass
class Case:
    tensors: dict[str, torch.Tensor]
    layers: list[Layer]


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tokenizers")


@pytest.fixture(scope="module")
def pipe(cache_dir: Path) -> Any:
    pipeline = tiny_sd1_pipeline(cache_dir)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="module")
def originals(pipe: Any) -> dict[str, torch.Tensor]:
    return _snapshot(pipe)


@pytest.fixture(scope="module")
def bare(pipe: Any) -> np.ndarray:
    return _render(pipe)


@pytest.fixture
def patcher(pipe: Any, originals: dict[str, torch.Tensor]) -> Iterator[LoraPatcher]:
    patcher = LoraPatcher(pipe)
    yield patcher
    patcher.restore()
    _assert_unchanged(pipe, originals)


def _snapshot(pipe: Any) -> dict[str, torch.Tensor]:
    state = {f"unet.{k}": v.clone() for k, v in pipe.unet.state_dict().items()}
    state.update({f"te.{k}": v.clone() for k, v in pipe.text_encoder.state_dict().items()})
    return state


def _assert_unchanged(pipe: Any, originals: dict[str, torch.Tensor]) -> None:
    now = _snapshot(pipe)
    assert now.keys() == originals.keys()
    for key, value in originals.items():
        assert torch.equal(now[key], value), key


def _render(pipe: Any) -> np.ndarray:
    images = pipe(
        prompt="a red cat on a sofa",
        num_inference_steps=2,
        height=32,
        width=32,
        generator=torch.Generator().manual_seed(7),
        output_type="np",
    ).images
    return np.asarray(images)


def _module(pipe: Any, layer: Layer) -> Any:
    return getattr(pipe, layer.component).get_submodule(layer.path)


def _write(tmp_path: Path, tensors: dict[str, torch.Tensor], name: str = "net") -> Path:
    path = tmp_path / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


def _use(network: LoraNetwork, unet: float = 1.0, text: float = 1.0) -> LoraApplication:
    return LoraApplication(network, unet, text, network.name)


# --------------------------------------------------------------------------------------- case builders


def _kohya(component: str, path: str) -> str:
    flat = path.replace(".", "_")
    return f"lora_unet_{flat}" if component == "unet" else f"lora_te_text_model_{flat}"


def _weight(pipe: Any, component: str, path: str) -> torch.Tensor:
    return getattr(pipe, component).get_submodule(path).weight.detach().float()


def _rand(generator: torch.Generator, *shape: int, scale: float = 0.15) -> torch.Tensor:
    return torch.randn(*shape, generator=generator) * scale


def _targets(linear_text: bool = True) -> list[tuple[str, str]]:
    found = [("unet", p) for p in UNET_LINEARS]
    if linear_text:
        found += [("text_encoder", p) for p in TEXT_LINEARS]
    return found


def lora_case(pipe: Any, seed: int = 1) -> Case:
    """kohya LoRA on attention/MLP linears of the UNet and text encoder: ΔW = up·down·alpha/rank."""
    g = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    rank, alpha = 4, 2.0
    for component, path in _targets():
        out_dim, in_dim = _weight(pipe, component, path).shape
        down, up = _rand(g, rank, in_dim), _rand(g, out_dim, rank)
        name = _kohya(component, path)
        tensors |= {f"{name}.lora_down.weight": down, f"{name}.lora_up.weight": up}
        tensors[f"{name}.alpha"] = torch.tensor(alpha)
        layers.append(Layer(component, path, lambda w, u=up, d=down: (u @ d * (alpha / rank), None)))
    return Case(tensors, layers)


def locon_case(pipe: Any) -> Case:
    """LoCon: 3x3 conv (down is 3x3, up 1x1), 1x1 conv, and a Tucker conv (lora_mid)."""
    g = torch.Generator().manual_seed(2)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    rank = 4
    for path in CONV3[:2]:
        out_dim, in_dim = _weight(pipe, "unet", path).shape[:2]
        down, up = _rand(g, rank, in_dim, 3, 3), _rand(g, out_dim, rank, 1, 1)
        name = _kohya("unet", path)
        tensors |= {
            f"{name}.lora_down.weight": down,
            f"{name}.lora_up.weight": up,
            f"{name}.alpha": torch.tensor(8.0),
        }

        def conv(w: torch.Tensor, u: torch.Tensor = up, d: torch.Tensor = down) -> Delta:
            return torch.einsum("or,rikl->oikl", u[:, :, 0, 0], d) * (8.0 / rank), None

        layers.append(Layer("unet", path, conv))
    out_dim, in_dim = _weight(pipe, "unet", CONV1).shape[:2]
    down, up = _rand(g, rank, in_dim, 1, 1), _rand(g, out_dim, rank, 1, 1)
    name = _kohya("unet", CONV1)
    tensors |= {f"{name}.lora_down.weight": down, f"{name}.lora_up.weight": up}  # no alpha: scale 1
    layers.append(
        Layer(
            "unet", CONV1, lambda w, u=up, d=down: ((u[:, :, 0, 0] @ d[:, :, 0, 0])[:, :, None, None], None)
        )
    )
    path = CONV3[2]
    out_dim, in_dim = _weight(pipe, "unet", path).shape[:2]
    down, mid, up = _rand(g, rank, in_dim, 1, 1), _rand(g, rank, rank, 3, 3), _rand(g, out_dim, rank, 1, 1)
    name = _kohya("unet", path)
    tensors |= {
        f"{name}.lora_down.weight": down,
        f"{name}.lora_mid.weight": mid,
        f"{name}.lora_up.weight": up,
        f"{name}.alpha": torch.tensor(2.0),
    }

    def tucker(w: torch.Tensor) -> Delta:
        return torch.einsum("abkl,oa,bi->oikl", mid, up[:, :, 0, 0], down[:, :, 0, 0]) * (2.0 / rank), None

    layers.append(Layer("unet", path, tucker))
    return Case(tensors, layers)


def loha_case(pipe: Any) -> Case:
    """LoHa: (w1a·w1b) ⊙ (w2a·w2b)·alpha/rank on linears and a conv; Tucker (hada_t1/t2) on a conv."""
    g = torch.Generator().manual_seed(3)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    rank = 4
    for component, path in [*_targets()[:4], ("unet", CONV3[0])]:
        shape = _weight(pipe, component, path).shape
        flat_in = math.prod(shape[1:])
        w1a, w1b, w2a, w2b = (
            _rand(g, shape[0], rank),
            _rand(g, rank, flat_in),
            _rand(g, shape[0], rank),
            _rand(g, rank, flat_in),
        )
        name = _kohya(component, path)
        tensors |= {
            f"{name}.hada_w1_a": w1a,
            f"{name}.hada_w1_b": w1b,
            f"{name}.hada_w2_a": w2a,
            f"{name}.hada_w2_b": w2b,
        }
        tensors[f"{name}.alpha"] = torch.tensor(2.0)

        def hada(w: torch.Tensor, a1=w1a, b1=w1b, a2=w2a, b2=w2b) -> Delta:  # type: ignore[no-untyped-def]
            return ((a1 @ b1) * (a2 @ b2)).reshape(w.shape) * (2.0 / rank), None

        layers.append(Layer(component, path, hada))
    path = CONV3[1]
    out_dim, in_dim = _weight(pipe, "unet", path).shape[:2]
    t1, t2 = _rand(g, rank, rank, 3, 3, scale=0.5), _rand(g, rank, rank, 3, 3, scale=0.5)
    w1a, w1b, w2a, w2b = (
        _rand(g, rank, out_dim),
        _rand(g, rank, in_dim),
        _rand(g, rank, out_dim),
        _rand(g, rank, in_dim),
    )
    name = _kohya("unet", path)
    tensors |= {
        f"{name}.hada_w1_a": w1a,
        f"{name}.hada_w1_b": w1b,
        f"{name}.hada_w2_a": w2a,
        f"{name}.hada_w2_b": w2b,
    }
    tensors |= {f"{name}.hada_t1": t1, f"{name}.hada_t2": t2, f"{name}.alpha": torch.tensor(4.0)}

    def hada_cp(w: torch.Tensor) -> Delta:
        one = torch.einsum("abkl,ao,bi->oikl", t1, w1a, w1b)
        two = torch.einsum("abkl,ao,bi->oikl", t2, w2a, w2b)
        return one * two, None  # alpha 4 / rank 4

    layers.append(Layer("unet", path, hada_cp))
    return Case(tensors, layers)


def lokr_case(pipe: Any) -> Case:
    """LoKr: kron(w1, w2a·w2b)·alpha/rank (w1 full), fully factorised, and a full 4-D w2 (scale 1)."""
    g = torch.Generator().manual_seed(4)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    rank = 2
    for i, (component, path) in enumerate(_targets()):
        out_dim, in_dim = _weight(pipe, component, path).shape
        if out_dim % 4 or in_dim % 4:
            continue  # the CLIP stand-in's 37-wide MLP has no 4x4 Kronecker factor
        name = _kohya(component, path)
        w2a, w2b = _rand(g, out_dim // 4, rank, scale=0.4), _rand(g, rank, in_dim // 4, scale=0.4)
        if i % 2:
            w1a, w1b = _rand(g, 4, rank, scale=0.5), _rand(g, rank, 4, scale=0.5)
            w1 = w1a @ w1b
            tensors |= {f"{name}.lokr_w1_a": w1a, f"{name}.lokr_w1_b": w1b}
        else:
            w1 = _rand(g, 4, 4, scale=0.5)
            tensors[f"{name}.lokr_w1"] = w1
        tensors |= {f"{name}.lokr_w2_a": w2a, f"{name}.lokr_w2_b": w2b, f"{name}.alpha": torch.tensor(1.0)}
        layers.append(
            Layer(component, path, lambda w, a=w1, b=w2a @ w2b: (torch.kron(a, b) * (1.0 / rank), None))
        )
    path = CONV3[0]
    out_dim, in_dim = _weight(pipe, "unet", path).shape[:2]
    w1, w2 = _rand(g, 2, 2, scale=0.5), _rand(g, out_dim // 2, in_dim // 2, 3, 3, scale=0.3)
    name = _kohya("unet", path)
    tensors |= {
        f"{name}.lokr_w1": w1,
        f"{name}.lokr_w2": w2,
        f"{name}.alpha": torch.tensor(8.0),
    }  # alpha unused
    layers.append(Layer("unet", path, lambda w: (torch.kron(w1[:, :, None, None], w2), None)))
    return Case(tensors, layers)


def _col_norm(m: torch.Tensor) -> torch.Tensor:
    """‖·‖ over every dim but the input one, shaped to broadcast: (1, in, 1, 1...)."""
    dims = [d for d in range(m.dim()) if d != 1]
    return m.pow(2).sum(dim=dims, keepdim=True).sqrt()


def _row_norm(m: torch.Tensor) -> torch.Tensor:
    dims = list(range(1, m.dim()))
    return m.pow(2).sum(dim=dims, keepdim=True).sqrt()


def dora_case(pipe: Any) -> Case:
    """kohya DoRA: LoRA + dora_scale (1, in) (column norm) or (out, 1) (row norm); alpha before the norm."""
    g = torch.Generator().manual_seed(5)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    rank, alpha = 4, 2.0
    for i, (component, path) in enumerate([*_targets(), ("unet", CONV3[0])]):
        weight = _weight(pipe, component, path)
        out_dim, in_dim = weight.shape[:2]
        kernel = tuple(weight.shape[2:])
        down, up = _rand(g, rank, in_dim, *kernel), _rand(g, out_dim, rank, *(1 for _ in kernel))
        per_row = i % 3 == 2
        norm = _row_norm if per_row else _col_norm
        magnitude = norm(weight) * (1 + 0.3 * torch.rand(norm(weight).shape, generator=g))
        scale_shape = (out_dim, 1, *(1 for _ in kernel)) if per_row else (1, in_dim, *(1 for _ in kernel))
        name = _kohya(component, path)
        tensors |= {
            f"{name}.lora_down.weight": down,
            f"{name}.lora_up.weight": up,
            f"{name}.alpha": torch.tensor(alpha),
        }
        tensors[f"{name}.dora_scale"] = magnitude.reshape(scale_shape)

        def dora(w: torch.Tensor, u=up, d=down, m=magnitude, nrm=norm) -> Delta:  # type: ignore[no-untyped-def]
            lora = (u.reshape(u.shape[0], -1) @ d.reshape(rank, -1)).reshape(w.shape) * (alpha / rank)
            merged = w + lora
            return merged * m / nrm(merged) - w, None

        layers.append(Layer(component, path, dora))
    return Case(tensors, layers)


def _peft(pipe: Any, seed: int, dora: bool) -> Case:
    g = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    rank = 4
    for component, path in [*_targets(), ("unet", CONV3[1])]:
        weight = _weight(pipe, component, path)
        out_dim, in_dim = weight.shape[:2]
        kernel = tuple(weight.shape[2:])
        a, b = _rand(g, rank, in_dim, *kernel), _rand(g, out_dim, rank, *(1 for _ in kernel))
        name = f"{component}.{path}"
        tensors |= {f"{name}.lora_A.weight": a, f"{name}.lora_B.weight": b}
        magnitude = _row_norm(weight).reshape(-1) * (1 + 0.3 * torch.rand(out_dim, generator=g))
        if dora:
            tensors[f"{name}.lora_magnitude_vector"] = magnitude

        def delta(w: torch.Tensor, a=a, b=b, m=magnitude) -> Delta:  # type: ignore[no-untyped-def]
            lora = (b.reshape(b.shape[0], -1) @ a.reshape(rank, -1)).reshape(w.shape)  # no alpha: scale 1
            if not dora:
                return lora, None
            merged = w + lora
            return merged * m.reshape(-1, *[1] * (w.dim() - 1)) / _row_norm(merged) - w, None

        layers.append(Layer(component, path, delta))
    return Case(tensors, layers)


def peft_case(pipe: Any) -> Case:
    """PEFT/diffusers: unet.<path>.lora_A/lora_B, text_encoder.<path>..., a conv with 3x3 lora_A."""
    return _peft(pipe, 6, dora=False)


def peft_dora_case(pipe: Any) -> Case:
    """PEFT DoRA: lora_magnitude_vector (out,) rescales each output row of W + BA."""
    return _peft(pipe, 7, dora=True)


def full_case(pipe: Any) -> Case:
    """Full diff: ΔW = diff, Δb = diff_b (a bias is created on layers that have none, e.g. to_q)."""
    g = torch.Generator().manual_seed(8)
    tensors: dict[str, torch.Tensor] = {}
    layers: list[Layer] = []
    for component, path in [*_targets(), ("unet", CONV3[0])]:
        weight = _weight(pipe, component, path)
        diff, diff_b = _rand(g, *weight.shape, scale=0.05), _rand(g, weight.shape[0], scale=0.05)
        name = _kohya(component, path)
        tensors |= {f"{name}.diff": diff, f"{name}.diff_b": diff_b}
        layers.append(Layer(component, path, lambda w, d=diff, b=diff_b: (d, b)))
    return Case(tensors, layers)


CASES: dict[str, Callable[[Any], Case]] = {
    "lora": lora_case,
    "locon": locon_case,
    "loha": loha_case,
    "lokr": lokr_case,
    "dora": dora_case,
    "peft": peft_case,
    "peft_dora": peft_dora_case,
    "full": full_case,
}


# ------------------------------------------------------------------------------------------ explicit merge


def _expected(
    pipe: Any, case: Case, originals: dict[str, torch.Tensor], unet: float, text: float
) -> dict[int, Delta]:
    """id(module) -> (new weight, new bias) merged by hand from the case's own formulas."""
    found: dict[int, Delta] = {}
    for layer in case.layers:
        prefix = "unet." if layer.component == "unet" else "te."
        weight = originals[f"{prefix}{layer.path}.weight"].float()
        bias = originals.get(f"{prefix}{layer.path}.bias")
        d_weight, d_bias = layer.delta(weight)
        multiplier = unet if layer.component == "unet" else text
        new_bias = bias
        if d_bias is not None:
            new_bias = (bias if bias is not None else torch.zeros_like(d_bias)) + multiplier * d_bias
        found[id(_module(pipe, layer))] = (weight + multiplier * d_weight, new_bias)
    return found


def _merge_by_hand(pipe: Any, case: Case, originals: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for layer in case.layers:
            module = _module(pipe, layer)
            weight, bias = _expected(pipe, Case(case.tensors, [layer]), originals, 1.0, 1.0)[id(module)]
            module.weight.copy_(weight)
            if bias is not None:
                if module.bias is None:
                    module.bias = torch.nn.Parameter(bias.clone(), requires_grad=False)
                else:
                    module.bias.copy_(bias)


def _unmerge_by_hand(pipe: Any, case: Case, originals: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for layer in case.layers:
            module = _module(pipe, layer)
            prefix = "unet." if layer.component == "unet" else "te."
            module.weight.copy_(originals[f"{prefix}{layer.path}.weight"])
            bias = originals.get(f"{prefix}{layer.path}.bias")
            if bias is None:
                module.bias = None
            else:
                module.bias.copy_(bias)


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", list(CASES))
def test_each_type_merges_like_the_explicit_formula_and_renders_the_same(  # noqa: PLR0917
    kind: str,
    pipe: Any,
    patcher: LoraPatcher,
    originals: dict[str, torch.Tensor],
    bare: np.ndarray,
    tmp_path: Path,
) -> None:
    case = CASES[kind](pipe)
    network = load_network(_write(tmp_path, case.tensors, kind))
    assert len(network.modules) == len(case.layers)
    assert not network.ignored_keys

    # weights: unet and text encoder multipliers differ, so each is checked to reach its own layers
    assert patcher.apply([_use(network, 0.7, 0.4)]) == []
    assert patcher.patched_layers == len(case.layers)
    for module_id, (weight, bias) in _expected(pipe, case, originals, 0.7, 0.4).items():
        module = next(layer for layer in case.layers if id(_module(pipe, layer)) == module_id)
        live = _module(pipe, module)
        torch.testing.assert_close(live.weight.detach(), weight, rtol=1e-5, atol=1e-6)
        if bias is not None:
            torch.testing.assert_close(live.bias.detach(), bias, rtol=1e-5, atol=1e-6)

    # renders: weight 1 changes the image and equals the hand-merged pipeline; weight 0 is the bare model
    patcher.apply([_use(network, 1.0, 1.0)])
    patched = _render(pipe)
    assert np.abs(patched - bare).max() > 1e-3
    patcher.restore()
    _merge_by_hand(pipe, case, originals)
    try:
        by_hand = _render(pipe)
    finally:
        _unmerge_by_hand(pipe, case, originals)
    np.testing.assert_allclose(patched, by_hand, rtol=0, atol=1e-5)

    assert patcher.apply([_use(network, 0.0, 0.0)]) == []
    assert patcher.patched_layers == 0
    assert np.array_equal(_render(pipe), bare)


def test_kohya_lora_matches_diffusers_load_lora_weights_and_fuse(
    pipe: Any, patcher: LoraPatcher, cache_dir: Path, tmp_path: Path
) -> None:
    case = lora_case(pipe)
    patcher.apply([_use(load_network(_write(tmp_path, case.tensors)), 0.8, 0.8)])
    ours = _render(pipe)

    fresh = tiny_sd1_pipeline(cache_dir)
    fresh.set_progress_bar_config(disable=True)
    fresh.load_lora_weights({k: v.clone() for k, v in case.tensors.items()}, adapter_name="x")
    fresh.fuse_lora(lora_scale=0.8)
    np.testing.assert_allclose(ours, _render(fresh), rtol=0, atol=1e-4)


def test_restore_and_reapply_do_not_accumulate(
    pipe: Any, patcher: LoraPatcher, originals: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    first = load_network(_write(tmp_path, lora_case(pipe, seed=11).tensors, "first"))
    second = load_network(_write(tmp_path, full_case(pipe).tensors, "second"))
    patcher.apply([_use(first, 0.6, 0.6), _use(second, 0.3, 0.3)])
    once = _snapshot(pipe)
    for step in range(15):
        patcher.apply([_use(first, 0.1 * step - 0.5, 1.3), _use(second, 0.9, 0.05 * step)])
    patcher.apply([_use(first, 0.6, 0.6), _use(second, 0.3, 0.3)])
    again = _snapshot(pipe)
    for key, value in once.items():
        assert torch.equal(again[key], value), key
    patcher.restore()
    _assert_unchanged(pipe, originals)  # including the biases created for to_q by "full"
    patcher.restore()  # a second restore is harmless
    _assert_unchanged(pipe, originals)


def test_two_loras_on_one_layer_add_their_deltas(
    pipe: Any, patcher: LoraPatcher, originals: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    one, two = lora_case(pipe, seed=21), lora_case(pipe, seed=22)
    patcher.apply(
        [
            _use(load_network(_write(tmp_path, c.tensors, f"n{i}")), 0.5, 0.25)
            for i, c in enumerate((one, two))
        ]
    )
    for layer_one, layer_two in zip(one.layers, two.layers, strict=True):
        prefix = "unet." if layer_one.component == "unet" else "te."
        weight = originals[f"{prefix}{layer_one.path}.weight"]
        multiplier = 0.5 if layer_one.component == "unet" else 0.25
        expected = weight + multiplier * (layer_one.delta(weight)[0] + layer_two.delta(weight)[0])
        torch.testing.assert_close(_module(pipe, layer_one).weight.detach(), expected, rtol=1e-5, atol=1e-6)


def test_text_encoder_weight_is_separate(
    pipe: Any, patcher: LoraPatcher, originals: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    network = load_network(_write(tmp_path, lora_case(pipe).tensors))
    patcher.apply([_use(network, 1.0, 0.0)])
    state = _snapshot(pipe)
    assert all(torch.equal(state[k], v) for k, v in originals.items() if k.startswith("te."))
    assert any(not torch.equal(state[k], v) for k, v in originals.items() if k.startswith("unet."))
    patcher.apply([_use(network, 0.0, 1.0)])
    state = _snapshot(pipe)
    assert all(torch.equal(state[k], v) for k, v in originals.items() if k.startswith("unet."))
    assert any(not torch.equal(state[k], v) for k, v in originals.items() if k.startswith("te."))


def test_missing_and_unsupported_layers_are_reported(pipe: Any, patcher: LoraPatcher, tmp_path: Path) -> None:
    tensors = lora_case(pipe).tensors
    ghost = "lora_unet_down_blocks_7_attentions_0_proj_in"
    tensors |= {
        f"{ghost}.lora_down.weight": torch.zeros(4, 32),
        f"{ghost}.lora_up.weight": torch.zeros(32, 4),
    }
    ia3 = _kohya("unet", CONV1)
    tensors |= {f"{ia3}.weight": torch.ones(32), f"{ia3}.on_input": torch.tensor(False)}
    tensors["lora_unet_something.unknown_tensor"] = torch.zeros(2)
    warnings = patcher.apply([_use(load_network(_write(tmp_path, tensors)))])
    text = "\n".join(warnings)
    assert "1 of 11 layers do not exist in this checkpoint" in text
    assert ghost in text
    assert "1 (IA)³ layers are not supported" in text
    assert "1 tensors were not understood" in text
    assert patcher.patched_layers == 10


def test_sd1_lora_on_sdxl_raises_a_mismatch_and_leaves_weights_alone(
    pipe: Any, cache_dir: Path, tmp_path: Path
) -> None:
    sdxl = tiny_sdxl_pipeline(cache_dir)
    before = {k: v.clone() for k, v in sdxl.unet.state_dict().items()}
    patcher = LoraPatcher(sdxl)
    shape_clash = load_network(_write(tmp_path, lora_case(pipe).tensors, "sd1-style"))
    with pytest.raises(LoraMismatchError, match="does not fit this checkpoint") as error:
        patcher.apply([_use(shape_clash)])
    assert "32-wide cross-attention" in str(error.value)
    assert "64-wide cross-attention" in str(error.value)
    assert "attn2.to_k" in str(error.value)

    down_only = {k: v for k, v in lora_case(pipe).tensors.items() if "down_blocks_0" in k or "lora_te_" in k}
    with pytest.raises(LoraMismatchError, match="none of its 6 layers exist"):
        patcher.apply([_use(load_network(_write(tmp_path, down_only, "down-only")))])
    assert patcher.patched_layers == 0
    assert all(torch.equal(sdxl.unet.state_dict()[k], v) for k, v in before.items())


def test_failed_apply_leaves_weights_restored(
    pipe: Any, patcher: LoraPatcher, originals: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    good = load_network(_write(tmp_path, lora_case(pipe).tensors, "good"))
    patcher.apply([_use(good)])
    path = _kohya("unet", UNET_LINEARS[0])
    bad = load_network(
        _write(
            tmp_path,
            {f"{path}.lora_down.weight": torch.zeros(4, 99), f"{path}.lora_up.weight": torch.zeros(32, 4)},
        )
    )
    with pytest.raises(LoraMismatchError):
        patcher.apply([_use(good), _use(bad)])
    _assert_unchanged(pipe, originals)


def test_pt_files_load_with_weights_only(pipe: Any, tmp_path: Path) -> None:
    tensors = lora_case(pipe).tensors
    torch.save(tensors, tmp_path / "net.pt")
    from_pt = load_network(tmp_path / "net.pt")
    from_st = load_network(_write(tmp_path, tensors))
    assert from_pt.modules.keys() == from_st.modules.keys()
    for alias, module in from_pt.modules.items():
        for role, tensor in module.tensors.items():
            assert torch.equal(tensor, from_st.modules[alias].tensors[role])


class _Payload:
    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("this must never run",))


def test_pickle_with_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"lora_unet_x.lora_down.weight": torch.zeros(1), "payload": _Payload()}, path)
    with pytest.raises(LoraFormatError, match="refused"):
        load_network(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a valid safetensors file"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", "not a valid safetensors file"),
    ],
)
def test_corrupt_safetensors_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(LoraFormatError, match=message):
        load_network(path)


def test_not_a_lora_and_unsupported_types_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(LoraFormatError, match="does not exist"):
        load_network(tmp_path / "missing.safetensors")
    with pytest.raises(LoraFormatError, match="contains no LoRA"):
        load_network(_write(tmp_path, {"model.diffusion_model.out.2.weight": torch.zeros(4, 4)}, "ckpt"))
    ia3 = {"lora_unet_conv_in.weight": torch.ones(32), "lora_unet_conv_in.on_input": torch.tensor(False)}
    with pytest.raises(LoraFormatError, match=r"is a \(IA\)³ network, which Atelier cannot apply yet"):
        load_network(_write(tmp_path, ia3, "ia3"))  # OFT, BOFT and GLoRA: test_lora_dialects.py
    half = {"lora_unet_conv_in.lora_down.weight": torch.zeros(4, 4)}
    with pytest.raises(LoraFormatError, match="lacks lora_up"):
        load_network(_write(tmp_path, half, "half"))


def test_norm_layers_take_w_norm_and_b_norm(
    pipe: Any, patcher: LoraPatcher, originals: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    path = f"{A0}.norm"
    g = torch.Generator().manual_seed(9)
    w_norm, b_norm = _rand(g, 32), _rand(g, 32)
    name = _kohya("unet", path)
    network = load_network(_write(tmp_path, {f"{name}.w_norm": w_norm, f"{name}.b_norm": b_norm}))
    assert network.kinds == {"norm": 1}
    patcher.apply([_use(network, 0.5, 1.0)])
    module = pipe.unet.get_submodule(path)
    torch.testing.assert_close(module.weight.detach(), originals[f"unet.{path}.weight"] + 0.5 * w_norm)
    torch.testing.assert_close(module.bias.detach(), originals[f"unet.{path}.bias"] + 0.5 * b_norm)


def test_four_channel_conv_in_delta_is_padded_for_an_inpainting_unet(tmp_path: Path) -> None:
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        in_channels=9,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    original = unet.conv_in.weight.detach().clone()
    g = torch.Generator().manual_seed(10)
    down, up = _rand(g, 4, 4, 3, 3), _rand(g, 32, 4, 1, 1)
    tensors = {
        "lora_unet_input_blocks_0_0.lora_down.weight": down,
        "lora_unet_input_blocks_0_0.lora_up.weight": up,
    }
    patcher = LoraPatcher(SimpleNamespace(unet=unet))
    patcher.apply([_use(load_network(_write(tmp_path, tensors)))])
    expected = original.clone()
    expected[:, :4] += torch.einsum("or,rikl->oikl", up[:, :, 0, 0], down)
    torch.testing.assert_close(unet.conv_in.weight.detach(), expected)
    patcher.restore()
    assert torch.equal(unet.conv_in.weight, original)
