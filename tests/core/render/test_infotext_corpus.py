"""A corpus of infotexts as A1111 1.5-1.10, Forge, ComfyUI savers and Civitai write them.

Expected values follow A1111's documented reading (infotext_utils.parse_generation_parameters,
sd_samplers.get_sampler_and_scheduler, extra_networks.parse_prompt): what A1111 would paste is what
Atelier renders, and writing a parsed text back gives the same bytes unless Atelier renders something
else, which the text then says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.render.hires import HiresFix
from core.render.infotext import format_infotext, recipe_from_civitai_meta, recipe_from_infotext
from core.render.recipe import AssetRef, HypernetworkUse, LoraUse
from core.render.samplers import refusal

CORPUS = Path(__file__).resolve().parents[2] / "data" / "infotexts"


def _text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


ROUND_TRIPS = sorted(p.name for p in CORPUS.glob("*.txt") if p.name != "a1111_1.9_out_of_range.txt")


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_parse_then_write_gives_the_same_bytes(name: str) -> None:
    text = _text(name)
    expected = text.replace("\nNegative prompt: \n", "\n")  # A1111 writes no empty negative line: nor do we
    assert format_infotext(recipe_from_infotext(text).recipe, version=None) == expected


@pytest.mark.parametrize(
    ("name", "sampler", "schedule", "steps", "size", "seed"),
    [
        ("a1111_1.5_adetailer_hires.txt", "DPM++ 2M", "Karras", 28, (512, 768), 2837465912),
        ("a1111_1.10_lcm.txt", "LCM", "Karras", 6, (768, 512), 1145141919),
        ("a1111_1.10_restart.txt", "Restart", "Karras", 30, (832, 1216), 3456789012),
        ("forge_beta.txt", "Euler a", "Beta", 25, (1024, 1024), 99),
        ("a1111_2022_first_pass_size.txt", "Euler a", "Automatic", 20, (512, 512), 3000000000),
        ("a1111_1.8_edge_keys.txt", "DPM++ 3M SDE", "Exponential", 30, (832, 1216), 12),
        ("comfyui_image_saver.txt", "DPM++ 2M", "Karras", 20, (512, 512), 156680208700286),
        ("a1111_1.9_out_of_range.txt", "DPM++ SDE", "SGM Uniform", 20, (496, 696), 77),
    ],
)  # fmt: skip
def test_settings_are_read_as_a1111_reads_them(  # noqa: PLR0917 - one case per parameter row
    name: str, sampler: str, schedule: str, steps: int, size: tuple[int, int], seed: int
) -> None:
    recipe = recipe_from_infotext(_text(name)).recipe
    assert (recipe.sampler, recipe.schedule) == (sampler, schedule)
    assert (recipe.steps, (recipe.width, recipe.height), recipe.seed) == (steps, size, seed)


def test_extension_and_odd_keys_are_kept_verbatim_and_in_order() -> None:
    recipe = recipe_from_infotext(_text("a1111_1.8_edge_keys.txt")).recipe
    assert list(recipe.extra) == [
        "Hires upscaler", "Template", "Negative Template", "ControlNet 0", "Steps ",
    ]  # fmt: skip
    assert recipe.extra["Template"] == "portrait of a knight, {red|blue} cape"  # quoted, commas inside
    assert recipe.extra["Steps "] == "99"  # "Steps :" is not Steps for A1111 either
    assert recipe.extra["Hires upscaler"] == ""
    assert recipe.steps == 30
    adetailer = recipe_from_infotext(_text("a1111_1.5_adetailer_hires.txt")).recipe.extra
    assert adetailer["ADetailer dilate/erode"] == "4"
    hires = recipe_from_infotext(_text("a1111_1.5_adetailer_hires.txt")).recipe.hires
    assert hires is not None
    assert hires.upscaler == "R-ESRGAN 4x+ Anime6B"


def test_comma_tokens_stay_in_the_prompt() -> None:
    recipe = recipe_from_infotext(_text("a1111_1.5_adetailer_hires.txt")).recipe
    assert recipe.prompt == "masterpiece, best quality, 1girl, bedroom, , window light,"
    assert recipe.loras == (LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2"), 0.5),)


def test_an_unrunnable_sampler_is_kept_and_refused_by_name() -> None:
    text = _text("a1111_1.10_restart.txt")
    recipe = recipe_from_infotext(text).recipe
    message = refusal(recipe.sampler, recipe.schedule)
    assert message is not None
    assert message.startswith("Atelier cannot render with sampler 'Restart' yet")
    assert "Sampler: Restart, Schedule type: Karras," in format_infotext(recipe, version=None)


def test_one_bad_value_costs_only_that_value_and_the_text_then_says_what_renders() -> None:
    parsed = recipe_from_infotext(_text("a1111_1.9_out_of_range.txt"))
    assert (parsed.recipe.cfg, parsed.recipe.clip_skip) == (4.5, 2)
    assert [w.split(":")[0] for w in parsed.warnings] == ["Steps", "Size"]
    written = format_infotext(parsed.recipe, version=None)
    assert written.endswith(
        "Steps: 20, Sampler: DPM++ SDE, Schedule type: SGM Uniform, CFG scale: 4.5, Seed: 77, "
        "Size: 496x696, Clip skip: 2, Version: v1.9.4"  # the size rendered (A1111's own rounding)
    )


def test_bad_prompt_tags_follow_a1111() -> None:
    parsed = recipe_from_infotext(_text("a1111_1.10_bad_tags.txt"))
    assert parsed.recipe.loras == ()  # <lora:bad:0,8> fails A1111's float(): none of the prompt's LoRAs
    assert parsed.recipe.hypernetworks == (HypernetworkUse(AssetRef("anime"), 0.6),)
    assert any("'LORA'" in w for w in parsed.warnings)
    assert any("'0,8'" in w for w in parsed.warnings)


def test_a_changed_schedule_is_written_as_its_own_field() -> None:
    recipe = recipe_from_infotext(_text("comfyui_image_saver.txt")).recipe
    line = format_infotext(recipe.replace(schedule="Exponential"), version=None).splitlines()[-1]
    assert line.startswith("Steps: 20, Sampler: DPM++ 2M, Schedule type: Exponential, CFG scale: 8.0, ")


def test_a_render_records_only_what_differs() -> None:
    text = _text("forge_beta.txt")
    recipe = recipe_from_infotext(text).recipe.replace(seed=100)
    written = format_infotext(recipe, version="Atelier 1.0")
    assert written == text.replace("Seed: 99", "Seed: 100").replace(
        "Version: f2.0.1v1.10.1-previous-313-g8a042934", "Version: Atelier 1.0"
    )


def test_hypernetwork_is_written_once() -> None:
    """An old text names it by field only (A1111 adds the tag on paste); a changed one is a tag only."""
    recipe = recipe_from_infotext(_text("a1111_2022_hypernet_field.txt")).recipe
    assert recipe.hypernetworks == (HypernetworkUse(AssetRef("anime"), 0.6),)
    stronger = recipe.replace(hypernetworks=(HypernetworkUse(AssetRef("anime"), 0.8),))
    written = format_infotext(stronger, version=None)
    assert written.startswith("a cat, anime style <hypernet:anime:0.8>\n")
    assert "Hypernet" not in written.splitlines()[-1]


def test_lora_hashes_of_untagged_loras_are_kept() -> None:
    text = _text("a1111_1.5_adetailer_hires.txt")
    recipe = recipe_from_infotext(text).recipe.replace(seed=1)
    assert 'Lora hashes: "add_detail: 7c6bd7b7a2, detail_tweaker: 0a3b4c5d6e7f"' in format_infotext(recipe)


# Civitai's images API meta (shape of /api/v1/images items[].meta, as in the published examples)
CIVITAI_META: dict[str, Any] = {
    "Size": "512x768",
    "seed": 234871805,
    "Model": "Meina",
    "steps": 35,
    "prompt": "<lora:setsunaTokage_v10:0.6>, green hair, long hair, standing, (ribbed dress), zettai ryouiki",
    "sampler": "DPM++ SDE Karras",
    "cfgScale": 7,
    "Clip skip": "2",
    "Hires upscale": "2",
    "Hires upscaler": "4x-AnimeSharp",
    "negativePrompt": "(worst quality, low quality, extra digits:1.3), easynegative,",
    "Denoising strength": "0.4",
}


def test_civitai_meta_reads_like_the_infotext_it_came_from() -> None:
    recipe = recipe_from_civitai_meta(CIVITAI_META).recipe
    assert (recipe.sampler, recipe.schedule) == ("DPM++ SDE", "Karras")
    assert (recipe.steps, recipe.seed, recipe.cfg, recipe.clip_skip) == (35, 234871805, 7.0, 2)
    assert (recipe.width, recipe.height) == (512, 768)
    assert recipe.prompt.startswith(", green hair")  # the tag's comma stays, as in A1111
    assert recipe.negative_prompt.endswith("easynegative,")
    assert recipe.loras == (LoraUse(AssetRef("setsunaTokage_v10"), 0.6),)
    assert recipe.hires == HiresFix("4x-AnimeSharp", scale=2.0, denoising=0.4)


def test_old_hires_fix_renders_the_first_pass_size() -> None:
    """A1111 reads "First pass size" + Size as base + hires target; 0x0 means ~512x512 in Size's shape."""
    parsed = recipe_from_infotext(_text("a1111_2022_first_pass_size.txt"))
    assert (parsed.recipe.width, parsed.recipe.height) == (512, 512)
    assert parsed.params["Size"] == "1024x1024"  # the hires target, for the hires pass
    derived = recipe_from_infotext(
        "a fox\nSteps: 20, Sampler: Euler a, Seed: 1, Size: 1024x768, Denoising strength: 0.7, "
        "First pass size: 0x0"
    ).recipe
    assert (derived.width, derived.height) == (640, 448)  # ceil(sqrt(512*512/(1024*768)) * w / 64) * 64


def test_a_bare_sampler_from_before_1_9_keeps_its_uniform_schedule() -> None:
    """Before 1.9 "DPM++ 2M" sampled uniformly (Karras was "DPM++ 2M Karras"); 1.9+ Automatic is Karras."""
    old = recipe_from_infotext(_text("a1111_1.6_bare_dpmpp_2m.txt"))
    assert (old.recipe.sampler, old.recipe.schedule) == ("DPM++ 2M", "Uniform")
    assert "before 1.9" in old.warnings[0]
    new = recipe_from_infotext(_text("a1111_1.10_api_without_schedule.txt")).recipe
    assert (new.sampler, new.schedule) == ("DPM++ 2M", "Automatic")
