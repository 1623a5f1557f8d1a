"""Infotext of the flow-matching families, as Forge and ComfyUI users have it, both ways.

Forge writes Flux dev's guidance as ``Distilled CFG Scale``, Forge Neo the flow shift as ``Shift``, and
the VAE and text-encoder files of a diffusion-model-only checkpoint as ``Module 1``, ``Module 2``...;
ComfyUI savers write ``Guidance``. The texts are in tests/data/infotexts (their shapes are described in
its README).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.render.infotext import format_infotext, module_role, recipe_from_infotext
from core.render.recipe import AssetRef, LoraUse, Recipe
from core.render.samplers import refusal

CORPUS = Path(__file__).resolve().parents[2] / "data" / "infotexts"


def _text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def _line(text: str) -> str:
    return text.splitlines()[-1]


def test_forge_flux_dev_text_reads_guidance_modules_and_lora() -> None:
    parsed = recipe_from_infotext(_text("forge_flux_dev_modules.txt"))
    recipe = parsed.recipe
    assert (recipe.sampler, recipe.schedule, recipe.steps, recipe.cfg) == ("Euler", "Simple", 20, 1.0)
    assert (recipe.width, recipe.height, recipe.seed) == (896, 1152, 1234567890)
    assert recipe.guidance == 3.5
    assert recipe.shift is None
    assert recipe.checkpoint == AssetRef("flux1-dev-fp8", hash="275ef623d3")
    assert recipe.vae == AssetRef("ae")
    assert recipe.text_encoders == (AssetRef("clip_l"), AssetRef("t5xxl_fp16"))
    assert recipe.loras == (LoraUse(AssetRef("flux_realism_lora", hash="5b2a4a9e7d1c"), 0.8),)
    assert dict(recipe.extra) == {"Diffusion in Low Bits": "Automatic (fp16 LoRA)"}
    assert [ref.name for ref in parsed.unresolved] == [
        "flux1-dev-fp8", "ae", "clip_l", "t5xxl_fp16", "flux_realism_lora",
    ]  # fmt: skip
    assert parsed.warnings == ()
    assert refusal(recipe.sampler, recipe.schedule, flow=True) is None


def test_a_full_schnell_checkpoint_has_no_guidance_and_no_modules() -> None:
    recipe = recipe_from_infotext(_text("forge_flux_schnell_full.txt")).recipe
    assert (recipe.steps, recipe.guidance, recipe.text_encoders, recipe.vae) == (4, None, (), None)


def test_forge_neo_shift_and_encoder_only_modules() -> None:
    recipe = recipe_from_infotext(_text("forge_neo_sd35_shift.txt")).recipe
    assert recipe.shift == 3.0
    assert recipe.guidance is None
    assert recipe.vae is None  # three text encoders, the checkpoint's own VAE
    assert [ref.name for ref in recipe.text_encoders] == ["clip_g", "clip_l", "t5xxl_fp8_e4m3fn"]
    assert (recipe.cfg, recipe.negative_prompt) == (4.5, "blurry, lowres")


def test_comfyui_saver_flux_reads_joined_sampler_and_guidance() -> None:
    recipe = recipe_from_infotext(_text("comfyui_saver_flux.txt")).recipe
    assert (recipe.sampler, recipe.schedule) == ("Euler", "Simple")
    assert (recipe.cfg, recipe.guidance) == (1.0, 3.5)
    assert "Guidance" not in recipe.extra


def test_a_changed_guidance_is_written_in_place_and_the_rest_keeps_its_bytes() -> None:
    text = _text("forge_flux_dev_modules.txt")
    recipe = recipe_from_infotext(text).recipe.replace(guidance=2.5)
    assert format_infotext(recipe, version=None) == text.replace(
        "Distilled CFG Scale: 3.5", "Distilled CFG Scale: 2.5"
    )


def test_a_comfyui_guidance_changed_is_written_as_forges_key() -> None:
    text = _text("comfyui_saver_flux.txt")
    recipe = recipe_from_infotext(text).recipe
    assert _line(format_infotext(recipe.replace(seed=9), version=None)) == _line(text).replace(
        "Seed: 8", "Seed: 9"
    )
    line = _line(format_infotext(recipe.replace(guidance=2.0), version=None))
    assert line.startswith(
        "Steps: 20, Sampler: euler_simple, CFG scale: 1.0, Distilled CFG Scale: 2, Seed: 8, "
    )
    assert "Guidance" not in line


def test_changed_modules_are_all_written_anew_after_version() -> None:
    text = _text("forge_flux_dev_modules.txt")
    recipe = recipe_from_infotext(text).recipe
    swapped = recipe.replace(text_encoders=(AssetRef("clip_l"), AssetRef("t5xxl_fp8_e4m3fn")))
    line = _line(format_infotext(swapped, version=None))
    assert line.endswith(
        "Version: f2.0.1v1.10.1-previous-313-g8a042934, Diffusion in Low Bits: Automatic (fp16 LoRA), "
        "Module 1: ae, Module 2: clip_l, Module 3: t5xxl_fp8_e4m3fn"
    )
    assert recipe_from_infotext(format_infotext(swapped)).recipe.text_encoders == swapped.text_encoders
    no_vae = recipe.replace(vae=None)
    line = _line(format_infotext(no_vae, version=None))
    assert line.endswith("Module 1: clip_l, Module 2: t5xxl_fp16")
    assert "ae" not in line.split(", ")


def test_a_changed_shift_is_written_and_a_cleared_one_removed() -> None:
    text = _text("forge_neo_sd35_shift.txt")
    recipe = recipe_from_infotext(text).recipe
    assert format_infotext(recipe.replace(shift=6.0), version=None) == text.replace("Shift: 3", "Shift: 6")
    assert "Shift" not in _line(format_infotext(recipe.replace(shift=None), version=None))


def test_a_fresh_flux_recipe_is_written_as_forge_writes_it() -> None:
    recipe = Recipe(
        checkpoint=AssetRef("flux1-dev-fp8"),
        vae=AssetRef("ae"),
        text_encoders=(AssetRef("clip_l"), AssetRef("t5xxl_fp16")),
        prompt="a lighthouse",
        seed=1,
        steps=20,
        cfg=1.0,
        width=1024,
        height=1024,
        sampler="Euler",
        schedule="Simple",
        guidance=3.5,
        shift=3.0,
    )
    text = format_infotext(recipe, model_hash="275ef623d3", version="Atelier")
    assert text == (
        "a lighthouse\n"
        "Steps: 20, Sampler: Euler, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5, Shift: 3, "
        "Seed: 1, Size: 1024x1024, Model hash: 275ef623d3, Model: flux1-dev-fp8, Version: Atelier, "
        "Module 1: ae, Module 2: clip_l, Module 3: t5xxl_fp16"
    )
    back = recipe_from_infotext(text).recipe
    assert (back.guidance, back.shift, back.vae, back.text_encoders) == (
        3.5,
        3.0,
        AssetRef("ae"),
        recipe.text_encoders,
    )


def test_an_sd_recipe_still_names_its_vae_as_a1111_does() -> None:
    line = _line(format_infotext(Recipe(vae=AssetRef("sdxl_vae")), version=None))
    assert "VAE: sdxl_vae" in line
    assert "Module" not in line
    assert "Distilled CFG Scale" not in line


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("ae", "vae"),
        ("flux_ae", "vae"),
        ("ae.sft", "vae"),
        ("sdxl_vae", "vae"),
        ("qwen_image_vae", "vae"),
        ("FLUX-VAE-bf16", "vae"),
        ("clip_l", "text_encoder"),
        ("t5xxl_fp16", "text_encoder"),
        ("qwen_2.5_vl_7b_fp8_scaled", "text_encoder"),
        ("qwen_3_4b", "text_encoder"),
        ("aesthetic_clip", "text_encoder"),
    ],
)
def test_module_role_tells_a_vae_from_a_text_encoder_by_name(name: str, role: str) -> None:
    assert module_role(name) == role


def test_bad_flow_values_cost_only_themselves() -> None:
    parsed = recipe_from_infotext("a cat\nSteps: 20, Distilled CFG Scale: -2, Shift: abc, Seed: 3")
    assert (parsed.recipe.guidance, parsed.recipe.shift, parsed.recipe.seed) == (None, None, 3)
    assert any(w.startswith("Distilled CFG Scale: '-2' cannot be used") for w in parsed.warnings)
    assert any(w.startswith("Shift: 'abc' is not a number") for w in parsed.warnings)


def test_a_second_vae_module_is_reported() -> None:
    parsed = recipe_from_infotext(
        "a cat\nSteps: 20, Seed: 3, Size: 512x512, Module 1: ae, Module 2: sdxl_vae"
    )
    assert parsed.recipe.vae == AssetRef("ae")
    assert parsed.warnings == ("Module 'sdxl_vae' is a second VAE ('ae' is used); it is ignored",)


def test_a_comfyui_bare_sampler_means_comfyuis_normal_scheduler() -> None:
    text = (
        "a fox\nSteps: 20, Sampler: euler, CFG scale: 1.0, Guidance: 3.5, Seed: 8, Size: 1024x1024, "
        "Version: ComfyUI"
    )
    parsed = recipe_from_infotext(text)
    assert (parsed.recipe.sampler, parsed.recipe.schedule) == ("Euler", "Normal")
    assert parsed.warnings == ()
    assert format_infotext(parsed.recipe, version=None) == text  # "Normal" is what the text already says
    joined = recipe_from_infotext(text.replace("Sampler: euler,", "Sampler: dpmpp_2m_beta,")).recipe
    assert (joined.sampler, joined.schedule) == ("DPM++ 2M", "Beta")
