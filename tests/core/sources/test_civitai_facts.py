"""Civitai facts from every shape that carries them, and an example's parameters as A1111 infotext."""

from __future__ import annotations

import json
from pathlib import Path

from core.render.infotext import recipe_from_infotext
from core.sources.civitai_facts import (
    example_infotext,
    facts_from_connected_info,
    facts_from_version,
    page_url,
)
from core.sources.civitai_records import parse_image, parse_model
from tests.factory.civitai_info import civitai_helper_payload

DATA = Path(__file__).resolve().parents[2] / "data" / "civitai"


def test_a_version_payload_with_its_model() -> None:
    version = json.loads((DATA / "RepoCivitaiVersionMetadata1.json").read_text("utf-8"))
    model = parse_model(json.loads((DATA / "RepoCivitaiModelMetadata1.json").read_text("utf-8")))
    sha256 = version["files"][0]["hashes"]["SHA256"].lower()

    facts = facts_from_version(version, model, sha256=sha256)

    assert facts is not None
    assert (facts.model_id, facts.version_id, facts.file_id) == (215485, 242807, version["files"][0]["id"])
    assert facts.model_name == "SDXL Turbo-LoRA-Stable Diffusion XL faster than light"
    assert (facts.version_name, facts.creator, facts.base_model) == ("v1-128dim", "test_author", "SDXL Turbo")
    assert facts.tags == ("tool", "turbo", "sdxl turbo")
    assert facts.description_html is not None
    assert facts.description_html.startswith("<p>v1: 128 dim</p>")
    assert len(facts.examples) == 7
    assert facts.page_url() == "https://civitai.com/models/215485?modelVersionId=242807"


def test_a_payload_without_ids_is_no_facts() -> None:
    assert facts_from_version({"name": "x"}) is None
    assert facts_from_connected_info({"ModelName": "upscaler"}) is None


def test_page_urls() -> None:
    assert page_url(1, None) == "https://civitai.com/models/1"
    assert page_url("1", "2", "https://civitai.red/") == "https://civitai.red/models/1?modelVersionId=2"
    assert page_url(None, 2) is None


def test_example_infotext_is_what_a1111_reads() -> None:
    facts = facts_from_version(civitai_helper_payload())
    assert facts is not None

    text = example_infotext(facts.examples[0])

    parsed = recipe_from_infotext(text)
    assert parsed.prompt == "<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow"
    assert (parsed.recipe.steps, parsed.recipe.cfg, parsed.recipe.seed, parsed.recipe.clip_skip) == (
        4,
        1.5,
        2494203713,
        2,
    )
    assert parsed.params["Sampler"] == "LCM", "the author's sampler is written as it was"
    assert '"sd_xl_turbo' not in text, "a key Civitai's parser mangled is left out"


def test_example_infotext_carries_lora_hashes_from_civitai_meta() -> None:
    image = parse_image(
        {
            "url": "https://image.civitai.com/x.png",
            "meta": {
                "prompt": "a castle, <lora:add_detail:0.8>",
                "negativePrompt": "blurry",
                "steps": 20,
                "sampler": "DPM++ 2M Karras",
                "cfgScale": 7,
                "seed": 42,
                "width": 512,
                "height": 768,
                "hashes": {"model": "6ce0161689", "lora:add_detail": "7c6bad76eb54"},
                "resources": [
                    {"name": "more, details", "type": "lora", "hash": "aa11bb22cc33", "weight": 0.5}
                ],
            },
        }
    )

    text = example_infotext(image)

    assert text.splitlines()[:2] == ["a castle, <lora:add_detail:0.8>", "Negative prompt: blurry"]
    parsed = recipe_from_infotext(text)
    assert (parsed.recipe.width, parsed.recipe.height, parsed.recipe.cfg) == (512, 768, 7.0)
    assert parsed.params["Model hash"] == "6ce0161689"
    assert parsed.params["Lora hashes"] == "add_detail: 7c6bad76eb54, more details: aa11bb22cc33"


def test_an_example_without_parameters_has_no_infotext() -> None:
    image = parse_image({"url": "https://image.civitai.com/x.png", "meta": None})

    assert not image.has_parameters
    assert example_infotext(image) == ""
