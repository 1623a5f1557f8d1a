"""A file given in a slot of another kind exists: the plan says so ("wrong kind"), never "not found"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.render_plan_view import plan_lines
from app.render_service import RenderService
from catalog.library import Library
from catalog.scanner import Scanner
from core.render.recipe import AssetRef, Recipe
from tests.factory.diffusers_configs import write_pipeline
from tests.factory.safetensors_writer import write_safetensors

SDXL_LORA = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": ("F16", (4, 2048)),
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (640, 4)),
}


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as library:
        yield library


@pytest.fixture
def service(library: Library) -> RenderService:
    def no_engine() -> object:
        raise AssertionError("prepare must not start the renderer")

    return RenderService(library, no_engine, library.renders_dir)  # type: ignore[arg-type]


@pytest.mark.parametrize("by_path", [True, False])
def test_a_lora_in_the_vae_slot_is_a_wrong_kind_not_a_missing_file(
    service: RenderService, library: Library, tmp_path: Path, by_path: bool
) -> None:
    folder = write_pipeline(tmp_path / "sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 768})
    lora = write_safetensors(tmp_path / "lib" / "xl-style.safetensors", SDXL_LORA)
    if not by_path:
        library.add_root(tmp_path / "lib")
        Scanner(library, workers=1).scan()
    vae = AssetRef("xl-style", path=str(lora) if by_path else None)

    plan = service.prepare(Recipe(checkpoint=AssetRef("sd", path=str(folder)), prompt="x", vae=vae))

    lines = plan_lines(plan)
    assert not plan.ready
    shown = f"VAE: xl-style ({lora})" if by_path else "VAE: xl-style (wrong kind: see below)"
    assert shown in lines, lines
    assert not any("not found" in line for line in lines), lines
    assert any(line.startswith("Wrong slot: xl-style is a LoRA") for line in lines), lines
