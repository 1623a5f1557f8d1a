"""A1111 infotext and Civitai meta, read and written (samples as A1111 and Civitai write them)."""

from __future__ import annotations

from typing import Any

from core.render.hires import HiresFix
from core.render.infotext import (
    format_infotext,
    parse_hash_list,
    parse_parameters,
    quote,
    recipe_from_civitai_meta,
    recipe_from_infotext,
)
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler

CLASSIC = (
    "masterpiece, best quality, <lora:add_detail:0.8>\n"
    "Negative prompt: EasyNegative, worst quality\n"
    "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
    "Model hash: 7c819b6d13, Model: majicmixRealistic_v7, VAE hash: 735e4c3a44, "
    "VAE: vae-ft-mse-840000-ema-pruned.safetensors, Clip skip: 2, "
    'Lora hashes: "add_detail: 7c6bd7b7a2", TI hashes: "EasyNegative: c74b4e810b29", Version: v1.6.0'
)

NEWER = (
    "score_9, score_8_up, 1girl, solo, looking at viewer,\n"
    "city street, night, <lora:detailed_eyes_xl:0.6:0.4>, <lora:xl_more_art-full_v1:0.5>\n"
    "Negative prompt: score_4, score_5, lowres,\n"
    "bad anatomy\n"
    "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5.5, Seed: 3456789012, "
    "Size: 832x1216, Model hash: 67ab2fd8ec, Model: ponyDiffusionV6XL_v6StartWithThisOne, "
    "Denoising strength: 0.4, Clip skip: 2, Hires upscale: 1.5, Hires steps: 10, "
    "Hires upscaler: 4x-UltraSharp, "
    'Lora hashes: "detailed_eyes_xl: 8d9ac0e5d0a1, xl_more_art-full_v1: fe3b4816be83", '
    "Version: v1.10.1"
)

HYPERNET = (
    "1girl, anime style, <hypernet:anime:0.6>\n"
    "Negative prompt: lowres, bad anatomy, bad hands\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model hash: 925997e9, "
    "Model: animefull-final-pruned, Hypernet: anime, Hypernet hash: 5a4c3d2e, Hypernet strength: 0.6, "
    "Clip skip: 2, ENSD: 31337"
)


def test_classic_a1111_infotext() -> None:
    parsed = recipe_from_infotext(CLASSIC)
    recipe = parsed.recipe
    assert parsed.warnings == ()
    assert parsed.prompt == "masterpiece, best quality, <lora:add_detail:0.8>"
    assert recipe.prompt == "masterpiece, best quality, "  # A1111 removes the tag only
    assert recipe.negative_prompt == "EasyNegative, worst quality"
    assert (recipe.steps, recipe.cfg, recipe.seed, recipe.width, recipe.height) == (
        25,
        7.0,
        1234567890,
        512,
        768,
    )
    assert (recipe.sampler, recipe.schedule) == ("DPM++ 2M", "Karras")
    assert recipe.clip_skip == 2
    assert recipe.checkpoint == AssetRef("majicmixRealistic_v7", hash="7c819b6d13")
    assert recipe.vae == AssetRef("vae-ft-mse-840000-ema-pruned.safetensors", hash="735e4c3a44")
    assert recipe.loras == (LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2"), 0.8),)
    assert recipe.embeddings == (EmbeddingUse(AssetRef("EasyNegative", hash="c74b4e810b29"), negative=True),)
    assert recipe.extra == {}
    assert parsed.params["Version"] == "v1.6.0"
    assert len(parsed.unresolved) == 4


def test_newer_infotext_with_schedule_type_and_multiline_texts() -> None:
    parsed = recipe_from_infotext(NEWER)
    recipe = parsed.recipe
    assert (recipe.sampler, recipe.schedule) == ("DPM++ 2M", "Karras")
    assert recipe.prompt == "score_9, score_8_up, 1girl, solo, looking at viewer,\ncity street, night, , "
    assert recipe.negative_prompt == "score_4, score_5, lowres,\nbad anatomy"
    assert (recipe.width, recipe.height, recipe.cfg) == (832, 1216, 5.5)
    assert recipe.loras == (
        LoraUse(AssetRef("detailed_eyes_xl", hash="8d9ac0e5d0a1"), 0.4, text_encoder_weight=0.6),
        LoraUse(AssetRef("xl_more_art-full_v1", hash="fe3b4816be83"), 0.5),
    )
    assert recipe.extra == {}
    assert recipe.hires == HiresFix("4x-UltraSharp", scale=1.5, steps=10, denoising=0.4)


def test_hypernet_infotext_merges_the_tag_and_the_keys() -> None:
    parsed = recipe_from_infotext(HYPERNET)
    recipe = parsed.recipe
    assert recipe.hypernetworks == (HypernetworkUse(AssetRef("anime", hash="5a4c3d2e"), 0.6),)
    assert "A1111 would apply it twice" in parsed.warnings[0]
    assert recipe.checkpoint == AssetRef("animefull-final-pruned", hash="925997e9")
    assert recipe.extra == {"ENSD": "31337"}


def test_old_hypernet_keys_without_a_tag() -> None:
    text = "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Hypernet: furry, Hypernet strength: 0.5"
    assert recipe_from_infotext(text).recipe.hypernetworks == (HypernetworkUse(AssetRef("furry"), 0.5),)


def test_known_embeddings_are_found_in_the_texts() -> None:
    text = (
        "bad-artist portrait\nNegative prompt: (EasyNegative:1.3), bad-hands-5\n"
        "Steps: 20, Seed: 1, Size: 512x512"
    )
    recipe = recipe_from_infotext(text, known_embeddings=["EasyNegative", "bad-hands-5", "bad-artist"]).recipe
    assert recipe.embeddings == (
        EmbeddingUse(AssetRef("bad-artist")),
        EmbeddingUse(AssetRef("EasyNegative"), negative=True),
        EmbeddingUse(AssetRef("bad-hands-5"), negative=True),
    )


def test_prompt_only_text_and_short_last_lines() -> None:
    prompt, negative, params = parse_parameters("just a prompt\nwith: two lines")
    assert (prompt, negative, params) == ("just a prompt\nwith: two lines", "", {})
    parsed = recipe_from_infotext("a dog")
    assert parsed.recipe == Recipe(prompt="a dog")


def test_bad_values_cost_only_themselves() -> None:
    text = "a dog\nSteps: many, Sampler: Restart, CFG scale: 7, Seed: 5, Size: big"
    parsed = recipe_from_infotext(text)
    assert parsed.recipe.steps == 20
    assert parsed.recipe.sampler == "Restart"  # kept by name, refused at render, never Euler a
    assert parsed.recipe.seed == 5
    assert len(parsed.warnings) == 2
    assert parsed.warnings[0].startswith("Steps:")
    assert parsed.warnings[1].startswith("Size:")


def test_one_out_of_range_value_keeps_every_other_number() -> None:
    parsed = recipe_from_infotext("a dog\nSteps: 200, CFG scale: 4.5, Seed: 77, Size: 500x700, Clip skip: 2")
    recipe = parsed.recipe
    # Steps: the default; Size: as A1111 renders it, each side rounded down to a multiple of 8
    assert (recipe.steps, recipe.width, recipe.height) == (20, 496, 696)
    assert (recipe.cfg, recipe.seed, recipe.clip_skip) == (4.5, 77, 2)
    assert [w.split(":")[0] for w in parsed.warnings] == ["Steps", "Size"]
    assert "steps must be between" in parsed.warnings[0]


def test_quoting_follows_a1111() -> None:
    assert quote("plain") == "plain"
    assert quote("a, b") == '"a, b"'
    assert quote('say "x": y') == '"say \\"x\\": y"'
    assert parse_hash_list("a: 1, b: 2, broken") == {"a": "1", "b": "2"}
    _, _, params = parse_parameters('p\nSteps: 1, Note: "say \\"x\\", y", Seed: 2, Size: 8x8')
    assert params["Note"] == 'say "x", y'


def test_format_writes_a1111_layout() -> None:
    recipe = recipe_from_infotext(CLASSIC).recipe
    assert format_infotext(recipe, version="v1.6.0") == CLASSIC


def test_format_parse_round_trip() -> None:
    recipe = Recipe(
        checkpoint=AssetRef("sd_xl_base_1.0", hash="31e35c80fc"),
        vae=AssetRef("sdxl_vae.safetensors", hash="235745af8d"),
        loras=(
            LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2"), 0.8),
            LoraUse(AssetRef("style", hash="aabbccddeeff"), 0.5, text_encoder_weight=0.25),
        ),
        embeddings=(EmbeddingUse(AssetRef("EasyNegative", hash="c74b4e810b29"), negative=True),),
        hypernetworks=(HypernetworkUse(AssetRef("anime", hash="5a4c3d2e"), 0.6),),
        prompt="a castle, dramatic light\nwide shot",
        negative_prompt="EasyNegative, blurry",
        seed=987654321,
        steps=28,
        cfg=6.5,
        width=1024,
        height=768,
        clip_skip=2,
        batch=2,
        sampler=Sampler.DPMPP_SDE.value,
        schedule="Karras",
        extra={"Hires upscale": "2", "ADetailer model": "face_yolov8n.pt", "Note": "a, b: c"},
    )
    text = format_infotext(recipe)
    assert "Version: Atelier" in text
    assert 'Note: "a, b: c"' in text
    assert "Sampler: DPM++ SDE, Schedule type: Karras," in text
    assert "Hypernet" not in text.splitlines()[-1]  # once, as a prompt tag: A1111 would add a field's tag
    back = recipe_from_infotext(text).recipe
    # A1111 writes no hypernetwork hash (its tag is the only record), so the hash is not read back.
    unhashed = recipe.replace(hypernetworks=(HypernetworkUse(AssetRef("anime"), 0.6),))
    assert back.replace(prompt=back.prompt.rstrip()) == unhashed


def test_format_takes_explicit_hashes() -> None:
    recipe = Recipe(
        checkpoint=AssetRef("model"),
        loras=(LoraUse(AssetRef("my:lora,x")),),
        hypernetworks=(HypernetworkUse(AssetRef("h")),),
    )
    text = format_infotext(
        recipe,
        model_hash="0123456789",
        vae_name="vae.pt",
        vae_hash="abcdef0123",
        lora_hashes={"my:lora,x": "111111111111"},
        ti_hashes={"Neg": "222222222222"},
    )
    line = text.splitlines()[-1]
    assert "Model hash: 0123456789, Model: model, VAE hash: abcdef0123, VAE: vae.pt" in line
    assert 'Lora hashes: "mylorax: 111111111111", TI hashes: "Neg: 222222222222"' in line
    assert "Hypernet" not in line
    assert text.startswith("<lora:my:lora,x:1> <hypernet:h:1>")
    assert "Negative prompt" not in text


CIVITAI_META: dict[str, Any] = {
    "Size": "512x768",
    "seed": 1234567890,
    "Model": "majicmixRealistic_v7",
    "steps": 25,
    "hashes": {
        "vae": "735e4c3a44",
        "model": "7c819b6d13",
        "lora:add_detail": "7c6bd7b7a2",
        "embed:EasyNegative": "c74b4e810b29",
    },
    "prompt": "masterpiece, best quality, <lora:add_detail:0.8>",
    "Version": "v1.6.0",
    "sampler": "DPM++ 2M Karras",
    "VAE": "vae-ft-mse-840000-ema-pruned.safetensors",
    "cfgScale": 7,
    "clipSkip": 2,
    "resources": [
        {"hash": "7c6bd7b7a2", "name": "add_detail", "type": "lora", "weight": 0.8},
        {"hash": "7c819b6d13", "name": "majicmixRealistic_v7", "type": "model"},
        {"name": "detail_slider", "type": "lora", "weight": 1.5},
    ],
    "Model hash": "7c819b6d13",
    "negativePrompt": "EasyNegative, worst quality",
    "civitaiResources": [{"type": "checkpoint", "modelVersionId": 176425}],
}


def test_civitai_meta() -> None:
    parsed = recipe_from_civitai_meta(CIVITAI_META)
    recipe = parsed.recipe
    classic = recipe_from_infotext(CLASSIC).recipe
    assert recipe.replace(loras=recipe.loras[:1], prompt=classic.prompt) == classic
    assert recipe.prompt.rstrip() == classic.prompt.rstrip()
    assert recipe.loras[1] == LoraUse(AssetRef("detail_slider"), 1.5)
    assert "version 176425" in parsed.warnings[0]


def test_civitai_meta_minimal_and_schedule() -> None:
    meta = {
        "prompt": "a cat",
        "sampler": "Euler a",
        "cfgScale": 4.5,
        "steps": 12,
        "width": 768,
        "height": 512,
    }
    recipe = recipe_from_civitai_meta(meta).recipe
    assert recipe == Recipe(prompt="a cat", cfg=4.5, steps=12, width=768, height=512)
    scheduled = recipe_from_civitai_meta({"sampler": "DPM++ 2M", "scheduler": "karras"}).recipe
    assert (scheduled.sampler, scheduled.schedule) == ("DPM++ 2M", "Karras")


def test_a_model_hash_is_written_only_for_the_file_rendered_with() -> None:
    text = (
        "a cat\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, "
        "Model hash: abcdef1234, Model: tiny"
    )
    recipe = recipe_from_infotext(text).recipe
    assert recipe.checkpoint is not None
    assert format_infotext(recipe, version=None) == text  # nothing rendered: the same bytes

    # Rendered with a file found by name whose hash is not known (a folder, or not hashed yet): the
    # text's hash named another file and is not written.
    unknown = recipe.replace(checkpoint=AssetRef("tiny", hash=None, asset_id=3))
    assert "Model hash" not in format_infotext(unknown, version=None)
    assert ", Model: tiny" in format_infotext(unknown, version=None)

    # Rendered with a file whose hash differs: that hash is written.
    other = recipe.replace(checkpoint=AssetRef("tiny", hash="0123456789", asset_id=3))
    assert "Model hash: 0123456789, Model: tiny" in format_infotext(other, version=None)
