"""Recipe validation, helpers and sampler names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler


@pytest.mark.parametrize(
    ("text", "schedule", "expected"),
    [
        ("Euler a", None, Sampler.EULER_A),
        ("euler A", None, Sampler.EULER_A),
        ("Euler", None, Sampler.EULER),
        ("DPM++ 2M Karras", None, Sampler.DPMPP_2M_KARRAS),
        ("dpm++ 2m karras", None, Sampler.DPMPP_2M_KARRAS),
        ("dpmpp_2m_karras", None, Sampler.DPMPP_2M_KARRAS),
        ("DPM++ 2M", "Karras", Sampler.DPMPP_2M_KARRAS),
        ("DPM++ 2M Karras", "Karras", Sampler.DPMPP_2M_KARRAS),
        ("DPM++ 2M", "Automatic", Sampler.DPMPP_2M),
        ("DPM++ SDE", "Karras", Sampler.DPMPP_SDE_KARRAS),
        ("DDIM", "Karras", Sampler.DDIM),  # no Karras DDIM: the sampler alone is the closest replay
        ("UniPC", None, Sampler.UNIPC),
        ("heun", None, Sampler.HEUN),
        ("LMS", None, Sampler.LMS),
    ],
)
def test_sampler_parse_is_lenient(text: str, schedule: str | None, expected: Sampler) -> None:
    assert Sampler.parse(text, schedule) is expected


def test_sampler_parse_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown sampler 'Restart'.*Euler a"):
        Sampler.parse("Restart")


def test_defaults_are_a1111s() -> None:
    recipe = Recipe()
    assert (recipe.steps, recipe.cfg, recipe.width, recipe.height, recipe.seed) == (20, 7.0, 512, 512, -1)
    assert recipe.sampler is Sampler.EULER_A


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "steps must be between 1 and 150"),
        ({"steps": 151}, "steps must be between 1 and 150"),
        ({"width": 513}, "width must be a multiple of 8"),
        ({"height": 32}, "height must be a multiple of 8"),
        ({"cfg": -1.0}, "CFG scale must not be negative"),
        ({"cfg": float("nan")}, "CFG scale must be a finite number"),
        ({"seed": -2}, "seed must be -1"),
        ({"clip_skip": 0}, "clip skip"),
        ({"batch": 0}, "batch"),
    ],
)
def test_invalid_settings_raise_clear_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Recipe(**changes)  # type: ignore[arg-type]


def test_recipe_is_hashable_frozen_and_normalises_collections() -> None:
    recipe = Recipe(loras=[LoraUse(AssetRef("a"))], extra={"Hires upscale": "2"})  # type: ignore[arg-type]
    assert recipe.loras == (LoraUse(AssetRef("a")),)
    assert recipe == Recipe(loras=(LoraUse(AssetRef("a")),), extra={"Hires upscale": "2"})
    assert hash(recipe) == hash(Recipe(loras=(LoraUse(AssetRef("a")),)))
    with pytest.raises(TypeError):
        recipe.extra["x"] = "y"  # type: ignore[index]


def test_sampler_given_as_text_is_parsed() -> None:
    assert Recipe(sampler="dpm++ 2m karras").sampler is Sampler.DPMPP_2M_KARRAS  # type: ignore[arg-type]


def test_asset_ref_normalises_and_validates() -> None:
    assert AssetRef(" add_detail ", hash=" 7C6BD7B7A2 ").hash == "7c6bd7b7a2"
    assert AssetRef("x", hash="7c6bd7b7a2").describe() == "'x' (hash 7c6bd7b7a2)"
    assert not AssetRef("x").resolved
    assert AssetRef("x", path="/m/x.safetensors", asset_id=3).resolved
    with pytest.raises(ValueError, match="not hexadecimal"):
        AssetRef("x", hash="xyz")
    with pytest.raises(ValueError, match="needs a name"):
        AssetRef("  ")


def test_uses_validate_weights() -> None:
    with pytest.raises(ValueError, match="LoRA 'a' weight"):
        LoraUse(AssetRef("a"), weight=float("inf"))
    with pytest.raises(ValueError, match="hypernetwork 'h' strength"):
        HypernetworkUse(AssetRef("h"), strength=float("nan"))
    assert LoraUse(AssetRef("a"), 0.8).effective_text_encoder_weight == 0.8
    assert LoraUse(AssetRef("a"), 0.8, text_encoder_weight=0.5).effective_text_encoder_weight == 0.5


def test_replace_style_helpers() -> None:
    recipe = Recipe(prompt="a cat")
    with_two = recipe.with_lora(LoraUse(AssetRef("a"), 0.5)).with_lora(LoraUse(AssetRef("b")))
    replaced = with_two.with_lora(LoraUse(AssetRef("a"), 0.9))
    assert [(u.ref.name, u.weight) for u in replaced.loras] == [("b", 1.0), ("a", 0.9)]
    assert replaced.without_lora("a").loras == (LoraUse(AssetRef("b")),)
    both = recipe.with_embedding(EmbeddingUse(AssetRef("E"))).with_embedding(
        EmbeddingUse(AssetRef("E"), True)
    )
    assert len(both.embeddings) == 2
    assert both.without_embedding("E").embeddings == ()
    hyper = recipe.with_hypernetwork(HypernetworkUse(AssetRef("h"), 0.5))
    assert hyper.without_hypernetwork("h").hypernetworks == ()
    assert recipe.with_extra({"k": "v"}).extra == {"k": "v"}
    assert recipe.replace(steps=30).steps == 30
    with pytest.raises(ValueError, match="steps"):
        recipe.replace(steps=500)
    full = Recipe(checkpoint=AssetRef("c"), vae=AssetRef("v")).with_lora(LoraUse(AssetRef("l")))
    assert [ref.name for ref in full.refs()] == ["c", "v", "l"]


def test_render_modules_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import core.render.recipe, core.render.infotext, core.render.prompt_syntax, core.render.resolve\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'peft') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
