"""Recipes to JSON-safe dicts and back: exact round trips, a version, clear refusals."""

from __future__ import annotations

import json

import pytest

from core.render.recipe import MAX_SEED, AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler
from core.render.recipe_codec import RecipeCodecError, recipe_from_dict, recipe_to_dict

FULL = Recipe(
    checkpoint=AssetRef(
        "dreamshaper_8", path="/models/dreamshaper_8.safetensors", hash="879db523c3", asset_id=3
    ),
    vae=AssetRef("vae-ft-mse", path="/models/vae.safetensors", asset_id=4),
    loras=(
        LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2ff"), weight=0.6, text_encoder_weight=0.25),
        LoraUse(AssetRef("pixel", path="/l/pixel.safetensors"), weight=-1.5, enabled=False),
    ),
    embeddings=(EmbeddingUse(AssetRef("easynegative"), negative=True), EmbeddingUse(AssetRef("style"))),
    hypernetworks=(HypernetworkUse(AssetRef("anime_3"), strength=0.35),),
    prompt="a fox, (detailed:1.2), style",
    negative_prompt="easynegative, blurry\nsecond line",
    seed=MAX_SEED,
    steps=33,
    cfg=6.5,
    width=512,
    height=768,
    clip_skip=2,
    batch=3,
    sampler=Sampler.DPMPP_2M.value,
    schedule="Karras",
    extra={"Hires upscale": "2", "ADetailer model": "face_yolov8n.pt"},
)


@pytest.mark.parametrize("recipe", [FULL, Recipe()], ids=["everything", "defaults"])
def test_round_trip_through_json_text_is_exact(recipe: Recipe) -> None:
    data = recipe_to_dict(recipe)
    text = json.dumps(data)  # JSON-safe: no enums, tuples or mapping proxies left
    back = recipe_from_dict(json.loads(text))
    assert back == recipe
    assert dict(back.extra) == dict(recipe.extra)
    assert data["version"] == 2  # no hires fix: written as the version an Atelier before it reads
    assert data["sampler"] == recipe.sampler


def test_an_unknown_version_is_refused() -> None:
    data = recipe_to_dict(FULL)
    with pytest.raises(RecipeCodecError, match="version 99"):
        recipe_from_dict({**data, "version": 99})
    with pytest.raises(RecipeCodecError, match="version None"):
        recipe_from_dict({k: v for k, v in data.items() if k != "version"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": "20"}, "recipe.steps must be a whole number"),
        ({"steps": 0}, "steps must be between"),
        ({"cfg": True}, "recipe.cfg must be a number"),
        ({"sampler": 5}, "recipe.sampler must be text"),
        ({"loras": [{"weight": 1}]}, r"recipe.loras\[0\].ref must be an object"),
        ({"loras": "add_detail"}, "recipe.loras must be a list of objects"),
        ({"checkpoint": {"name": 5}}, "recipe.checkpoint.name must be text"),
        ({"extra": {"a": 1}}, "recipe.extra must map text to text"),
    ],
)
def test_bad_fields_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(RecipeCodecError, match=message):
        recipe_from_dict({**recipe_to_dict(Recipe()), **change})


def test_version_1_combined_sampler_migrates_to_sampler_and_schedule() -> None:
    old = {**recipe_to_dict(Recipe()), "version": 1, "sampler": "DPM++ 2M Karras"}
    del old["schedule"], old["source_infotext"]
    recipe = recipe_from_dict(old)
    assert (recipe.sampler, recipe.schedule) == ("DPM++ 2M", "Karras")


def test_unrunnable_sampler_and_source_text_survive_storage() -> None:
    recipe = Recipe(
        sampler="Restart", schedule="Karras", source_infotext="a\nSteps: 2, Sampler: Restart, Seed: 1"
    )
    back = recipe_from_dict(json.loads(json.dumps(recipe_to_dict(recipe))))
    assert (back.sampler, back.schedule, back.source_infotext) == (
        "Restart",
        "Karras",
        recipe.source_infotext,
    )


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(RecipeCodecError, match="must be an object"):
        recipe_from_dict([1, 2])  # type: ignore[arg-type]


FLUX = Recipe(
    checkpoint=AssetRef("flux1-dev-fp8", path="/models/unet/flux1-dev-fp8.safetensors", asset_id=9),
    vae=AssetRef("ae", path="/models/vae/ae.safetensors", asset_id=10),
    text_encoders=(
        AssetRef("clip_l", path="/models/text_encoders/clip_l.safetensors", asset_id=11),
        AssetRef("t5xxl_fp16", hash="6e480b09fa"),
    ),
    prompt="a lighthouse at dusk",
    steps=20,
    cfg=1.0,
    width=1024,
    height=1024,
    sampler="Euler",
    schedule="Simple",
    guidance=3.5,
    shift=1.15,
)


def test_flow_settings_round_trip_as_version_4() -> None:
    data = recipe_to_dict(FLUX)
    assert data["version"] == 4
    back = recipe_from_dict(json.loads(json.dumps(data)))
    assert back == FLUX
    assert back.text_encoders == FLUX.text_encoders
    assert (back.guidance, back.shift) == (3.5, 1.15)


@pytest.mark.parametrize(
    "change",
    [{"guidance": 3.5}, {"shift": 3.0}, {"text_encoders": (AssetRef("clip_l"),)}],
    ids=["guidance", "shift", "text encoder"],
)
def test_each_flow_setting_alone_needs_version_4(change: dict[str, object]) -> None:
    assert recipe_to_dict(Recipe(**change))["version"] == 4  # type: ignore[arg-type]


def test_a_recipe_without_flow_settings_stays_readable_by_older_ateliers() -> None:
    data = recipe_to_dict(Recipe())
    assert data["version"] == 2
    assert not {"text_encoders", "guidance", "shift"} & set(data)


def test_older_versions_read_without_flow_settings() -> None:
    for version in (1, 2, 3):
        old = {**recipe_to_dict(Recipe()), "version": version}
        recipe = recipe_from_dict(old)
        assert (recipe.text_encoders, recipe.guidance, recipe.shift) == ((), None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"guidance": "3.5"}, "recipe.guidance must be a number"),
        ({"shift": 0}, "Shift must be above 0"),
        ({"guidance": -1}, "Distilled CFG Scale must be between 0 and 100"),
        ({"text_encoders": [{"name": 1}]}, r"recipe.text_encoders\[0\].name must be text"),
        ({"text_encoders": "clip_l"}, "recipe.text_encoders must be a list of objects"),
    ],
)
def test_bad_flow_fields_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(RecipeCodecError, match=message):
        recipe_from_dict({**recipe_to_dict(FLUX), **change})
