"""``render --plan`` refuses, by what the file is, a checkpoint the built-in renderer cannot load: a
bitsandbytes NF4/FP4 checkpoint (Forge's ``flux1-dev-bnb-nf4-v2``: its family renders, its packed
weights need bitsandbytes, which Atelier does not ship) and the families it does not render (Stable Video
Diffusion, Kolors, Hunyuan-DiT), whether given by path or scanned into the library and named. Before,
the NF4 file was refused as "a checkpoint of unknown architecture" and SVD as a renderable SD 2.x
pix2pix checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.factory import derived_checkpoints as derived
from tests.factory.keyspaces import keyspace
from tests.factory.models import ModelCase, flux_checkpoint, write_case

RENDERED = "Atelier renders SD 1.x, SD 2.x, SDXL, SD 3.5, Flux.1, Chroma, Z-Image and Qwen-Image checkpoints"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    write_case(derived.bnb_4bit(flux_checkpoint(bare=False)), folder)  # flux1-dev-bundled-64-bnb-nf4
    write_case(derived.bnb_4bit(flux_checkpoint(bare=False), fmt="fp4"), folder)
    write_case(derived.svd_checkpoint(), folder)
    write_case(derived.kolors_unet(), folder)
    write_case(ModelCase("hunyuan_dit_1.2", keyspace("hunyuan_dit-original")), folder)
    return folder


def _plan(data: Path, capsys: pytest.CaptureFixture[str], checkpoint: str) -> tuple[int, str]:
    code = main(["--data-dir", str(data), "render", "--plan", "--checkpoint", checkpoint, "--prompt", "x"])
    return code, capsys.readouterr().out.splitlines()[-1]


def _expected() -> dict[str, str]:
    packed = "is a bitsandbytes {} checkpoint: the built-in renderer cannot load it; use the fp8/fp16 file"
    return {
        "flux1-dev-bundled-64-bnb-nf4": packed.format("NF4"),
        "flux1-dev-bundled-64-bnb-fp4": packed.format("FP4"),
        "svd_xt": f"is a Stable Video Diffusion checkpoint; {RENDERED}",
        "kolors_unet_fp16": f"is a Kolors checkpoint; {RENDERED}",
        "hunyuan_dit_1.2": f"is a Hunyuan-DiT checkpoint; {RENDERED}",
    }


def test_given_by_path_each_is_refused_for_what_it_is(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for stem, why in _expected().items():
        code, last = _plan(tmp_path / "data", capsys, str(library / f"{stem}.safetensors"))
        assert last == f"Would not render: '{stem}' {why}", stem
        assert code == 1


def test_scanned_and_named_each_is_refused_for_what_it_is(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From the catalog: the refusal reads the precision the scan recorded."""
    data = tmp_path / "data"
    scan = ["scan", "--data-dir", str(data), "--layout", "flat", "--no-hash", "--no-lookup", str(library)]
    assert main(scan) == 0
    capsys.readouterr()
    for stem, why in _expected().items():
        code, last = _plan(data, capsys, stem)
        assert last.startswith("Would not render: "), last
        assert last.endswith(why), last
        assert code == 1
