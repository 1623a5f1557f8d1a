"""What ``RenderService.prepare`` tells the user before anything renders (no torch is imported): each
refusal and warning names architectures in words ("an SD 1.x LoRA"), never as enum ids ("a other")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.render_service import RenderService
from catalog.library import Library
from core.render.recipe import AssetRef, LoraUse, Recipe
from core.taxonomy import Architecture
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
        "'odd' is a checkpoint of unknown architecture; "
        "Atelier renders SD 1.x, SD 2.x, SDXL, SD 3.5, Flux.1, Chroma, Z-Image and Qwen-Image checkpoints"
    )


def test_a_flux_pipeline_is_planned_with_the_flow_samplers(service: RenderService, tmp_path: Path) -> None:
    folder = write_pipeline(
        tmp_path / "flux", "FluxPipeline", transformer={"_class_name": "FluxTransformer2DModel"}
    )

    plan = service.prepare(Recipe(checkpoint=AssetRef("flux", path=str(folder)), prompt="x"))

    assert plan.architecture is Architecture.FLUX1
    assert plan.problem is not None
    assert "flow-matching model with sampler 'Euler a'" in plan.problem
    assert plan.problem.endswith("choose one of: DPM++ 2M, Euler, Heun")
    euler = service.prepare(
        Recipe(checkpoint=AssetRef("flux", path=str(folder)), prompt="x", sampler="Euler")
    )
    assert euler.ready


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


def test_an_sd_lora_of_another_sd_family_is_refused_in_words(service: RenderService, tmp_path: Path) -> None:
    """Its 2048-wide cross-attention cannot go on SD 1.x's 768: refused, never a warning to click past."""
    folder = write_pipeline(tmp_path / "sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 768})
    lora = write_safetensors(tmp_path / "xl-style.safetensors", SDXL_LORA)
    recipe = Recipe(
        checkpoint=AssetRef("sd", path=str(folder)),
        prompt="x",
        loras=(LoraUse(AssetRef("xl-style", path=str(lora)), 0.8),),
    )

    plan = service.prepare(recipe)

    assert plan.problem == (
        "LoRA 'xl-style' does not fit this checkpoint: it was made for SDXL, and this checkpoint is SD 1.x"
    )
    assert not plan.ready
    assert plan.warnings == ()  # said once, as the refusal


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


HIRES_TEXT = (
    "a castle <lora:detail:0.5:0.3> <lora:gone:1>\n"
    "Negative prompt: blurry\n"
    "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 5, Size: 512x768, "
    "Model hash: 6ce0161689, Model: v1-5, Denoising strength: 0.45, Clip skip: 2, Hires upscale: 1.5, "
    'Hires steps: 10, Hires upscaler: 4x-UltraSharp, Lora hashes: "gone: 7c6bd7b7a2ff", '
    "Batch size: 99, Version: v1.10.1"
)
SD1_LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
}


@pytest.fixture
def library_files(service: RenderService, tmp_path: Path) -> Path:
    """A checkpoint and a LoRA in the library, cataloged by name."""
    from core.taxonomy import Architecture, AssetKind, LibraryLayout
    from tests.app.test_render_service import catalog_file

    models = tmp_path / "models"
    folder = write_pipeline(models / "v1-5", "StableDiffusionPipeline", unet={"cross_attention_dim": 768})
    lora = write_safetensors(models / "detail.safetensors", SD1_LORA)
    root = service.library.add_root(models, LibraryLayout.FLAT)
    catalog_file(service.library, root.id, folder, AssetKind.CHECKPOINT, Architecture.SD1, inode=1)
    catalog_file(service.library, root.id, lora, AssetKind.LORA, Architecture.SD1, inode=2)
    return models


def test_the_plan_of_an_infotext_names_everything_it_would_render(
    service: RenderService, library_files: Path
) -> None:
    """One document: settings, hires, each network's UNet and TE weights, files, missing, refusals."""
    from app.render_plan_view import plan_document, plan_lines

    plan = service.with_hashes(service.plan_from_infotext(HIRES_TEXT))
    doc = plan_document(plan)

    assert (doc["sampler"], doc["schedule"], doc["steps"], doc["cfg"], doc["seed"]) == (
        "DPM++ 2M", "Karras", 20, 7.0, 5,
    )  # fmt: skip
    assert (doc["size"], doc["clip_skip"], doc["batch"]) == ("512x768", 2, 1)
    assert doc["hires"] == {
        "upscaler": "4x-UltraSharp",
        "upscale": 1.5,
        "resize": None,
        "steps": 10,
        "hires_steps": 10,
        "denoising_strength": 0.45,
        "size": "768x1152",
    }
    assert doc["model"]["path"] == str(library_files / "v1-5")
    assert doc["model"]["architecture"] == "sd1"
    assert doc["loras"][0] == {
        "name": "detail",
        "path": str(library_files / "detail.safetensors"),
        "hash": None,
        "unet_weight": 0.3,
        "text_encoder_weight": 0.5,
        "enabled": True,
    }
    assert [(m["name"], m["hash"]) for m in doc["missing"]] == [("gone", "7c6bd7b7a2ff")]
    assert doc["refusals"] == [
        "hires upscaler '4x-UltraSharp' is a model Atelier cannot run; choose one of Latent, "
        "Latent (antialiased), Latent (bicubic), Latent (bicubic antialiased), Latent (nearest), "
        "Latent (nearest-exact), None, Lanczos, Nearest"
    ]
    assert doc["warnings"][0].startswith("Batch size: '99' cannot be used")
    assert doc["ready"] is False
    lines = plan_lines(plan)
    assert "Hires fix: 4x-UltraSharp x1.5 -> 768x1152, 10 steps at denoising 0.45" in lines
    assert f"LoRA: detail ({library_files / 'detail.safetensors'}), UNet 0.3, TE 0.5" in lines
    # The text's "Model hash: 6ce0161689" matched no file; v1-5 (a folder, no A1111 hash) was found by
    # name, so no hash is shown for it: the text's hash belongs to another file.
    assert lines[0] == f"Model: v1-5 ({library_files / 'v1-5'}), an SD 1.x checkpoint"


def test_render_plan_prints_json_and_renders_nothing(
    service: RenderService, library_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    data_dir = service.library.renders_dir.parent
    runnable = HIRES_TEXT.replace("4x-UltraSharp", "Latent (nearest-exact)").replace(" <lora:gone:1>", "")
    code = main(["render", "--data-dir", str(data_dir), "--infotext", runnable, "--plan", "--json"])
    out = capsys.readouterr().out

    assert code == 0
    doc = json.loads(out)
    assert doc["ready"] is True
    assert doc["hires"]["upscaler"] == "Latent (nearest-exact)"
    assert not service.library.renders_dir.exists() or not any(service.library.renders_dir.iterdir())
    refused = main(["render", "--data-dir", str(data_dir), "--infotext", HIRES_TEXT, "--plan"])
    text = capsys.readouterr().out
    assert refused == 2  # what the render would exit with: the upscaler is refused by name
    assert "Refused: hires upscaler '4x-UltraSharp'" in text
    assert text.rstrip().endswith("Would not render.")


def test_render_plan_loads_no_torch(tmp_path: Path) -> None:
    """Measured as a user runs it: ``python -X importtime main.py render --plan`` names what it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", "--data-dir", str(tmp_path / "d"), "render",
         "--infotext", HIRES_TEXT, "--plan"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line
    }
    assert "app" in imported
    assert result.returncode == 2  # the upscaler is refused (and nothing is in this empty library)
    assert "Hires fix: 4x-UltraSharp x1.5 -> 768x1152" in result.stdout
    assert not imported & {"torch", "diffusers", "transformers"}
