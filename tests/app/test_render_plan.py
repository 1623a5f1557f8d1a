"""What ``RenderService.prepare`` tells the user before anything renders (no torch is imported): each
refusal and warning names architectures in words ("an SD 1.x LoRA"), never as enum ids ("a other")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.render_service import RenderService
from catalog.library import Library
from core.render.recipe import AssetRef, LoraUse, Recipe
from tests.factory.diffusers_configs import write_pipeline
from tests.factory.safetensors_writer import write_safetensors

SDXL_LORA = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": ("F16", (4, 2048)),
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (640, 4)),
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RenderService]:
    def no_engine() -> object:
        raise AssertionError("prepare must not start the renderer")

    with Library.open(tmp_path / "data" / "catalog.sqlite3") as library:
        yield RenderService(library, no_engine, library.renders_dir)  # type: ignore[arg-type]


def test_a_tiny_sd_pipeline_is_ready(service: RenderService, tmp_path: Path) -> None:
    folder = write_pipeline(tmp_path / "tiny-sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 32})

    plan = service.prepare(Recipe(checkpoint=AssetRef("tiny-sd", path=str(folder)), prompt="x"))

    assert plan.problem is None
    assert plan.warnings == ()


def test_a_checkpoint_of_no_known_family_is_refused_in_words(service: RenderService, tmp_path: Path) -> None:
    folder = write_pipeline(tmp_path / "odd", "SomeCommunityPipeline", unet={"cross_attention_dim": 32})

    plan = service.prepare(Recipe(checkpoint=AssetRef("odd", path=str(folder)), prompt="x"))

    assert plan.problem == (
        "'odd' is a checkpoint of unknown architecture; Atelier renders SD 1.x, SD 2.x and SDXL checkpoints"
    )


def test_a_flux_pipeline_is_named_as_such(service: RenderService, tmp_path: Path) -> None:
    folder = write_pipeline(
        tmp_path / "flux", "FluxPipeline", transformer={"_class_name": "FluxTransformer2DModel"}
    )

    plan = service.prepare(Recipe(checkpoint=AssetRef("flux", path=str(folder)), prompt="x"))

    assert plan.problem is not None
    assert plan.problem.startswith("'flux' is a FLUX.1 checkpoint;")


def test_an_inpainting_pipeline_is_refused_before_loading(service: RenderService, tmp_path: Path) -> None:
    folder = write_pipeline(
        tmp_path / "inpaint",
        "StableDiffusionInpaintPipeline",
        unet={"cross_attention_dim": 768, "in_channels": 9},
    )

    plan = service.prepare(Recipe(checkpoint=AssetRef("inpaint", path=str(folder)), prompt="x"))

    assert plan.problem == (
        "'inpaint' is an SD 1.x checkpoint made for inpainting; "
        "Atelier renders text-to-image with normal checkpoints"
    )


def test_a_lora_of_another_family_is_named_in_words(service: RenderService, tmp_path: Path) -> None:
    folder = write_pipeline(tmp_path / "sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 768})
    lora = write_safetensors(tmp_path / "xl-style.safetensors", SDXL_LORA)
    recipe = Recipe(
        checkpoint=AssetRef("sd", path=str(folder)),
        prompt="x",
        loras=(LoraUse(AssetRef("xl-style", path=str(lora)), 0.8),),
    )

    plan = service.prepare(recipe)

    assert plan.warnings == ("LoRA 'xl-style' is an SDXL LoRA; the checkpoint is an SD 1.x checkpoint",)


def test_a_lora_on_the_checkpoint_slot_is_refused_in_the_windows_words(
    service: RenderService, tmp_path: Path
) -> None:
    """The compose board shows ``plan.problem``: what the file is and which slot it belongs in."""
    lora = write_safetensors(tmp_path / "xl-style.safetensors", SDXL_LORA)

    plan = service.prepare(Recipe(checkpoint=AssetRef("xl-style", path=str(lora)), prompt="x"))

    assert not plan.ready
    assert plan.problem == (
        "xl-style is a LoRA; the checkpoint slot needs a checkpoint (put it in the LoRA slot)"
    )
    assert plan.architecture is None
