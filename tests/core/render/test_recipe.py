"""Recipe validation, helpers and sampler names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.render.recipe import (
    AssetRef,
    EmbeddingUse,
    HypernetworkUse,
    LoraUse,
    Recipe,
    Sampler,
    split_sampler,
)


@pytest.mark.parametrize(
    ("text", "schedule", "expected"),
    [
        ("Euler a", None, ("Euler a", "Automatic")),
        ("euler A", None, ("Euler a", "Automatic")),
        ("DPM++ 2M Karras", None, ("DPM++ 2M", "Karras")),  # A1111 before 1.9
        ("dpmpp_2m_karras", None, ("DPM++ 2M", "Karras")),
        ("DPM++ 2M", "Karras", ("DPM++ 2M", "Karras")),  # A1111 1.9+
        ("DPM++ 2M", "Automatic", ("DPM++ 2M", "Automatic")),
        ("DPM++ 2M SDE Heun Exponential", None, ("DPM++ 2M SDE Heun", "Exponential")),
        ("DPM2 a Karras", None, ("DPM2 a", "Karras")),
        ("Euler", "sgm_uniform", ("Euler", "SGM Uniform")),
        ("DDIM", "Karras", ("DDIM", "Karras")),  # kept as written: A1111 ignores it for DDIM
        ("Restart", "Automatic", ("Restart", "Automatic")),  # unrunnable: kept, refused at render
        ("My Sampler", "Odd", ("My Sampler", "Odd")),
        ("dpmpp_2m_sde_gpu", "karras", ("DPM++ 2M SDE", "Karras")),  # ComfyUI's names
        ("dpm_2_ancestral", "normal", ("DPM2 a", "Normal")),
    ],
)
def test_split_sampler_reads_a1111_names(text: str, schedule: str | None, expected: tuple[str, str]) -> None:
    assert split_sampler(text, schedule) == expected


def test_defaults_are_a1111s() -> None:
    recipe = Recipe()
    assert (recipe.steps, recipe.cfg, recipe.width, recipe.height, recipe.seed) == (20, 7.0, 512, 512, -1)
    assert (recipe.sampler, recipe.schedule) == (Sampler.EULER_A.value, "Automatic")


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
        ({"guidance": -0.5}, "Distilled CFG Scale must be between 0 and 100, not -0.5"),
        ({"guidance": float("inf")}, "Distilled CFG Scale must be a finite number"),
        ({"shift": 0.0}, "Shift must be above 0 and at most 100, not 0.0"),
        ({"shift": 101}, "Shift must be above 0 and at most 100"),
        ({"shift": float("nan")}, "Shift must be a finite number"),
    ],
)
def test_invalid_settings_raise_clear_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Recipe(**changes)  # type: ignore[arg-type]


def test_flow_settings_default_to_the_models_own_and_are_kept_as_floats() -> None:
    assert (Recipe().guidance, Recipe().shift) == (None, None)
    recipe = Recipe(guidance=3, shift=3)
    assert (recipe.guidance, recipe.shift) == (3.0, 3.0)
    assert isinstance(recipe.guidance, float)
    assert isinstance(recipe.shift, float)
    assert Recipe(guidance=0).guidance == 0.0  # 0 is a setting (no guidance embedding strength), not "unset"


def test_refs_name_the_separate_text_encoders_after_the_vae() -> None:
    recipe = Recipe(
        checkpoint=AssetRef("flux1-dev"),
        vae=AssetRef("ae"),
        text_encoders=(AssetRef("clip_l"), AssetRef("t5xxl_fp16")),
        loras=(LoraUse(AssetRef("detail")),),
    )
    assert [ref.name for ref in recipe.refs()] == ["flux1-dev", "ae", "clip_l", "t5xxl_fp16", "detail"]


def test_recipe_is_hashable_frozen_and_normalises_collections() -> None:
    recipe = Recipe(loras=[LoraUse(AssetRef("a"))], extra={"Hires upscale": "2"})  # type: ignore[arg-type]
    assert recipe.loras == (LoraUse(AssetRef("a")),)
    assert recipe == Recipe(loras=(LoraUse(AssetRef("a")),), extra={"Hires upscale": "2"})
    assert hash(recipe) == hash(Recipe(loras=(LoraUse(AssetRef("a")),)))
    with pytest.raises(TypeError):
        recipe.extra["x"] = "y"  # type: ignore[index]


def test_sampler_and_schedule_are_kept_as_text() -> None:
    recipe = Recipe(sampler=" Restart ", schedule="Karras")
    assert (recipe.sampler, recipe.schedule) == ("Restart", "Karras")
    assert Recipe().sampler == Sampler.EULER_A.value
    assert Recipe().schedule == "Automatic"
    with pytest.raises(ValueError, match="sampler must be named"):
        Recipe(sampler=" ")


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
