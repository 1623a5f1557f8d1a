"""What a rendered image's parameters say is what was rendered: real renders of the tiny SD1 pipeline
(2 steps, 64 pixels) through ``main``. Settings Atelier does not apply (Seed resize from, NGMS, a
refiner, ADetailer, ControlNet...) are named in the plan and not written, ComfyUI's ``Hashes`` JSON
stays JSON and names the files used, an A1111 size off the 8-pixel grid renders as A1111 rounds it and
is written as rendered, and the grid's Prompt S/R axis replaces the prompt's first value in each
column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from core.render.infotext import parse_parameters
from tests.app.test_render_cli import SETTINGS, checkpoint_folder, data_dir, offline, run_cli

pytestmark = pytest.mark.slow
__all__ = ["checkpoint_folder", "data_dir", "offline"]  # the fixtures, shared with the CLI's tests

SOURCE = (
    "a cabin in the woods\nNegative prompt: blurry\n"
    "Steps: 2, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 60x90, Model: tiny-sd1, Model hash: 0123456789, "
    'Hashes: {"model": "0123456789", "lora:add_detail": "bbff947393"}, Variation seed: 99, '
    "Variation seed strength: 0.3, Seed resize from: 64x96, ENSD: 31337, NGMS: 0.5, Eta: 0.5, "
    "Sigma churn: 0.2, Token merging ratio: 0.3, Refiner: sd_xl_refiner_1.0, Refiner switch at: 0.8, "
    'ADetailer model: face_yolov8n.pt, ADetailer version: 24.1.0, ControlNet 0: "Module: canny, Weight: 1", '
    'Template: "a cabin, woods", Version: ComfyUI'
)
# What the source asks and the render does not do: named in the plan, absent from the new image.
UNAPPLIED = {
    "Seed resize from", "NGMS", "Eta", "Sigma churn", "Token merging ratio", "Refiner", "Refiner switch at",
    "ADetailer model", "ADetailer version", "ControlNet 0",
}  # fmt: skip


def test_a_replay_writes_only_what_it_used(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "replay.png"
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", SOURCE, "--out", str(out), "--json"
    )
    assert code == 0, stderr
    result: dict[str, Any] = json.loads(stdout)
    with Image.open(out) as image:
        assert image.size == (64, 88)  # A1111: 56x88 (60 // 8 * 8); Atelier renders 64 pixels at least
    _, _, params = parse_parameters(result["infotext"])
    assert params["Size"] == "64x88"  # the size rendered, not the 60x90 asked
    assert not UNAPPLIED & set(params)  # not applied: not claimed (no refiner, no ControlNet)
    assert params["Template"] == "a cabin, woods"  # bookkeeping that does not change the image stays
    assert (params["Variation seed"], params["ENSD"]) == ("99", "31337")  # applied on SD: kept
    assert json.loads(params["Hashes"]) == {"model": "aaaaaaaaaa"}  # the file used; no stale LoRA
    assert params["Model hash"] == "aaaaaaaaaa"
    warned = {w.split(":")[0] for w in result["warnings"] if "not applied" in w or "not a multiple of 8" in w}
    assert warned == {*UNAPPLIED, "Size"}
    assert "Negative prompt:" in result["infotext"]

    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", SOURCE.replace("blurry", ""),
        "--plan", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    warned = {w.split(":")[0] for w in json.loads(stdout)["warnings"] if "is not applied by Atelier" in w}
    assert warned == UNAPPLIED  # the plan says it before rendering


def test_a_tiny_size_is_raised_to_64_and_no_empty_negative_is_written(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tiny.png"
    text = "a cabin\nNegative prompt: \nSteps: 2, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 8x8, "
    text += "Model: tiny-sd1"
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", text, "--out", str(out), "--json"
    )
    assert code == 0, stderr
    result: dict[str, Any] = json.loads(stdout)
    with Image.open(out) as image:
        assert image.size == (64, 64)  # raised to the 64 minimum, as 60x90 is; not the 512 default
    assert any(w.startswith("Size: 8x8 is under 64 pixels; rendered at 64x64") for w in result["warnings"])
    assert result["infotext"].startswith("a cabin\nSteps: 2,")  # A1111 writes no empty negative line
    assert "Size: 64x64" in result["infotext"]


def test_a_prompt_search_and_replace_axis(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid.png"
    code, _, stderr = run_cli(
        capsys, "grid", "--data-dir", str(data_dir), "--checkpoint", "tiny-sd1", *SETTINGS, "--seed", "4",
        "--x", 'prompt-sr=red fox,"blue bird, flying"', "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    with Image.open(out) as image:
        _, _, params = parse_parameters(str(image.info["parameters"]))
        assert image.width >= 128
    assert (params["X Type"], params["X Values"]) == ("Prompt S/R", 'red fox, "blue bird, flying"')

    code, _, stderr = run_cli(
        capsys, "grid", "--data-dir", str(data_dir), "--checkpoint", "tiny-sd1", *SETTINGS,
        "--x", "prompt-sr=zebra,horse",
    )  # fmt: skip
    assert code == 2
    assert "Prompt S/R did not find 'zebra' in the prompt" in stderr
