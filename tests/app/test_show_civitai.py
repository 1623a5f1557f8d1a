"""Civitai facts of a local file through the CLI, as a user runs it: a LoRA with a ``.civitai.info`` beside
it is scanned, found by its Civitai model name, creator and version name, and ``show`` prints it all as
text (and as JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.main_process import run_main
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.models import kohya_lora, write_case

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, data_dir: Path) -> str:
    result = run_main(*args, data_dir=data_dir, env={"COLUMNS": "100"}, check=True)
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data dir, LoRA path): one real kohya LoRA with Civitai Helper's sidecar, scanned once."""
    base = tmp_path_factory.mktemp("civitai_cli")
    folder = base / "webui" / "models" / "Lora"
    folder.mkdir(parents=True)
    lora = write_case(kohya_lora("sd1", rank=2), folder).rename(folder / "add_detail.safetensors")
    write_civitai_helper_info(lora, civitai_helper_payload(version_name="Sharpened Edition"))
    data_dir = base / "data"
    run("scan", str(base / "webui"), data_dir=data_dir)
    return data_dir, lora


@pytest.mark.parametrize("words", ["Detail Tweaker", "OedoSoldier", "Sharpened Edition"])
def test_search_finds_the_file_by_its_civitai_facts(scanned: tuple[Path, Path], words: str) -> None:
    data_dir, lora = scanned

    found = json.loads(run("search", words, "--json", data_dir=data_dir))

    assert [item["path"] for item in found] == [str(lora)]
    listed = run("search", words, data_dir=data_dir)
    assert "add_detail.safetensors  (Detail Tweaker LoRA)" in listed, "the hit says why it matched"
    assert "1 of 1 shown" in listed


def test_show_prints_civitai_facts_as_text(scanned: tuple[Path, Path]) -> None:
    data_dir, lora = scanned

    text = run("show", str(lora), data_dir=data_dir)

    civitai = text[text.index("\nCivitai\n") :]
    for line in (
        "model:             Detail Tweaker LoRA",
        "version:           Sharpened Edition",
        "creator:           OedoSoldier",
        "base model:        SD 1.5",
        "page:              https://civitai.com/models/58390?modelVersionId=62833",
        "tags:              concept, detail, tool",
        "trigger words:     add_detail",
        "prompt: <lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow",
        "Steps 4 · Sampler LCM · CFG 1.5 · Seed 2494203713 · Size 768x1024",
    ):
        assert line in civitai, line
    assert "Detail tweaker LoRA: enhances or reduces detail while keeping the overall style" in civitai
    assert "• weight 0.5 to 1: more detail" in civitai
    assert "<p>" not in text
    assert "<strong>" not in text
    assert "&amp;" not in text
    assert "banner.jpeg" not in text
    assert max(len(line) for line in civitai.splitlines() if "https://image" not in line) <= 100


def test_show_json_carries_the_same_fields(scanned: tuple[Path, Path]) -> None:
    data_dir, lora = scanned

    shown = json.loads(run("show", str(lora), "--json", data_dir=data_dir))

    civitai = shown["civitai"]
    assert (civitai["model_name"], civitai["version_name"], civitai["creator"]) == (
        "Detail Tweaker LoRA",
        "Sharpened Edition",
        "OedoSoldier",
    )
    assert civitai["base_model"] == "SD 1.5"
    assert civitai["url"] == "https://civitai.com/models/58390?modelVersionId=62833"
    assert civitai["description"].startswith("Detail tweaker LoRA: enhances")
    assert "<strong>" in civitai["description_html"]
    assert civitai["tags"] == ["concept", "detail", "tool"]
    assert civitai["trigger_words"] == ["add_detail"]
    assert shown["trigger_words"] == [], "the user's own trigger words, apart from Civitai's"
    first = civitai["examples"][0]
    assert (first["prompt"], first["sampler"], first["steps"], first["seed"]) == (
        "<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow",
        "LCM",
        4,
        2494203713,
    )
    assert first["infotext"].startswith("<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow\nNegative prompt: ")
    assert "Steps: 4, Sampler: LCM, CFG scale: 1.5, Seed: 2494203713, Size: 768x1024" in first["infotext"]


def test_show_counts_example_images_in_words(tmp_path: Path) -> None:
    """One example without parameters reads "1 example image (without parameters)", not "1 images"."""
    folder = tmp_path / "models"
    folder.mkdir()
    lora = write_case(kohya_lora("sd1", rank=1, text=False), folder).rename(folder / "one_image.safetensors")
    payload = civitai_helper_payload()
    payload["images"] = [{**payload["images"][0], "meta": None}]
    write_civitai_helper_info(lora, payload)
    data_dir = tmp_path / "data"
    run("scan", "--no-hash", str(folder), data_dir=data_dir)

    text = run("show", str(lora), data_dir=data_dir)

    assert "examples:          1 example image (without parameters)" in text
    assert "images" not in text.replace("example images", "")
