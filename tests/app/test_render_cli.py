"""The ``render`` and ``grid`` commands, through the CLI's entry point, on a tiny real checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.cli import main
from catalog.library import Library
from catalog.records import RenderKind
from core.render.png import read_infotext
from core.taxonomy import Architecture, AssetKind, LibraryLayout
from tests.app.main_process import run_main
from tests.app.test_render_service import CHECKPOINT_HASHES, catalog_file, shared_tiny_sd1
from tests.fakes.civitai_api import CivitaiState, fake_civitai

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# One step: what these commands write, store and replay does not depend on the step count.
SETTINGS = ["--prompt", "a red fox", "--steps", "1", "--size", "64x64", "--cfg", "5"]


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def checkpoint_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_sd1(tmp_path_factory)


@pytest.fixture
def data_dir(tmp_path: Path, checkpoint_folder: Path) -> Path:
    folder = tmp_path / "data"
    with Library.open(folder / "catalog.sqlite3") as library:
        root = library.add_root(checkpoint_folder.parent, LibraryLayout.FLAT)
        asset_id = catalog_file(
            library, root.id, checkpoint_folder, AssetKind.CHECKPOINT, Architecture.SD1, inode=1
        )
        library.set_hashes(asset_id, CHECKPOINT_HASHES)
    return folder


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_writes_out_stores_it_and_replays(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shots" / "fox.png"
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--checkpoint", "tiny-sd1", *SETTINGS,
        "--seed", "9", "--sampler", "euler", "--out", str(out), "--json",
    )  # fmt: skip

    assert code == 0, stderr
    result: dict[str, Any] = json.loads(stdout)
    assert result["path"] == str(out)
    assert result["seed"] == 9
    assert result["device"] == "CPU, fp32"
    assert result["elapsed"] > 0
    assert isinstance(result["warnings"], list)
    assert read_infotext(out) == result["infotext"]
    assert "Sampler: Euler," in result["infotext"]
    assert "Model hash: aaaaaaaaaa" in result["infotext"]
    stored = Path(result["library_path"])
    assert stored.parent == data_dir / "renders"
    assert stored.read_bytes() == out.read_bytes()
    with Library.open(data_dir / "catalog.sqlite3") as library:
        (render,) = library.renders()
    assert render.path == str(stored)

    again = tmp_path / "again.png"
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", str(out), "--out", str(again), "--json"
    )
    assert code == 0, stderr
    replay = json.loads(stdout)
    assert replay["seed"] == 9
    assert replay["infotext"] == result["infotext"]
    with Image.open(again) as image:
        assert image.size == (64, 64)


def test_grid_writes_one_labelled_image(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid.png"
    code, stdout, stderr = run_cli(
        capsys, "grid", "--data-dir", str(data_dir), "--checkpoint", "tiny-sd1", *SETTINGS,
        "--x", "seed=1,2", "--out", str(out),
    )  # fmt: skip

    assert code == 0, stderr
    assert f"Saved {out}" in stdout
    with Image.open(out) as image:
        assert image.width >= 128
    with Library.open(data_dir / "catalog.sqlite3") as library:
        (render,) = library.renders()
    assert render.kind is RenderKind.GRID
    assert render.grid_axes is not None
    assert render.grid_axes["x"]["values"] == [1, 2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "64by64"], "WIDTHxHEIGHT"),
        (["--sampler", "Warp drive"], "Atelier cannot render with sampler 'Warp drive' yet"),
        (["--sampler", "Euler", "--schedule", "Sideways"], "schedule type 'Sideways'"),
        (["--steps", "0"], "steps must be between"),
    ],
)
def test_bad_options_exit_2(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    try:
        code, _, stderr = run_cli(
            capsys, "render", "--data-dir", str(data_dir), "--checkpoint", "tiny-sd1", "--prompt", "x", *args
        )
    except SystemExit as exit_:  # argparse rejects a bad --size itself
        code, stderr = int(str(exit_.code)), capsys.readouterr().err
    assert code == 2
    assert message in stderr
    assert not (data_dir / "renders").exists()


def test_missing_assets_exit_3_and_render_nothing(data_dir: Path) -> None:
    """Through ``main.py`` in a subprocess, as a user runs it (no torch import: nothing is rendered).

    The loopback Civitai knows the checkpoint's hash (CharTurner V1's file), so the command that
    downloads it is offered; the LoRA's hash is unknown there and gets no offer.
    """
    text = (
        "a fox <lora:add_detail:0.5>\n"
        "Steps: 2, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model hash: 733e24a8f4, "
        'Model: someone_elses, Lora hashes: "add_detail: 7c6bd7b7a2ff"'
    )
    with fake_civitai(CivitaiState.from_reference()) as civitai:
        env = {"HF_HUB_OFFLINE": "1", "ATELIER_CIVITAI_URL": civitai.base_url}
        result = run_main("render", "--infotext", text, data_dir=data_dir, env=env)
    assert result.returncode == 3, result.stderr
    assert "Checkpoint 'someone_elses' (hash 733e24a8f4) is not in the library" in result.stderr
    assert "LoRA 'add_detail' (hash 7c6bd7b7a2ff)" in result.stderr
    assert "on Civitai: python main.py download civitai:3334" in result.stderr
    assert result.stderr.count("on Civitai:") == 1
    assert result.stdout == ""
    assert not (data_dir / "renders").exists()


def test_an_unreachable_civitai_still_lists_what_is_missing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline: one failed lookup, then no more asking; the list and exit code are unchanged."""
    text = (
        "a fox <lora:add_detail:0.5>\n"
        "Steps: 2, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model hash: 0123456789, "
        'Model: someone_elses, Lora hashes: "add_detail: 7c6bd7b7a2ff"'
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATELIER_CIVITAI_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
        code = main(["render", "--data-dir", str(data_dir), "--infotext", text])
    stderr = capsys.readouterr().err
    assert code == 3
    assert stderr.count("Civitai not asked further") == 1
    assert "LoRA 'add_detail' (hash 7c6bd7b7a2ff)" in stderr


def test_an_unrunnable_sampler_is_refused_by_name_before_anything_loads(data_dir: Path) -> None:
    """Through ``main.py``: the sampler stays what the text says and the command names it (no Euler a)."""
    text = (
        "a fox\n"
        "Steps: 2, Sampler: Restart, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 64x64, "
        "Model: tiny-sd1"
    )
    result = run_main("render", "--infotext", text, data_dir=data_dir, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("atelier render: Atelier cannot render with sampler 'Restart' yet")
    assert "choose one of: DPM++ 2M" in first
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (data_dir / "renders").exists()


def test_infotext_schedule_type_is_rendered_and_recorded(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "a red fox, \n"
        "Steps: 2, Sampler: DPM++ 2M, Schedule type: Exponential, CFG scale: 5, Seed: 3, Size: 64x64, "
        'Model: tiny-sd1, Template: "a red fox, ", Version: v1.10.1'
    )
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", text, "--json"
    )
    assert code == 0, stderr
    infotext = json.loads(stdout)["infotext"]
    assert infotext.startswith("a red fox, \n")  # the comma token is kept
    assert "Sampler: DPM++ 2M, Schedule type: Exponential, CFG scale: 5, Seed: 3, Size: 64x64" in infotext
    assert 'Template: "a red fox, "' in infotext


def test_an_old_hires_text_renders_its_two_passes_and_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before A1111 1.0, Size was the final size and First pass size the first pass: both are rendered."""
    text = (
        "a red fox\n"
        "Steps: 2, Sampler: Euler, CFG scale: 5, Seed: 3, Size: 96x96, Model: tiny-sd1, "
        "Denoising strength: 0.5, First pass size: 64x64"
    )
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", text, "--json"
    )

    assert code == 0, stderr
    result = json.loads(stdout)
    assert Image.open(result["path"]).size == (96, 96)
    # Written back as the text says it: A1111 reads the same two passes from these keys.
    line = result["infotext"].splitlines()[-1]
    assert "Seed: 3, Size: 96x96, Model hash: aaaaaaaaaa, Model: tiny-sd1," in line
    assert "Denoising strength: 0.5, First pass size: 64x64" in line


def test_hires_options_render_two_passes_and_the_infotext_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--checkpoint", "tiny-sd1", *SETTINGS,
        "--seed", "4", "--hires-upscale", "1.5", "--hires-upscaler", "Lanczos", "--hires-steps", "1",
        "--denoising", "0.5", "--json",
    )  # fmt: skip

    assert code == 0, stderr
    result = json.loads(stdout)
    assert Image.open(result["path"]).size == (96, 96)
    line = result["infotext"].splitlines()[-1]
    assert "Seed: 4, Size: 64x64," in line  # A1111's Size is the first pass
    assert "Denoising strength: 0.5, Hires upscale: 1.5, Hires steps: 1, Hires upscaler: Lanczos" in line
    code, stdout, _ = run_cli(
        capsys, "render", "--data-dir", str(data_dir), "--infotext", result["path"], "--plan"
    )
    assert code == 0
    assert "Hires fix: Lanczos x1.5 -> 96x96, 1 step at denoising 0.5" in stdout


@pytest.mark.parametrize(
    ("axis", "message"),
    [
        ("seed=99999999999999999999", "not 99999999999999999999"),
        ("seed=-2", "not -2"),
        ("steps=1000000000000000000001", "steps values must be between 1 and"),
    ],
)
def test_a_grid_seed_out_of_range_is_echoed_as_typed(data_dir: Path, axis: str, message: str) -> None:
    """Through ``main.py``: a whole-number axis value is read exactly, not through a float (which made
    99999999999999999999 into 100000000000000000000 in the message); exit 2, one line, nothing rendered."""
    result = run_main(
        "grid",
        "--checkpoint",
        "tiny-sd1",
        *SETTINGS,
        "--x",
        axis,
        data_dir=data_dir,
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert message in line
    assert line.endswith(axis.partition("=")[2])
    assert not (data_dir / "renders").exists()
