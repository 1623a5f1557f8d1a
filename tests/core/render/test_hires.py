"""Hires fix as A1111 means it: reading its keys, the second pass's size, writing it back, upscaling.

No pipeline here: sizes follow A1111's ``StableDiffusionProcessingTxt2Img.init``, latents are upscaled
with the interpolate modes of A1111's ``shared.latent_upscale_modes``, images with Pillow's filters.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from core.render.hires import (
    HiresFix,
    SecondPass,
    hires_from_params,
    hires_refusal,
    second_pass,
    target_size,
    upscaler_refusal,
)
from core.render.infotext import format_infotext, recipe_from_infotext
from core.render.recipe import Recipe
from core.render.recipe_codec import recipe_from_dict, recipe_to_dict
from core.render.upscale import upscale_image, upscale_latents

MODERN = (
    "a castle\nNegative prompt: blurry\n"
    "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 5, Size: 512x768, "
    "Model hash: 6ce0161689, Model: v1-5, Denoising strength: 0.45, Clip skip: 2, Hires upscale: 1.5, "
    "Hires steps: 10, Hires upscaler: Latent (bicubic antialiased), Version: v1.10.1"
)
OLD = (
    "a castle\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 1024x768, "
    "Model hash: 6ce0161689, Denoising strength: 0.7, First pass size: 0x0"
)


@pytest.mark.parametrize(
    ("hires", "first", "expected"),
    [
        (HiresFix(scale=2.0), (512, 768), (1024, 1536, 1024, 1536)),
        (HiresFix(scale=1.5), (512, 512), (768, 768, 768, 768)),
        (HiresFix(scale=1.3), (512, 512), (664, 664, 664, 664)),  # int(665.6) -> 83 latent cells
        (HiresFix(resize=(1024, 0)), (512, 768), (1024, 1536, 1024, 1536)),
        (HiresFix(resize=(0, 1024)), (512, 768), (680, 1024, 680, 1024)),
        (HiresFix(resize=(1024, 1024)), (512, 768), (1024, 1536, 1024, 1024)),  # cover, then crop
        (HiresFix(resize=(1024, 512)), (512, 512), (1024, 1024, 1024, 512)),
    ],
)
def test_the_second_pass_size_is_a1111s(
    hires: HiresFix, first: tuple[int, int], expected: tuple[int, int, int, int]
) -> None:
    target = target_size(hires, *first)
    assert (target.upscale_width, target.upscale_height, target.width, target.height) == expected


def test_a_modern_text_reads_its_hires_keys_and_writes_them_back_byte_for_byte() -> None:
    parsed = recipe_from_infotext(MODERN)

    assert parsed.recipe.hires == HiresFix(
        "Latent (bicubic antialiased)", scale=1.5, steps=10, denoising=0.45
    )
    assert (parsed.recipe.width, parsed.recipe.height) == (512, 768)
    assert parsed.recipe.extra == {}
    assert format_infotext(parsed.recipe, version=None) == MODERN


def test_an_old_text_renders_two_passes_and_its_keys_stay_true() -> None:
    """Before A1111 1.0, Size was the final size and First pass size 0x0 meant about 512x512."""
    recipe = recipe_from_infotext(OLD).recipe

    assert (recipe.width, recipe.height) == (640, 448)  # ceil(1024 * 0.577 / 64) * 64, as A1111
    assert recipe.hires == HiresFix("Latent", resize=(1024, 768), denoising=0.7)
    assert format_infotext(recipe, version=None) == OLD  # A1111 reads the same two passes back
    no_hires = format_infotext(recipe.replace(hires=None), version=None)
    assert no_hires.endswith("Seed: 5, Size: 640x448, Model hash: 6ce0161689")


def test_a_changed_hires_is_written_truthfully_in_a1111s_keys_and_order() -> None:
    recipe = recipe_from_infotext(MODERN).recipe.replace(hires=HiresFix("Lanczos", resize=(1024, 0)))

    line = format_infotext(recipe, version=None).splitlines()[-1]

    assert line == (
        "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 5, Size: 512x768, "
        "Model hash: 6ce0161689, Model: v1-5, Denoising strength: 0.7, Clip skip: 2, "
        "Hires resize: 1024x0, Hires upscaler: Lanczos, Version: v1.10.1"
    )
    fresh = format_infotext(Recipe(hires=HiresFix(steps=4, denoising=0.5))).splitlines()[-1]
    assert (
        "Size: 512x512, Denoising strength: 0.5, Hires upscale: 2, Hires steps: 4, Hires upscaler: Latent"
        in (fresh)
    )


def test_hires_keys_without_denoising_strength_do_not_turn_hires_on() -> None:
    """A1111's txt2img paste turns hires fix on only with Denoising strength and a Hires key."""
    text = "x\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, Hires upscale: 2"
    recipe = recipe_from_infotext(text).recipe

    assert recipe.hires is None
    assert recipe.extra == {"Hires upscale": "2"}
    assert format_infotext(recipe, version=None) == text


def test_one_bad_hires_value_costs_only_itself() -> None:
    warnings: list[str] = []
    params = {
        "Denoising strength": "0.5",
        "Hires upscale": "lots",
        "Hires steps": "12",
        "Hires upscaler": "Nearest",
    }

    hires = hires_from_params(params, warnings)

    assert hires == HiresFix("Nearest", scale=2.0, steps=12, denoising=0.5)
    assert warnings == [
        "Hires upscale: 'lots' cannot be used (could not convert string to float: 'lots'); using the default"
    ]


def test_an_upscaler_model_is_kept_and_refused_by_name() -> None:
    hires = recipe_from_infotext(MODERN.replace("Latent (bicubic antialiased)", "4x-UltraSharp")).recipe.hires

    assert hires is not None
    assert hires.upscaler == "4x-UltraSharp"
    assert upscaler_refusal(hires) == (
        "hires upscaler '4x-UltraSharp' is a model Atelier cannot run; choose one of Latent, "
        "Latent (antialiased), Latent (bicubic), Latent (bicubic antialiased), Latent (nearest), "
        "Latent (nearest-exact), None, Lanczos, Nearest"
    )
    assert upscaler_refusal(HiresFix("Latent (nearest-exact)")) is None


def test_stored_recipes_keep_the_hires_fix() -> None:
    recipe = Recipe(hires=HiresFix("Latent (nearest)", resize=(1024, 0), steps=3, denoising=0.3))

    assert recipe_to_dict(recipe)["version"] == 3  # refused by an Atelier that would drop the second pass
    assert recipe_from_dict(recipe_to_dict(recipe)) == recipe
    old = recipe_to_dict(Recipe())
    del old["hires"]
    assert recipe_from_dict(old).hires is None


@pytest.mark.parametrize(
    ("name", "mode", "antialias"),
    [
        ("Latent", "bilinear", False),
        ("Latent (antialiased)", "bilinear", True),
        ("Latent (bicubic)", "bicubic", False),
        ("Latent (bicubic antialiased)", "bicubic", True),
        ("Latent (nearest)", "nearest", False),
        ("Latent (nearest-exact)", "nearest-exact", False),
    ],
)
def test_latent_upscalers_interpolate_as_a1111_does(name: str, mode: str, antialias: bool) -> None:
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    hires = HiresFix(name, scale=2.0)

    upscaled = upscale_latents(latents, hires, target_size(hires, 64, 64))

    expected = torch.nn.functional.interpolate(latents, size=(16, 16), mode=mode, antialias=antialias)
    assert torch.equal(upscaled, expected)


def test_a_resize_crops_the_upscaled_latents_in_the_middle() -> None:
    latents = torch.arange(64.0).reshape(1, 1, 8, 8)
    hires = HiresFix("Latent (nearest)", resize=(128, 96))  # 64x64 -> 128x128, crop 4 cells of height

    upscaled = upscale_latents(latents, hires, target_size(hires, 64, 64))

    full = torch.nn.functional.interpolate(latents, size=(16, 16), mode="nearest")
    assert torch.equal(upscaled, full[:, :, 2:14, :])


def test_image_upscalers_resize_with_pillow_and_crop() -> None:
    image = Image.new("RGB", (64, 64))
    image.putpixel((0, 0), (255, 0, 0))

    nearest = upscale_image(image, HiresFix("Nearest"), target_size(HiresFix("Nearest"), 64, 64))
    cropped = upscale_image(
        image, HiresFix("None", resize=(128, 64)), target_size(HiresFix(resize=(128, 64)), 64, 64)
    )

    assert nearest.size == (128, 128)
    assert nearest.getpixel((1, 1)) == (255, 0, 0)
    assert cropped.size == (128, 64)


def test_the_second_pass_keys_a1111_writes_apply_to_it_alone() -> None:
    text = MODERN.replace(
        "Version: v1.10.1",
        'Hires sampler: Euler, Hires prompt: "a castle, detailed", Hires CFG Scale: 4, Version: v1.10.1',
    )
    recipe = recipe_from_infotext(text).recipe

    assert second_pass(recipe.extra) == SecondPass(prompt="a castle, detailed", cfg=4.0, sampler="Euler")
    assert hires_refusal(recipe) is None
    assert format_infotext(recipe, version=None) == text  # kept verbatim: they are rendered


def test_a_hires_checkpoint_or_an_unrunnable_hires_sampler_is_refused_by_name() -> None:
    recipe = recipe_from_infotext(MODERN).recipe

    other = recipe.with_extra({"Hires checkpoint": "juggernaut_xl.safetensors [abc]"})
    assert hires_refusal(other) == (
        "Hires checkpoint 'juggernaut_xl.safetensors [abc]': Atelier renders both passes with the board's "
        "checkpoint"
    )
    assert hires_refusal(recipe.with_extra({"Hires checkpoint": "Use same checkpoint"})) is None
    restart = hires_refusal(recipe.with_extra({"Hires sampler": "Restart"}))
    assert restart is not None
    assert restart.startswith("Atelier cannot render with sampler 'Restart'")
