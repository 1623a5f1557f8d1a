"""Flux.1 renders through the engine from the layouts users store: a full checkpoint, a diffusion-model
file with separate clip_l/t5xxl files and a VAE (fp8 too), and a diffusers folder — all the same image.

The T5 tokenizer no package ships is fetched once from the loopback Hub (HF_ENDPOINT) into the Hub
cache, then renders run offline; without it and without a network the error is one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.recipe import AssetRef, EmbeddingUse, Recipe
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    FluxParts,
    SplitFiles,
    flux_parts,
    write_flux_folder,
    write_flux_full,
    write_flux_split,
)

CPU = DeviceChoice("cpu", "float32", "tests")


pytestmark = pytest.mark.usefixtures("family_hub_env")


@pytest.fixture(scope="module")
def parts() -> FluxParts:
    return flux_parts(0)


@pytest.fixture(scope="module")
def files(parts: FluxParts, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("flux")
    return {
        "full": write_flux_full(root / "flux-tiny-full.safetensors", parts),
        "split": write_flux_split(root / "split", parts),
        "fp8": write_flux_split(root / "fp8", parts, fp8=True),
    }


def _recipe(**changes: object) -> Recipe:
    base = Recipe(prompt="a red cat", seed=7, steps=2, width=64, height=64, cfg=1.0, sampler="Euler")
    return base.replace(**changes)  # type: ignore[arg-type]


def _pixels(engine: RenderEngine, recipe: Recipe) -> np.ndarray:
    return np.asarray(engine.render(recipe).images[0], dtype=np.int16)


def test_full_checkpoint_and_separate_files_render_the_same_image(
    files: dict[str, object], tmp_path: Path
) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(Path(str(files["full"])), Architecture.FLUX1, None)
    full = _pixels(engine, _recipe())
    again = _pixels(engine, _recipe())
    split = files["split"]
    assert isinstance(split, SplitFiles)
    engine.load(split.checkpoint, Architecture.FLUX1, None, text_encoders=split.text_encoders, vae=split.vae)
    separate = _pixels(engine, _recipe())
    assert np.array_equal(full, again)  # same seed, same image
    assert np.array_equal(full, separate)
    assert full.std() > 5  # a real image, not a flat colour
    assert not np.array_equal(full, _pixels(engine, _recipe(seed=8)))


def test_fp8_transformer_is_upcast_and_renders_close_to_the_full_precision_one(
    files: dict[str, object], tmp_path: Path
) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    split, fp8 = files["split"], files["fp8"]
    assert isinstance(split, SplitFiles)
    assert isinstance(fp8, SplitFiles)
    engine.load(split.checkpoint, Architecture.FLUX1, None, text_encoders=split.text_encoders, vae=split.vae)
    exact = _pixels(engine, _recipe())
    engine.load(fp8.checkpoint, Architecture.FLUX1, None, text_encoders=fp8.text_encoders, vae=fp8.vae)
    rounded = _pixels(engine, _recipe())
    assert str(engine.pipeline.transformer.dtype) == "torch.float32"
    assert np.abs(exact - rounded).mean() < 40  # fp8 rounding moves pixels a little, not the picture


def test_diffusers_folder_renders_like_the_single_file(
    parts: FluxParts, files: dict[str, object], tmp_path: Path
) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    folder = write_flux_folder(tmp_path / "flux-folder", parts, tmp_path / "cache")
    engine.load(folder, Architecture.FLUX1, None)
    from_folder = _pixels(engine, _recipe())
    engine.load(Path(str(files["full"])), Architecture.FLUX1, None)
    assert np.array_equal(from_folder, _pixels(engine, _recipe()))


def test_a_diffusion_model_without_its_encoders_says_which_files_to_choose(
    files: dict[str, object], tmp_path: Path
) -> None:
    split = files["split"]
    assert isinstance(split, SplitFiles)
    engine = RenderEngine(tmp_path / "cache", CPU)
    with pytest.raises(
        ValueError, match=r"without its text encoders: choose the text-encoder files \(clip_l, t5xxl\)"
    ):
        engine.load(split.checkpoint, Architecture.FLUX1, None, vae=split.vae)
    with pytest.raises(ValueError, match="without a VAE: choose a VAE file"):
        engine.load(split.checkpoint, Architecture.FLUX1, None, text_encoders=split.text_encoders)


def test_embeddings_and_other_samplers_are_refused_by_name(files: dict[str, object], tmp_path: Path) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(Path(str(files["full"])), Architecture.FLUX1, None)
    embedding = EmbeddingUse(AssetRef("easynegative", path=str(files["full"])))
    with pytest.raises(ValueError, match=r"Flux\.1 takes no textual-inversion embeddings"):
        engine.render(_recipe(embeddings=(embedding,)))
    with pytest.raises(
        ValueError,
        match=r"flow-matching model with sampler 'Euler a'.*choose one of: DPM\+\+ 2M, Euler, Heun",
    ):
        engine.render(_recipe(sampler="Euler a"))
    shifted = _pixels(engine, _recipe(shift=6.0))
    assert not np.array_equal(shifted, _pixels(engine, _recipe()))  # the recipe's Shift reaches the scheduler


def test_a_missing_tokenizer_without_network_is_one_line(
    files: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    engine = RenderEngine(tmp_path / "cache", CPU)
    with pytest.raises(ValueError) as caught:
        engine.load(Path(str(files["full"])), Architecture.FLUX1, None)
    message = str(caught.value)
    assert "\n" not in message
    assert "black-forest-labs/FLUX.1-schnell/tokenizer_2 is not cached and could not be fetched" in message


def test_a_lora_reaches_the_transformer_without_reloading(files: dict[str, object], tmp_path: Path) -> None:
    """A PEFT-named Flux LoRA changes the render; weight 0 and switching it off give the bare image,
    and none of it reloads the model (the LoRA machinery is core.render.lora's, applied by the engine
    to the pipeline's transformer)."""
    import torch
    from safetensors.torch import save_file

    from core.render.recipe import LoraUse

    generator = torch.Generator().manual_seed(1)
    tensors = {}
    for layer in ("transformer_blocks.0.attn.to_q", "single_transformer_blocks.0.attn.to_v"):
        tensors[f"transformer.{layer}.lora_A.weight"] = torch.randn(4, 64, generator=generator)
        tensors[f"transformer.{layer}.lora_B.weight"] = torch.randn(64, 4, generator=generator)
    save_file(tensors, str(tmp_path / "flux-lora.safetensors"))
    lora = AssetRef("flux-lora", path=str(tmp_path / "flux-lora.safetensors"))
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(Path(str(files["full"])), Architecture.FLUX1, None)
    bare = _pixels(engine, _recipe())
    with_lora = _pixels(engine, _recipe(loras=(LoraUse(lora, 1.0),)))
    assert np.abs(bare - with_lora).max() > 20
    assert np.array_equal(bare, _pixels(engine, _recipe(loras=(LoraUse(lora, 0.0),))))
    assert np.array_equal(bare, _pixels(engine, _recipe()))
    assert engine.load_count == 1
