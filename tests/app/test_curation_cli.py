"""``tag``, ``collection``, ``rate``, ``set``, ``sidecars write`` and ``deleted`` through the CLI's entry
point (in this process), on real files in a real library folder; the sidecars written are read back by a
real rescan into a new library."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.app.in_process import run_in_process as run_main
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
    "lora_te_text_model_encoder_layers_0_self_attn_out_proj.lora_down.weight": ("F16", (4, 768)),
    "lora_te_text_model_encoder_layers_0_self_attn_out_proj.lora_up.weight": ("F16", (768, 4)),
}


def run(*args: str, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_main(*args, data_dir=data_dir, check=check)


def as_json(*args: str, data_dir: Path) -> Any:
    return json.loads(run(*args, "--json", data_dir=data_dir).stdout)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "Lora"
    write_safetensors(folder / "pixel art.safetensors", LORA, seed=1)
    write_safetensors(folder / "ink.safetensors", LORA, seed=2)
    write_safetensors(folder / "glow.safetensors", LORA, seed=3)
    return tmp_path / "models"


@pytest.fixture
def data(tmp_path: Path, models: Path) -> Path:
    data_dir = tmp_path / "data"
    run("scan", str(models), "--no-hash", data_dir=data_dir)
    return data_dir


def ids(data: Path) -> dict[str, int]:
    return {item["file_name"]: item["id"] for item in as_json("search", data_dir=data)}


def test_tag_rate_and_collection_on_ids_and_paths(data: Path, models: Path) -> None:
    found = ids(data)
    pixel, ink = found["pixel art.safetensors"], found["ink.safetensors"]
    tagged = as_json(
        "tag", str(pixel), str(models / "Lora/ink.safetensors"), "--add", "style", "Ink", data_dir=data
    )
    assert [item["tags"] for item in tagged] == [["style", "Ink"], ["style", "Ink"]]
    removed = as_json("tag", str(ink), "--remove", "ink", data_dir=data)
    assert removed[0]["tags"] == ["style"]
    rated = as_json("rate", str(pixel), str(ink), "4", "--favorite", data_dir=data)
    assert [(item["rating"], item["favorite"]) for item in rated] == [(4, True), (4, True)]
    run("collection", "Best ones", "--add", str(pixel), data_dir=data)
    members = as_json("collection", "Best ones", data_dir=data)
    assert [item["id"] for item in members] == [pixel]
    listing = as_json("collection", data_dir=data)
    assert listing == [{"name": "Best ones", "count": 1}]
    emptied = as_json("collection", "Best ones", "--remove", str(pixel), data_dir=data)
    assert emptied == []


def test_bad_values_are_one_line_usage_errors(data: Path) -> None:
    pixel = ids(data)["pixel art.safetensors"]
    result = run("set", str(pixel), "--kind", "lycoris", data_dir=data, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unknown kind 'lycoris'; valid kinds: checkpoint, lora," in lines[0]
    for args in (("rate", str(pixel), "9"), ("set", str(pixel), "--weight", "heavy"), ("set", str(pixel))):
        bad = run(*args, data_dir=data, check=False)
        assert bad.returncode == 2, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
        assert "Traceback" not in bad.stderr
    missing = run("tag", "999", "--add", "x", data_dir=data, check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "atelier tag: no asset with id 999 in the library (see `atelier search`)"


def test_set_override_shows_both_and_filters_by_the_effective_kind(data: Path) -> None:
    pixel = ids(data)["pixel art.safetensors"]
    (item,) = as_json(
        "set", str(pixel), "--kind", "embedding", "--arch", "sdxl", "--base-label", "Pony", data_dir=data
    )
    assert (item["kind"], item["identified_kind"], item["kind_override"]) == (
        "embedding",
        "lora",
        "embedding",
    )
    assert item["base_model_label"] == "Pony"
    line = run("set", str(pixel), "--nsfw", data_dir=data).stdout
    assert "embedding (you set; file says lora)" in line
    assert [hit["id"] for hit in as_json("search", "--kind", "embedding", data_dir=data)] == [pixel]
    assert pixel not in [hit["id"] for hit in as_json("search", "--kind", "lora", data_dir=data)]
    (reset,) = as_json("set", str(pixel), "--reset-overrides", data_dir=data)
    assert (reset["kind"], reset["kind_override"], reset["architecture_override"]) == ("lora", None, None)


def test_hidden_files_leave_the_search_until_shown_again(data: Path) -> None:
    glow = ids(data)["glow.safetensors"]
    run("set", str(glow), "--hidden", data_dir=data)
    assert "glow.safetensors" not in ids(data)
    only = as_json("search", "--hidden", "only", data_dir=data)
    assert [(hit["file_name"], hit["hidden"]) for hit in only] == [("glow.safetensors", True)]
    run("set", str(glow), "--no-hidden", data_dir=data)
    assert "glow.safetensors" in ids(data)


def test_sidecars_round_trip_through_a_rescan(data: Path, models: Path, tmp_path: Path) -> None:
    model = models / "Lora" / "pixel art.safetensors"
    existing = model.with_name("pixel art.json")
    existing.write_text(json.dumps({"negative text": "blurry", "my tool": {"keep": True}, "notes": "old"}))
    picture = tmp_path / "cover.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture)
    (item,) = as_json(
        "set", str(model),
        "--trigger-words", "pixel art, 16-bit",
        "--weight", "0.7",
        "--description", "Crisp pixels",
        "--notes", "works at 0.7",
        "--cover", str(picture),
        "--write-sidecars",
        data_dir=data,
    )  # fmt: skip
    assert item["sidecars"]["preview"] == "written"
    written = json.loads(existing.read_text(encoding="utf-8"))
    assert written == {
        "negative text": "blurry",
        "my tool": {"keep": True},
        "notes": "works at 0.7",
        "description": "Crisp pixels",
        "activation text": "pixel art, 16-bit",
        "preferred weight": 0.7,
        "sd version": "SD1",
    }
    preview = model.with_name("pixel art.preview.png")
    with Image.open(preview) as image:
        assert (image.format, image.size) == ("PNG", (64, 48))
    assert not list(model.parent.glob(".*.tmp"))  # written through a temporary file, none left

    # Another machine (a new, empty library) scans the folder and reads the same values back.
    other = tmp_path / "other-data"
    run("scan", str(models), "--no-hash", data_dir=other)
    (shown,) = as_json("search", "pixel", data_dir=other)
    assert shown["trigger_words"] == ["pixel art", "16-bit"]
    assert shown["preferred_weight"] == 0.7
    assert shown["description"] == "Crisp pixels"
    assert shown["notes"] == "works at 0.7"
    assert Path(shown["cover_path"]).name == "pixel art.preview.png"


def test_a_different_preview_is_kept_unless_forced(data: Path, models: Path, tmp_path: Path) -> None:
    model = models / "Lora" / "ink.safetensors"
    theirs = model.with_name("ink.preview.png")
    Image.new("RGB", (8, 8), (0, 0, 255)).save(theirs)
    before = theirs.read_bytes()
    picture = tmp_path / "mine.png"
    Image.new("RGB", (16, 16), (0, 255, 0)).save(picture)
    run("set", str(model), "--cover", str(picture), data_dir=data)
    kept = run("sidecars", "write", str(model), data_dir=data).stdout
    assert "kept the different preview ink.preview.png" in kept
    assert theirs.read_bytes() == before
    (report,) = as_json("sidecars", "write", str(model), "--force", data_dir=data)
    assert report["preview"] == "replaced"
    with Image.open(theirs) as image:
        assert image.size == (16, 16)


def test_a_sidecar_that_is_not_json_is_left_alone(data: Path, models: Path) -> None:
    model = models / "Lora" / "glow.safetensors"
    broken = model.with_name("glow.json")
    broken.write_text("{ not json")
    result = run("sidecars", "write", str(model), data_dir=data, check=False)
    assert result.returncode == 1
    assert "glow.json is not valid JSON" in result.stderr
    assert broken.read_text() == "{ not json"


def test_deleted_lists_nothing_yet(data: Path) -> None:
    assert as_json("deleted", data_dir=data) == []
    assert "No deleted files remembered." in run("deleted", data_dir=data).stdout


def test_an_unknown_collection_is_one_line_and_exit_1(data: Path) -> None:
    pixel = ids(data)["pixel art.safetensors"]
    run("collection", "Best ones", "--add", str(pixel), data_dir=data)
    assert "pixel art.safetensors" in run("collection", "best  ONES", data_dir=data).stdout
    for args in (("collection", "Nope"), ("collection", "Nope", "--json"), ("collection", "Nope", "--list")):
        result = run(*args, data_dir=data, check=False)
        assert result.returncode == 1, result
        message = "no collection named 'Nope' (see `atelier collection --list`)"
        # with --json the error is also a JSON object on stdout (as every command's, app/cli.py)
        expected = json.dumps({"error": message, "exit_code": 1}) + "\n" if "--json" in args else ""
        assert result.stdout == expected
        assert result.stderr.strip() == f"atelier collection: {message}"


def test_tag_set_needs_values_and_clear_is_said_out_loud(data: Path) -> None:
    pixel = ids(data)["pixel art.safetensors"]
    run("tag", str(pixel), "--add", "style", "ink", data_dir=data)
    bare = run("tag", str(pixel), "--set", data_dir=data, check=False)
    assert bare.returncode == 2
    assert "--set: expected at least one argument" in bare.stderr
    assert as_json("tag", str(pixel), data_dir=data)[0]["tags"] == ["style", "ink"]
    both = run("tag", str(pixel), "--set", "a", "--clear", data_dir=data, check=False)
    assert both.returncode == 2
    assert as_json("tag", str(pixel), "--set", "retro", data_dir=data)[0]["tags"] == ["retro"]
    assert as_json("tag", str(pixel), "--clear", data_dir=data)[0]["tags"] == []


def test_scan_and_roots_say_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "single" / "Lora"
    write_safetensors(folder / "only.safetensors", LORA, seed=4)
    data_dir = tmp_path / "single-data"
    scanned = run("scan", str(folder.parent), "--no-hash", data_dir=data_dir).stdout
    assert "Scanned 1 folder: 1 file (1 new," in scanned
    roots = run("roots", data_dir=data_dir).stdout
    assert " 1 file  " in roots
    assert "files" not in roots


def test_deleted_stops_listing_a_file_whose_bytes_are_back(data: Path, models: Path, tmp_path: Path) -> None:
    trash = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    run_main("hash", data_dir=data, env=trash, check=True)
    model = models / "Lora" / "ink.safetensors"
    kept = model.read_bytes()
    run_main("delete", str(model), "--yes", data_dir=data, env=trash, check=True)
    (remembered,) = as_json("deleted", data_dir=data)
    assert remembered["file_name"] == "ink.safetensors"
    # The same bytes come back under another name (a convert, a copy from a backup): no longer "deleted".
    model.with_name("ink again.safetensors").write_bytes(kept)
    run_main("scan", "--no-lookup", data_dir=data, env=trash, check=True)
    assert as_json("deleted", data_dir=data) == []
    assert "No deleted files remembered." in run("deleted", data_dir=data).stdout
    # Gone again (deleted with another tool, the catalog marks it missing): the memory counts again.
    model.with_name("ink again.safetensors").unlink()
    run_main("scan", "--no-lookup", data_dir=data, env=trash, check=True)
    assert [item["file_name"] for item in as_json("deleted", data_dir=data)] == ["ink.safetensors"]
