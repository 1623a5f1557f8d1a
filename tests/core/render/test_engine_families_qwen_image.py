"""Qwen-Image renders through the family loader: a full ComfyUI checkpoint, the split files (diffusion
model, ComfyUI's ``qwen_2.5_vl_7b`` Qwen2.5-VL file in its own names, the Qwen-Image VAE) and a diffusers
folder give the same image for the same seed; the Qwen tokenizer is fetched once from the Hub; a LoRA
changes the image and weight 0 is the bare model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.family_loader import FamilyLoadError, tensor_names
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    flow_pixels,
    qwen_image_model,
    tiny_qwen_vl,
    write_full,
    write_qwen_image_folder,
    write_split,
)

CPU = DeviceChoice("cpu", "float32", "tests")


pytestmark = pytest.mark.usefixtures("family_hub_env")


def _pixels(engine: RenderEngine, **changes: object) -> np.ndarray:
    return flow_pixels(engine, 2.0, **changes)  # type: ignore[no-any-return]


def test_full_checkpoint_and_split_files_render_the_same_image(tmp_path: Path) -> None:
    model = qwen_image_model()
    full = write_full(tmp_path / "qwen_image_full.safetensors", model)
    split = write_split(tmp_path / "split", model)
    assert "decoder.upsamples.3.resample.1.weight" in tensor_names(split.vae)  # ComfyUI's Wan names
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(full, Architecture.QWEN_IMAGE, None)
    from_full = _pixels(engine)
    assert from_full.std() > 5
    assert np.array_equal(from_full, _pixels(engine))
    assert not np.array_equal(from_full, _pixels(engine, seed=4))
    engine.load(
        split.checkpoint, Architecture.QWEN_IMAGE, None, text_encoders=split.text_encoders, vae=split.vae
    )
    assert np.array_equal(from_full, _pixels(engine))
    folder = write_qwen_image_folder(tmp_path / "Qwen-Image-tiny", model, tmp_path / "work")
    engine.load(folder, Architecture.QWEN_IMAGE, None)
    assert np.array_equal(from_full, _pixels(engine))


def test_a_qwen_vl_of_another_width_is_refused_in_one_line(tmp_path: Path) -> None:
    model = qwen_image_model()
    split = write_split(tmp_path / "split", model)
    wide = write_split(
        tmp_path / "wide", type(model)(model.transformer, model.vae, {"qwen_2.5_vl_7b": tiny_qwen_vl(5, 128)})
    )
    engine = RenderEngine(tmp_path / "cache", CPU)
    # Refused naming the encoder file at fault, not as a checkpoint that cannot load.
    with pytest.raises(
        FamilyLoadError,
        match=r"^qwen_2\.5_vl_7b\S* is a 128-wide Qwen2\.5-VL text encoder; this Qwen-Image model",
    ):
        engine.load(
            split.checkpoint, Architecture.QWEN_IMAGE, None, text_encoders=wide.text_encoders, vae=split.vae
        )


@pytest.mark.parametrize(
    ("dialect", "layers"),
    [
        (
            "transformer.",
            {"transformer_blocks.0.attn.to_q": (64, 64), "transformer_blocks.0.img_mlp.net.2": (256, 64)},
        ),
        ("diffusion_model.", {"transformer_blocks.0.attn.add_q_proj": (64, 64), "img_in": (64, 64)}),
        (
            "lora_unet_",
            {"transformer_blocks_0_attn_to_k": (64, 64), "transformer_blocks_0_img_mlp_net_2": (256, 64)},
        ),
    ],
)
def test_a_lora_changes_the_image_and_weight_0_is_the_bare_model(
    tmp_path: Path, dialect: str, layers: dict[str, tuple[int, int]]
) -> None:
    """A Qwen-Image LoRA in diffusers/PEFT names, ComfyUI/ai-toolkit's ``diffusion_model.`` names or
    musubi-tuner/kohya's ``lora_unet_`` names reaches the transformer; weight 0 and switching it off
    give the bare image without reloading."""
    import torch
    from safetensors.torch import save_file

    from core.render.recipe import AssetRef, LoraUse

    generator = torch.Generator().manual_seed(1)
    tensors = {}
    for layer, (width_in, width_out) in layers.items():
        down, up = ("lora_down", "lora_up") if dialect == "lora_unet_" else ("lora_A", "lora_B")
        tensors[f"{dialect}{layer}.{down}.weight"] = torch.randn(4, width_in, generator=generator)
        tensors[f"{dialect}{layer}.{up}.weight"] = torch.randn(width_out, 4, generator=generator)
        if dialect == "lora_unet_":  # musubi-tuner and kohya write an alpha per layer
            tensors[f"{dialect}{layer}.alpha"] = torch.tensor(4.0)
    save_file(tensors, str(tmp_path / "q-lora.safetensors"))
    lora = AssetRef("q-lora", path=str(tmp_path / "q-lora.safetensors"))
    full = write_full(tmp_path / "qwen_image_full.safetensors", qwen_image_model())
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(full, Architecture.QWEN_IMAGE, None)
    bare = _pixels(engine)
    with_lora = _pixels(engine, loras=(LoraUse(lora, 1.0),))
    assert np.abs(bare - with_lora).max() > 20
    assert np.array_equal(bare, _pixels(engine, loras=(LoraUse(lora, 0.0),)))
    assert np.array_equal(bare, _pixels(engine))
    assert engine.load_count == 1
