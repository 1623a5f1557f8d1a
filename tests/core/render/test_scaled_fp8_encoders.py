"""ComfyUI's "scaled" fp8 text encoders (``t5xxl_fp8_e4m3fn_scaled.safetensors``): every linear weight in
float8_e4m3fn beside a ``scale_weight`` (and ``scale_input``), plus a ``scaled_fp8`` marker. The model's
weight is the fp8 values times the scale. A tiny T5 written in that layout renders exactly like the same
T5 stored unscaled with those effective weights, and identification names it the T5 encoder it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.recipe import Recipe
from core.taxonomy import Architecture, AssetKind, Precision
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.models import ModelCase
from tests.factory.tiny_families import SplitFiles, flux_parts, write_flux_split

CPU = DeviceChoice("cpu", "float32", "tests")
FP8_MAX = 448.0  # the largest float8_e4m3fn value

pytestmark = pytest.mark.usefixtures("family_hub_env")


def _scaled_and_effective(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The T5 state as ComfyUI's scaled file stores it, and the weights that file means, unscaled."""
    import torch

    scaled: dict[str, Any] = {"scaled_fp8": torch.empty(0, dtype=torch.float8_e4m3fn)}
    effective: dict[str, Any] = {}
    for name, tensor in state.items():
        if tensor.ndim != 2 or name == "shared.weight":
            scaled[name] = effective[name] = tensor
            continue
        scale = tensor.abs().max().to(torch.float32) / FP8_MAX
        stored = (tensor / scale).to(torch.float8_e4m3fn)
        owner = name.removesuffix(".weight")
        scaled |= {name: stored, f"{owner}.scale_weight": scale, f"{owner}.scale_input": torch.ones(())}
        effective[name] = stored.to(torch.float32) * scale
    return scaled, effective


def _save(path: Path, tensors: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(path))
    return path


def _pixels(engine: RenderEngine, split: SplitFiles, t5: Path) -> np.ndarray:
    engine.load(
        split.checkpoint, Architecture.FLUX1, None, text_encoders=(t5, split.text_encoders[1]), vae=split.vae
    )
    recipe = Recipe(prompt="a red cat", seed=7, steps=2, width=64, height=64, cfg=1.0, sampler="Euler")
    return np.asarray(engine.render(recipe).images[0], dtype=np.int16)


def test_a_scaled_fp8_t5_renders_like_its_effective_weights(tmp_path: Path) -> None:
    parts = flux_parts(0)
    split = write_flux_split(tmp_path / "split", parts)
    state = {
        name: tensor
        for name, tensor in parts.t5.state_dict().items()
        if name != "encoder.embed_tokens.weight"
    }
    scaled_state, effective_state = _scaled_and_effective(state)
    scaled = _save(tmp_path / "t5xxl_fp8_e4m3fn_scaled.safetensors", scaled_state)
    effective = _save(tmp_path / "t5xxl_effective.safetensors", effective_state)

    engine = RenderEngine(tmp_path / "cache", CPU)
    from_scaled = _pixels(engine, split, scaled)
    encoder = engine.pipeline.text_encoder_2
    assert str(encoder.dtype) == "torch.float32"  # upcast on the CPU
    assert not any("scale" in name for name in encoder.state_dict())
    from_effective = _pixels(engine, split, effective)

    assert np.array_equal(from_scaled, from_effective)
    assert from_scaled.std() > 5  # a real image, not a flat colour
    # The fp8 values alone (the scales ignored) are another encoder: the scales were applied.
    unscaled = _save(
        tmp_path / "t5xxl_fp8_unscaled.safetensors",
        {name: t for name, t in scaled_state.items() if not name.endswith((".scale_weight", ".scale_input"))},
    )
    assert not np.array_equal(from_scaled, _pixels(engine, split, unscaled))


def test_a_scaled_fp8_t5xxl_is_named_the_t5xxl_encoder_it_is() -> None:
    specs: dict[str, tuple[str, tuple[int, ...]]] = {
        "scaled_fp8": ("F8_E4M3", (0,)),
        "shared.weight": ("F8_E4M3", (32128, 4096)),
        "encoder.final_layer_norm.weight": ("F16", (4096,)),
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": ("F16", (32, 64)),
    }
    for block in range(2):
        for linear in ("SelfAttention.q", "SelfAttention.k", "SelfAttention.v", "SelfAttention.o"):
            name = f"encoder.block.{block}.layer.0.{linear}"
            specs |= {
                f"{name}.weight": ("F8_E4M3", (4096, 4096)),
                f"{name}.scale_weight": ("F32", ()),
                f"{name}.scale_input": ("F32", ()),
            }
    result = identify_case(ModelCase("t5xxl_fp8_e4m3fn_scaled", specs))

    assert result.kind is AssetKind.TEXT_ENCODER, result.refusals
    assert result.metadata["encoder"] == "t5xxl"
    assert result.precision is Precision.FP8
    assert "scaled fp8" in reasons_text(result)


def test_a_t5_file_without_its_tied_embedding_loads_one_embedding_for_both_names(tmp_path: Path) -> None:
    """ComfyUI's t5xxl files store ``shared.weight`` alone; the encoder's ``embed_tokens`` is the same
    matrix. Loaded, both names hold one Parameter, so the memory plan counts it once and moving the
    encoder to another device or dtype keeps one copy (263 MB for T5-XXL in bf16)."""
    import torch

    parts = flux_parts(0)
    split = write_flux_split(tmp_path / "split", parts)
    state = {n: t for n, t in parts.t5.state_dict().items() if n != "encoder.embed_tokens.weight"}
    t5 = _save(tmp_path / "t5xxl_fp16.safetensors", state)
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(
        split.checkpoint, Architecture.FLUX1, None, text_encoders=(t5, split.text_encoders[1]), vae=split.vae
    )
    encoder = engine.pipeline.text_encoder_2
    assert encoder.encoder.embed_tokens.weight is encoder.shared.weight
    encoder.to(dtype=torch.float64)
    assert encoder.encoder.embed_tokens.weight.data_ptr() == encoder.shared.weight.data_ptr()
