"""Diffusers folders through ``python main.py`` as a user runs it: ``scan`` catalogs a tiny SD1 and a tiny
SDXL pipeline as what their ``model_index.json`` names (not "other"), ``search`` finds them, and
``render`` renders each, with a diffusers VAE folder as ``--vae``; a bare UNet folder of no known width
is refused in one line that says so in words."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.app.main_process import run_main
from tests.app.test_render_service import shared_tiny_sd1

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--prompt", "x", "--steps", "1", "--size", "64x64", "--seed", "3"]


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_main(*args, data_dir=data_dir, env={"HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A folder with the tiny pipelines, a VAE component folder and a bare UNet, scanned by the CLI."""
    from tests.factory.tiny_pipeline import tiny_sdxl_folder

    base = tmp_path_factory.mktemp("diffusers-cli")
    models = base / "models"
    sd1 = shared_tiny_sd1(tmp_path_factory)
    shutil.copytree(sd1, models / "tiny-sd1")
    shutil.copytree(sd1 / "vae", models / "tiny-vae")
    shutil.copytree(sd1 / "unet", models / "tiny-unet")
    tiny_sdxl_folder(models / "tiny-sdxl", base / "cache")
    data_dir = base / "data"
    scanned = run("scan", str(models), data_dir=data_dir)
    assert scanned.returncode == 0, scanned.stderr
    assert "4 files (4 new" in scanned.stdout
    return models, data_dir


def test_search_lists_each_folder_as_what_its_config_names(library: tuple[Path, Path]) -> None:
    _, data_dir = library

    result = run("search", "tiny", "--json", data_dir=data_dir)

    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    found = {row["file_name"]: (row["kind"], row["architecture"], row["format"]) for row in rows}
    assert found == {
        "tiny-sd1": ("checkpoint", "sd1", "diffusers"),
        "tiny-sdxl": ("checkpoint", "sdxl", "diffusers"),
        "tiny-vae": ("vae", "unknown", "diffusers"),
        "tiny-unet": ("checkpoint", "other", "diffusers"),
    }
    sd1 = next(row for row in rows if row["file_name"] == "tiny-sd1")
    assert "StableDiffusionPipeline => SD 1.x family" in " ".join(sd1["reasons"])


def test_render_a_tiny_sd1_pipeline(library: tuple[Path, Path], tmp_path: Path) -> None:
    _, data_dir = library
    out = tmp_path / "f.png"

    result = run("render", "--checkpoint", "tiny-sd1", *QUICK, "--out", str(out), data_dir=data_dir)

    assert result.returncode == 0, result.stderr
    assert f"Saved {out}" in result.stdout
    with Image.open(out) as image:
        assert image.size == (64, 64)
    assert "Traceback" not in result.stderr


def test_render_a_tiny_sdxl_pipeline_with_a_diffusers_vae_folder(
    library: tuple[Path, Path], tmp_path: Path
) -> None:
    _, data_dir = library
    out = tmp_path / "g.png"

    result = run(
        "render", "--checkpoint", "tiny-sdxl", "--vae", "tiny-vae", *QUICK, "--out", str(out), "--json",
        data_dir=data_dir,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["path"] == str(out)
    assert "VAE: tiny-vae" in document["infotext"]
    with Image.open(out) as image:
        assert image.size == (64, 64)


def test_a_checkpoint_of_no_known_family_is_refused_in_words(library: tuple[Path, Path]) -> None:
    _, data_dir = library

    result = run("render", "--checkpoint", "tiny-unet", *QUICK, data_dir=data_dir)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "atelier render: cannot render: 'tiny-unet' is a checkpoint of unknown architecture; "
        "Atelier renders SD 1.x, SD 2.x, SDXL, SD 3.5, Flux.1, Chroma, Z-Image and Qwen-Image checkpoints"
    )


def test_inspect_names_a_vae_component_folder(library: tuple[Path, Path]) -> None:
    models, data_dir = library

    result = run("inspect", str(models / "tiny-vae"), "--json", data_dir=data_dir)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    item = document[0] if isinstance(document, list) else document
    assert (item["kind"], item["format"]) == ("vae", "diffusers")
    assert "config.json: AutoencoderKL" in item["reasons"]
