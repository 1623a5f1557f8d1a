"""Z-Image renders through the family loader: a full ComfyUI checkpoint (original tensor names, fused
``qkv``), the split files (diffusion model, ComfyUI's ``qwen_3_4b`` Qwen3 file, the Flux VAE) and a
diffusers folder give the same image for the same seed; the Qwen tokenizer is fetched once from the Hub."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.family_loader import FamilyLoadError
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    flow_pixels,
    tiny_qwen3,
    write_full,
    write_split,
    write_z_image_folder,
    z_image_model,
)

CPU = DeviceChoice("cpu", "float32", "tests")


pytestmark = pytest.mark.usefixtures("family_hub_env")


def _pixels(engine: RenderEngine, **changes: object) -> np.ndarray:
    return flow_pixels(engine, 2.0, **changes)  # type: ignore[no-any-return]


def test_full_checkpoint_and_split_files_render_the_same_image(tmp_path: Path) -> None:
    model = z_image_model()
    full = write_full(tmp_path / "z_image_full.safetensors", model, original_names=True)
    split = write_split(tmp_path / "split", model)
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(full, Architecture.Z_IMAGE, None)
    from_full = _pixels(engine)
    assert from_full.std() > 5
    assert np.array_equal(from_full, _pixels(engine))
    assert not np.array_equal(from_full, _pixels(engine, seed=4))
    engine.load(
        split.checkpoint, Architecture.Z_IMAGE, None, text_encoders=split.text_encoders, vae=split.vae
    )
    assert np.array_equal(from_full, _pixels(engine))
    folder = write_z_image_folder(tmp_path / "Z-Image-tiny", model, tmp_path / "work")
    engine.load(folder, Architecture.Z_IMAGE, None)
    assert np.array_equal(from_full, _pixels(engine))


def test_a_qwen3_of_another_width_is_refused_in_one_line(tmp_path: Path) -> None:
    model = z_image_model()
    split = write_split(tmp_path / "split", model)
    wide = write_split(
        tmp_path / "wide", type(model)(model.transformer, model.vae, {"qwen_3_4b": tiny_qwen3(5, 64)})
    )
    engine = RenderEngine(tmp_path / "cache", CPU)
    with pytest.raises(FamilyLoadError, match="64-wide Qwen3 text encoder; this Z-Image model reads 32-wide"):
        engine.load(
            split.checkpoint, Architecture.Z_IMAGE, None, text_encoders=wide.text_encoders, vae=split.vae
        )


@pytest.mark.parametrize(
    ("dialect", "layers"),
    [
        ("transformer.", {"layers.0.attention.to_q": (32, 32), "layers.0.feed_forward.w1": (32, 85)}),
        ("diffusion_model.", {"layers.0.attention.qkv": (32, 96), "noise_refiner.0.attention.out": (32, 32)}),
    ],
)
def test_a_lora_changes_the_image_and_weight_0_is_the_bare_model(
    tmp_path: Path, dialect: str, layers: dict[str, tuple[int, int]]
) -> None:
    """A Z-Image LoRA in diffusers/PEFT names or in ComfyUI's original names (fused ``qkv``) reaches the
    transformer; weight 0 and switching it off give the bare image without reloading."""
    import torch
    from safetensors.torch import save_file

    from core.render.recipe import AssetRef, LoraUse

    generator = torch.Generator().manual_seed(1)
    tensors = {}
    for layer, (width_in, width_out) in layers.items():
        tensors[f"{dialect}{layer}.lora_A.weight"] = torch.randn(4, width_in, generator=generator)
        tensors[f"{dialect}{layer}.lora_B.weight"] = torch.randn(width_out, 4, generator=generator)
    save_file(tensors, str(tmp_path / "z-lora.safetensors"))
    lora = AssetRef("z-lora", path=str(tmp_path / "z-lora.safetensors"))
    full = write_full(tmp_path / "z_image_full.safetensors", z_image_model(), original_names=True)
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(full, Architecture.Z_IMAGE, None)
    bare = _pixels(engine)
    with_lora = _pixels(engine, loras=(LoraUse(lora, 1.0),))
    assert np.abs(bare - with_lora).max() > 20
    assert np.array_equal(bare, _pixels(engine, loras=(LoraUse(lora, 0.0),)))
    assert np.array_equal(bare, _pixels(engine))
    assert engine.load_count == 1
