"""GGUF transformers (ComfyUI-GGUF / city96 files) render like the same weights stored as safetensors.

A GGUF file is a diffusion model alone, next to separate text-encoder and VAE files. An all-F16 file
holds exactly the F16 values, so it must give the very image of a ``.safetensors`` file of those values;
a Q8_0 file runs through diffusers' GGUF layers, which dequantize each weight as they run, and must give
the image of a ``.safetensors`` file of the dequantized values. A LoRA runs beside the quantized layers
(their weights cannot be rewritten): it changes the picture, like the same LoRA on the dequantized
safetensors model, and at weight 0 the picture is the bare model's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.recipe import AssetRef, LoraUse
from core.taxonomy import Architecture
from tests.factory.gguf_files import as_stored, write_gguf
from tests.factory.tiny_families import (
    FamilyModel,
    SplitFiles,
    chroma_model,
    flow_pixels,
    flux_parts,
    qwen_image_model,
    sd3_model,
    write_flux_split,
    write_split,
    z_image_model,
    z_image_original_names,
)

CPU = DeviceChoice("cpu", "float32", "tests")

pytestmark = pytest.mark.usefixtures("family_hub_env")


def _save(path: Path, state: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    save_file({name: tensor.contiguous() for name, tensor in state.items()}, str(path))
    return path


def _load(engine: RenderEngine, checkpoint: Path, split: SplitFiles, architecture: Architecture) -> None:
    engine.load(checkpoint, architecture, None, text_encoders=split.text_encoders, vae=split.vae)


@pytest.fixture(scope="module")
def flux(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny Flux.1's encoders and VAE, its transformer as F16 and Q8_0 GGUF files, and each one's
    values as a ``.safetensors`` diffusion-model file."""
    root = tmp_path_factory.mktemp("flux-gguf")
    parts = flux_parts(0)
    state = parts.transformer.state_dict()
    return {
        "split": write_flux_split(root / "split", parts),
        "f16": write_gguf(root / "flux1-tiny-F16.gguf", state, arch="flux", quantize=False),
        "q8": write_gguf(root / "flux1-tiny-Q8_0.gguf", state, arch="flux", quantize=True),
        "f16_values": _save(root / "f16.safetensors", as_stored(state, quantize=False)),
        "q8_values": _save(root / "q8.safetensors", as_stored(state, quantize=True)),
    }


def _pixels(engine: RenderEngine, **changes: object) -> np.ndarray:
    return flow_pixels(engine, 1.0, **changes)  # type: ignore[no-any-return]


def test_an_f16_gguf_transformer_renders_exactly_like_its_safetensors_values(
    flux: dict[str, Any], tmp_path: Path
) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    _load(engine, flux["f16"], flux["split"], Architecture.FLUX1)
    from_gguf = _pixels(engine)
    _load(engine, flux["f16_values"], flux["split"], Architecture.FLUX1)
    assert np.array_equal(from_gguf, _pixels(engine))
    assert from_gguf.std() > 5


def test_a_q8_0_gguf_transformer_stays_quantized_and_renders_like_its_dequantized_values(
    flux: dict[str, Any], tmp_path: Path
) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    _load(engine, flux["q8"], flux["split"], Architecture.FLUX1)
    layer = engine.pipeline.transformer.transformer_blocks[0].attn.to_q
    assert type(layer).__name__ == "GGUFLinear"
    assert str(layer.weight.dtype) == "torch.uint8"  # the Q8_0 bytes, dequantized as the layer runs
    from_gguf = _pixels(engine)
    assert np.array_equal(from_gguf, _pixels(engine))  # same seed, same image
    _load(engine, flux["q8_values"], flux["split"], Architecture.FLUX1)
    dense = _pixels(engine)
    assert np.abs(from_gguf - dense).max() <= 1
    assert from_gguf.std() > 5


def _flux_lora(path: Path) -> Path:
    """A PEFT-named Flux LoRA on layers the Q8_0 file quantized (attention) and left F16 (none here)."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(1)
    tensors = {}
    for layer in ("transformer_blocks.0.attn.to_q", "single_transformer_blocks.0.attn.to_v"):
        tensors[f"transformer.{layer}.lora_A.weight"] = torch.randn(4, 64, generator=generator)
        tensors[f"transformer.{layer}.lora_B.weight"] = torch.randn(64, 4, generator=generator)
    save_file(tensors, str(path))
    return path


def test_a_lora_on_a_gguf_transformer_runs_beside_the_quantized_layers(
    flux: dict[str, Any], tmp_path: Path
) -> None:
    lora = AssetRef("flux-lora", path=str(_flux_lora(tmp_path / "flux-lora.safetensors")))
    engine = RenderEngine(tmp_path / "cache", CPU)
    _load(engine, flux["q8_values"], flux["split"], Architecture.FLUX1)
    dense_lora = _pixels(engine, loras=(LoraUse(lora, 1.0),))
    _load(engine, flux["q8"], flux["split"], Architecture.FLUX1)
    bare = _pixels(engine)
    with_lora = _pixels(engine, loras=(LoraUse(lora, 1.0),))
    assert np.abs(bare - with_lora).max() > 20
    assert np.abs(with_lora - dense_lora).max() <= 1  # the LoRA on quantized layers = on their values
    assert np.array_equal(bare, _pixels(engine, loras=(LoraUse(lora, 0.0),)))
    assert np.array_equal(bare, _pixels(engine))  # switched off: the bare model again
    assert engine.load_count == 2  # the LoRA never reloaded the GGUF model


def test_a_loha_on_a_gguf_transformer_merges_into_a_dequantized_copy_and_switches_off(
    flux: dict[str, Any], tmp_path: Path
) -> None:
    """A LoHa is no low-rank product of the input: its layers are merged, into a dequantized copy of
    the quantized weight, and switching it off puts the quantized weight itself back."""
    from safetensors.torch import save_file

    from tests.factory import dit_lora_files

    layers = dit_lora_files.with_loha(dit_lora_files.flux_layers(hidden=64, text_width=4096))
    save_file(dit_lora_files.kohya(layers), str(tmp_path / "flux-loha.safetensors"))
    loha = AssetRef("flux-loha", path=str(tmp_path / "flux-loha.safetensors"))
    engine = RenderEngine(tmp_path / "cache", CPU)
    _load(engine, flux["q8_values"], flux["split"], Architecture.FLUX1)
    dense_loha = _pixels(engine, loras=(LoraUse(loha, 2.0),))
    _load(engine, flux["q8"], flux["split"], Architecture.FLUX1)
    layer = engine.pipeline.transformer.transformer_blocks[0].attn.to_q
    quantized = layer.weight
    bare = _pixels(engine)
    with_loha = _pixels(engine, loras=(LoraUse(loha, 2.0),))
    assert layer.weight is not quantized
    assert str(layer.weight.dtype) == "torch.float32"
    assert np.abs(bare - with_loha).max() > 20
    assert np.abs(with_loha - dense_loha).max() <= 1
    assert np.array_equal(bare, _pixels(engine, loras=(LoraUse(loha, 0.0),)))
    assert layer.weight is quantized  # off: the Q8_0 bytes are the layer's weight again


def _z_image_gguf_names(state: dict[str, Any]) -> dict[str, Any]:
    return z_image_original_names(dict(state))  # ComfyUI's names, as its GGUF files carry them


@pytest.mark.parametrize(
    ("architecture", "build", "names", "cfg"),
    [
        (Architecture.CHROMA, chroma_model, dict, 4.0),
        (Architecture.SD3, sd3_model, dict, 4.0),
        (Architecture.Z_IMAGE, z_image_model, _z_image_gguf_names, 1.0),
        (Architecture.QWEN_IMAGE, qwen_image_model, dict, 4.0),
    ],
)
def test_other_families_render_a_q8_0_gguf_transformer_like_its_dequantized_values(
    architecture: Architecture,
    build: Callable[[], FamilyModel],
    names: Callable[[dict[str, Any]], dict[str, Any]],
    cfg: float,
    tmp_path: Path,
) -> None:
    model = build()
    split = write_split(tmp_path / "split", model)
    state = names(dict(model.transformer.state_dict()))
    quantized = write_gguf(tmp_path / "tiny-Q8_0.gguf", state, arch=architecture.value, quantize=True)
    values = _save(tmp_path / "values.safetensors", as_stored(state, quantize=True))
    engine = RenderEngine(tmp_path / "cache", CPU)
    _load(engine, quantized, split, architecture)
    assert any(type(m).__name__ == "GGUFLinear" for m in engine.pipeline.transformer.modules())
    from_gguf = flow_pixels(engine, cfg)
    _load(engine, values, split, architecture)
    assert np.abs(from_gguf - flow_pixels(engine, cfg)).max() <= 1
    assert from_gguf.std() > 5


def test_a_gguf_text_encoder_is_refused_in_one_line(flux: dict[str, Any], tmp_path: Path) -> None:
    """city96's t5xxl GGUF files use llama.cpp's names, which no loader here maps: said, not a traceback."""
    split = flux["split"]
    t5_gguf = write_gguf(tmp_path / "t5-v1_1-xxl-encoder-Q8_0.gguf", {"enc.blk.0.attn_q.weight": _t5_like()},
                         arch="t5encoder", quantize=True)  # fmt: skip
    engine = RenderEngine(tmp_path / "cache", CPU)
    with pytest.raises(ValueError) as caught:
        engine.load(flux["q8"], Architecture.FLUX1, None, text_encoders=(split.text_encoders[1], t5_gguf),
                    vae=split.vae)  # fmt: skip
    assert str(caught.value).endswith(
        "t5-v1_1-xxl-encoder-Q8_0.gguf is a GGUF text encoder: Atelier reads GGUF diffusion models only; "
        "choose the .safetensors CLIP or T5 file"
    )


def _t5_like() -> Any:
    import torch

    return torch.zeros(64, 64)
