"""A1111 prompt tags and embedding tokens."""

from __future__ import annotations

from core.render.prompt_syntax import (
    find_embedding_tokens,
    find_embeddings,
    parse_prompt,
    render_prompt,
)
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe


def test_lora_tags_are_extracted_and_the_text_cleaned() -> None:
    parsed = parse_prompt("masterpiece, best quality, <lora:add_detail:0.8>, 1girl, <lora:epiNoiseoffset_v2>")
    assert parsed.text == "masterpiece, best quality, 1girl"
    assert parsed.loras == (LoraUse(AssetRef("add_detail"), 0.8), LoraUse(AssetRef("epiNoiseoffset_v2"), 1.0))
    assert parsed.warnings == ()


def test_two_weights_are_text_encoder_then_unet_as_in_a1111() -> None:
    (use,) = parse_prompt("<lora:style:0.8:0.5>").loras
    assert (use.text_encoder_weight, use.weight) == (0.8, 0.5)
    (named,) = parse_prompt("<lora:style:1:te=0.3:unet=0.6>").loras
    assert (named.text_encoder_weight, named.weight) == (0.3, 0.6)


def test_lyco_and_hypernet_tags() -> None:
    parsed = parse_prompt("a castle <lyco:my.loha-v1.5:0.7> <hypernet:anime:0.6> <hypernet:plain>")
    assert parsed.text == "a castle"
    assert parsed.loras == (LoraUse(AssetRef("my.loha-v1.5"), 0.7),)
    assert parsed.hypernetworks == (
        HypernetworkUse(AssetRef("anime"), 0.6),
        HypernetworkUse(AssetRef("plain"), 1.0),
    )


def test_name_is_the_first_field_and_bad_tags_warn() -> None:
    parsed = parse_prompt("x, <lora:name:abc>, <ipadapter:face:1>, <lora::1>")
    assert parsed.loras == (LoraUse(AssetRef("name"), 1.0),)
    assert parsed.text == "x"
    assert len(parsed.warnings) == 3
    assert "not a number" in parsed.warnings[0]
    assert "unknown extra network type 'ipadapter'" in parsed.warnings[1]


def test_multiline_prompt_keeps_its_lines() -> None:
    assert parse_prompt("line one, <lora:a:1>\nline two").text == "line one,\nline two"


def test_render_prompt_round_trips() -> None:
    recipe = Recipe(
        prompt="masterpiece, 1girl",
        loras=(
            LoraUse(AssetRef("add_detail"), 0.8),
            LoraUse(AssetRef("style"), 0.5, text_encoder_weight=0.25),
            LoraUse(AssetRef("off"), 1.0, enabled=False),
        ),
        hypernetworks=(HypernetworkUse(AssetRef("anime"), 0.6),),
    )
    text = render_prompt(recipe)
    assert text == "masterpiece, 1girl, <lora:add_detail:0.8>, <lora:style:0.25:0.5>, <hypernet:anime:0.6>"
    parsed = parse_prompt(text)
    assert parsed.text == recipe.prompt
    assert parsed.loras == recipe.loras[:2]
    assert parsed.hypernetworks == recipe.hypernetworks


def test_embedding_tokens_are_whole_and_case_sensitive() -> None:
    names = ["EasyNegative", "bad-hands-5", "bad_prompt_version2", "ng_deepnegative_v1_75t", "neg"]
    text = (
        "(EasyNegative:1.2), bad-hands-50, easynegative, bad_prompt_version2, negative, "
        "ng_deepnegative_v1_75t"
    )
    assert find_embedding_tokens(text, names) == (
        "EasyNegative",
        "bad_prompt_version2",
        "ng_deepnegative_v1_75t",
    )
    assert find_embedding_tokens("bad-hands-5, x", names) == ("bad-hands-5",)


def test_find_embeddings_marks_the_negative_side() -> None:
    uses = find_embeddings("style-x portrait", "EasyNegative, lowres", ["EasyNegative", "style-x"])
    assert uses == (EmbeddingUse(AssetRef("style-x")), EmbeddingUse(AssetRef("EasyNegative"), negative=True))
