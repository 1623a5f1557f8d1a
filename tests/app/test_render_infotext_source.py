"""``render --infotext`` replays Forge/A1111 parameters from where users keep them: ``@FILE`` or the
path of an existing ``.txt`` file reads that file's text, an image path reads its parameters chunk, and
anything else is the infotext itself (one rule, said in ``--help``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from app.cli import main

FORGE = (
    "a red cat on a roof\n"
    "Negative prompt: blurry\n"
    "Steps: 12, Sampler: Euler, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5, Seed: 3, "
    "Size: 512x768, Model: flux1-dev, Version: f2.0.1"
)


def _replay(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> tuple[int, dict[str, object]]:
    code = main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--json", "--infotext", value])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("form", ["@{}", "{}"])
def test_a_text_file_is_read_by_at_or_by_its_txt_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    saved = tmp_path / "forge.txt"
    saved.write_text(FORGE, encoding="utf-8")

    code, document = _replay(tmp_path, capsys, form.format(saved))

    assert (document["prompt"], document["negative_prompt"]) == ("a red cat on a roof", "blurry")
    assert (document["steps"], document["seed"], document["size"]) == (12, 3, "512x768")
    assert document["distilled_cfg"] == 3.5
    assert code == 3  # flux1-dev is not in this library: missing, as for any replay


def test_a_png_is_read_from_its_parameters_chunk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", FORGE)
    image = tmp_path / "render.png"
    Image.new("RGB", (8, 8)).save(image, pnginfo=info)

    for value in (str(image), f"@{image}"):
        _, document = _replay(tmp_path, capsys, value)
        assert document["prompt"] == "a red cat on a roof"


def test_text_itself_still_replays_and_a_missing_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _replay(tmp_path, capsys, FORGE)
    assert document["steps"] == 12

    code = main(["--data-dir", str(tmp_path / "data"), "render", "--infotext", f"@{tmp_path / 'gone.txt'}"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"atelier render: cannot read the infotext file {tmp_path / 'gone.txt'}: No such file or directory"
    )


def test_help_says_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--infotext IMAGE|@FILE|TEXT" in text
    assert "a path to an existing .txt file" in text
