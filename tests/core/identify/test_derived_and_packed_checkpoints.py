"""Families built on another's layout, and bitsandbytes 4-bit checkpoints, as ``main.py inspect`` and
``search --arch`` show them to a user.

A tester's files came out wrong: Forge's ``flux1-dev-bnb-nf4-v2`` was ``other`` ("txt_in in-features 1")
in bf16, Stable Video Diffusion was an SD 2.x pix2pix checkpoint (its 8 input channels and 1024-wide
context are SD 2-shaped), Kolors (an SDXL UNet behind a ChatGLM projection) was SDXL or ``other`` and
Hunyuan-DiT was ``other`` with an unrelated family as its "nearest match" at 25% of its names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from core.identify.vocabulary import CIVITAI_LABELS, architecture_of_base_model
from core.taxonomy import Architecture
from tests.factory import derived_checkpoints as derived
from tests.factory.keyspaces import keyspace
from tests.factory.models import ModelCase, flux_checkpoint, sd1_checkpoint, sdxl_checkpoint, write_case


def _inspect(paths: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["inspect", "--data-dir", str(tmp_path / "data"), "--json", *map(str, paths)]) == 0
    return {Path(item["path"]).stem: item for item in json.loads(capsys.readouterr().out)}


def _flux_nf4(tmp_path: Path, *, dev: bool = True, fmt: str = "nf4") -> Path:
    full = flux_checkpoint(bare=False)
    if not dev:
        full = ModelCase(full.name, derived.without(full.specs, "model.diffusion_model.guidance_in."))
    return write_case(derived.bnb_4bit(full, fmt=fmt), tmp_path)


@pytest.mark.parametrize(("fmt", "dev"), [("nf4", True), ("fp4", True), ("nf4", False)])
def test_a_bitsandbytes_flux_checkpoint_is_flux1_with_its_quantization(
    fmt: str, dev: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The packed linears' shapes come from their biases (``txt_in``: 3072 out, so 4096 in), from the
    header alone; the precision says the 4-bit format, not the bf16 of the few unpacked norms."""
    path = _flux_nf4(tmp_path, dev=dev, fmt=fmt)
    item = _inspect([path], tmp_path, capsys)[path.stem]
    assert (item["kind"], item["architecture"], item["precision"]) == ("checkpoint", "flux1", fmt)
    assert item["metadata"]["flux_variant"] == ("dev" if dev else "schnell")
    assert item["metadata"]["text_width"] == 4096
    assert "txt_in in-features 4096 (T5-XXL) => flux1" in item["reasons"]
    assert any(f"bitsandbytes {fmt.upper()}" in reason for reason in item["reasons"])


@pytest.mark.parametrize(
    ("make", "architecture"), [(sdxl_checkpoint, "sdxl"), (sd1_checkpoint, "sd1")], ids=["sdxl", "sd1"]
)
def test_a_bitsandbytes_sd_unet_keeps_its_family(
    make: Any, architecture: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SD's ``attn2.to_k`` has no bias: its out-features are the attention's width (``to_out.0``'s bias),
    so the context width is still read, and the family with it."""
    path = write_case(derived.bnb_4bit(make()), tmp_path)
    item = _inspect([path], tmp_path, capsys)[path.stem]
    assert (item["architecture"], item["precision"], item["variant"]) == (architecture, "nf4", "normal")
    context = {"sdxl": 2048, "sd1": 768}[architecture]
    assert f"attn2.to_k in-features {context} => {architecture}" in item["reasons"]


def test_stable_video_diffusion_is_its_own_video_family_not_sd2_pix2pix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_case(derived.svd_checkpoint(), tmp_path)
    item = _inspect([path], tmp_path, capsys)[path.stem]
    assert (item["kind"], item["architecture"], item["variant"]) == ("checkpoint", "svd", None)
    assert (
        "model.diffusion_model.input_blocks.1.1.time_stack.0.attn1.to_q.weight present => svd "
        "(Stable Video Diffusion)"
    ) in item["reasons"]
    assert "input_blocks.0.0.weight has 8 input channels (a video model: no image variant)" in item["reasons"]


@pytest.mark.parametrize("context", [2048, 4096])
def test_kolors_is_its_own_family_not_sdxl(
    context: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kolors' cross-attention is SDXL's 2048 wide; its ChatGLM projection names it (also in a file
    whose attention reads 4096, as the tester built it)."""
    case = derived.kolors_unet()
    specs = {
        name: (dtype, (shape[0], context))
        if ".attn2.to_k." in name or ".attn2.to_v." in name
        else (dtype, shape)
        for name, (dtype, shape) in case.specs.items()
    }
    path = write_case(ModelCase(f"kolors-{context}", specs), tmp_path)
    item = _inspect([path], tmp_path, capsys)[path.stem]
    assert (item["kind"], item["architecture"], item["variant"]) == ("checkpoint", "kolors", "normal")
    assert "encoder_hid_proj.weight present => kolors (Kolors)" in item["reasons"]


def test_hunyuan_dit_is_its_own_family(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_case(ModelCase("hunyuan_dit_1.2", keyspace("hunyuan_dit-original")), tmp_path)
    item = _inspect([path], tmp_path, capsys)[path.stem]
    assert (item["kind"], item["architecture"]) == ("checkpoint", "hunyuan_dit")
    assert item["metadata"]["model_size"] == "1.5B"
    assert item["metadata"]["text_width"] == 2048
    assert not any("nearest match" in reason for reason in item["reasons"])


@pytest.mark.parametrize(
    ("label", "architecture", "shown"),
    [
        ("SVD", Architecture.SVD, "SVD"),
        ("SVD XT", Architecture.SVD, "SVD XT"),
        ("Kolors", Architecture.KOLORS, "Kolors"),
        ("Hunyuan 1", Architecture.HUNYUAN_DIT, "Hunyuan-DiT"),
    ],
)
def test_their_civitai_labels_name_them(label: str, architecture: Architecture, shown: str) -> None:
    assert architecture_of_base_model(label) is architecture
    assert CIVITAI_LABELS[label] == shown


def test_search_by_architecture_finds_each_new_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``search --arch`` accepts the new ids and the scanned files are found under them."""
    library = tmp_path / "models"
    library.mkdir()
    write_case(derived.svd_checkpoint(), library)
    write_case(derived.kolors_unet(), library)
    write_case(ModelCase("hunyuan_dit_1.2", keyspace("hunyuan_dit-original")), library)
    data = str(tmp_path / "data")
    scan = ["scan", "--data-dir", data, "--layout", "flat", "--no-hash", "--no-lookup", str(library)]
    assert main(scan) == 0
    capsys.readouterr()
    for architecture, stem in (
        ("svd", "svd_xt"),
        ("kolors", "kolors_unet_fp16"),
        ("hunyuan_dit", "hunyuan_dit_1.2"),
    ):
        assert main(["search", "--data-dir", data, "--arch", architecture, "--json"]) == 0
        found = [Path(row["path"]).stem for row in json.loads(capsys.readouterr().out)]
        assert found == [stem], architecture
