"""The tiny full checkpoints the project's own factory writes (transformer in diffusers names under
``model.diffusion_model.``, text encoders and VAE beside it) are checkpoints of their family for
``main.py inspect``, and after ``main.py scan`` the renderer's plan accepts them by name: the denoiser wins
over the bundled text encoders, so none is refused as "a text encoder"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.factory import tiny_families

FAMILIES = {
    "tiny-flux1-dev-full": ("flux1", "a FLUX.1"),
    "tiny-sd35-full": ("sd3", "an SD 3"),
    "tiny-chroma-full": ("chroma", "a Chroma"),
    "tiny-z-image-full": ("z_image", "a Z-Image"),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    tiny_families.write_flux_full(folder / "tiny-flux1-dev-full.safetensors", tiny_families.flux_parts())
    tiny_families.write_full(folder / "tiny-sd35-full.safetensors", tiny_families.sd3_model())
    tiny_families.write_full(folder / "tiny-chroma-full.safetensors", tiny_families.chroma_model())
    tiny_families.write_full(folder / "tiny-z-image-full.safetensors", tiny_families.z_image_model())
    return folder


def test_inspect_names_each_factory_full_file_a_checkpoint_of_its_family(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(library / f"{name}.safetensors") for name in FAMILIES]
    assert main(["inspect", "--data-dir", str(tmp_path / "data"), "--json", *paths]) == 0
    found = {Path(item["path"]).stem: item for item in json.loads(capsys.readouterr().out)}
    for name, (architecture, _) in FAMILIES.items():
        item = found[name]
        assert (item["kind"], item["architecture"]) == ("checkpoint", architecture), item["reasons"]
        assert item["metadata"]["components"] == ["transformer", "vae", "text encoder"]


def test_scanned_full_files_are_accepted_by_the_render_plan(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], hub_up: str
) -> None:  # hub_up: their tokenizers can be fetched once
    data_dir = str(tmp_path / "data")
    assert (
        main(["scan", "--data-dir", data_dir, "--layout", "flat", "--no-hash", "--no-lookup", str(library)])
        == 0
    )
    capsys.readouterr()
    for name, (_, words) in FAMILIES.items():
        code = main(["render", "--data-dir", data_dir, "--checkpoint", name, "--prompt", "x", "--plan"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert f"Model: {name} ({library / name}.safetensors), {words} checkpoint" in out
        assert "text encoder" not in out.split("\n", 1)[0]
        assert "Ready to render." in out
