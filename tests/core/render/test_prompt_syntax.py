"""A1111 prompt tags and embedding tokens."""

from __future__ import annotations

import pytest

from core.render.prompt_syntax import (
    find_embedding_tokens,
    find_embeddings,
    parse_prompt,
    render_prompt,
)
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe


def test_lora_tags_are_extracted_and_the_text_cleaned() -> None:
    parsed = parse_prompt("masterpiece, best quality, <lora:add_detail:0.8>, 1girl, <lora:epiNoiseoffset_v2>")
    # A1111 replaces each tag by nothing: the commas stay, so the same seed gives the same image.
    assert parsed.text == "masterpiece, best quality, , 1girl, "
    assert parsed.loras == (LoraUse(AssetRef("add_detail"), 0.8), LoraUse(AssetRef("epiNoiseoffset_v2"), 1.0))
    assert parsed.warnings == ()


def test_two_weights_are_text_encoder_then_unet_as_in_a1111() -> None:
    (use,) = parse_prompt("<lora:style:0.8:0.5>").loras
    assert (use.text_encoder_weight, use.weight) == (0.8, 0.5)
    (named,) = parse_prompt("<lora:style:1:te=0.3:unet=0.6>").loras
    assert (named.text_encoder_weight, named.weight) == (0.3, 0.6)


def test_lyco_and_hypernet_tags() -> None:
    parsed = parse_prompt("a castle <lyco:my.loha-v1.5:0.7> <hypernet:anime:0.6> <hypernet:plain>")
    assert parsed.text == "a castle   "
    assert parsed.loras == (LoraUse(AssetRef("my.loha-v1.5"), 0.7),)
    assert parsed.hypernetworks == (
        HypernetworkUse(AssetRef("anime"), 0.6),
        HypernetworkUse(AssetRef("plain"), 1.0),
    )


def test_unknown_types_and_nameless_tags_are_skipped_with_a_warning() -> None:
    parsed = parse_prompt("x, <lora:good:0.5>, <ipadapter:face:1>, <lora::1>")
    assert parsed.loras == (LoraUse(AssetRef("good"), 0.5),)
    assert parsed.text == "x, , , "
    assert "unknown extra network type 'ipadapter'" in parsed.warnings[0]
    assert "names no network" in parsed.warnings[1]


@pytest.mark.parametrize("weight", ["abc", "0,8", "nan", "inf"])
def test_a_bad_weight_refuses_the_prompts_loras_with_the_reason(weight: str) -> None:
    """A1111's float() fails, activation of the prompt's LoRAs fails: none is applied (never 1.0)."""
    parsed = parse_prompt(f"x <lora:good:0.5> <lora:bad:{weight}> <hypernet:h:0.3>")
    assert parsed.loras == ()
    assert parsed.hypernetworks == (HypernetworkUse(AssetRef("h"), 0.3),)
    (warning,) = parsed.warnings
    assert f"<lora:bad:{weight}>" in warning
    assert "no LoRA of this prompt is applied" in warning


def test_tag_type_is_matched_exactly_as_a1111_does() -> None:
    parsed = parse_prompt("x <LORA:add_detail:1> <Lora:y:1>")
    assert parsed.loras == ()
    assert len(parsed.warnings) == 2
    assert "in lower case" in parsed.warnings[0]
    assert parsed.text == "x  "


def test_spaces_in_names_are_kept_and_around_them_find_nothing_as_in_a1111() -> None:
    parsed = parse_prompt("x <lora:my style v2:0.5> <lora: padded :1>")
    assert parsed.loras == (LoraUse(AssetRef("my style v2"), 0.5),)
    (warning,) = parsed.warnings
    assert "' padded '" in warning
    assert "not applied" in warning


def test_dyn_is_kept_and_reported_and_named_args_are_not_stripped() -> None:
    parsed = parse_prompt("<lora:a:0.7:dyn=16> <lora:b:1:te =0.2>")
    assert [u.weight for u in parsed.loras] == [0.7, 1.0]
    assert parsed.loras[1].text_encoder_weight is None  # "te " is not A1111's "te"
    assert "dyn=16" in parsed.warnings[0]
    assert "full rank" in parsed.warnings[0]


def test_multiline_prompt_keeps_its_lines() -> None:
    assert parse_prompt("line one, <lora:a:1>\nline two").text == "line one, \nline two"


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
    # Joined by spaces: A1111 removes the tags and encodes exactly "masterpiece, 1girl" (plus spaces).
    assert text == "masterpiece, 1girl <lora:add_detail:0.8> <lora:style:0.25:0.5> <hypernet:anime:0.6>"
    parsed = parse_prompt(text)
    assert parsed.text.rstrip() == recipe.prompt
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
