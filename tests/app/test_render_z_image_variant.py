"""Z-Image Turbo and Base have the same tensors: the header cannot say which a file is, its Civitai
base-model label can. ``main.py render --plan`` on scanned Z-Image checkpoints: a file labelled
``ZImageBase`` (by its ``.civitai.info``) renders with Base's CFG and steps, one labelled ``ZImageTurbo``
with Turbo's; a file without a label gets Turbo's and the plan says so in one line. What the user types
is kept. The files are header-true ComfyUI layouts (sparse: only headers are read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

# The Qwen3 tokenizer a Z-Image render fetches once must be fetchable for its plan to be ready.
pytestmark = pytest.mark.usefixtures("hub_up")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "checkpoints"
    layout = keyspace("z_image-comfyui", dtype="BF16")
    for stem, label in (("zit", "ZImageTurbo"), ("zib", "ZImageBase"), ("zi", None), ("zi_sdxl", "SDXL 1.0")):
        path = write_safetensors(root / f"{stem}.safetensors", layout)
        if label is not None:
            write_civitai_helper_info(path, civitai_helper_payload(base_model=label, model_name=stem))
    data = tmp_path / "data"
    library = Library.open(data / "catalog.sqlite3")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    library.close()
    return data


def _plan(data: Path, capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> dict[str, object]:
    main(["--data-dir", str(data), "render", "--plan", "--json", "--checkpoint", name, *extra])
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_the_base_model_label_picks_the_variants_cfg_and_steps(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _plan(data_dir, capsys, "zib")
    turbo = _plan(data_dir, capsys, "zit")

    assert (base["base_model"], base["cfg"], base["steps"], base["sampler"]) == (
        "ZImageBase",
        4.0,
        28,
        "Euler",
    )
    assert (turbo["base_model"], turbo["cfg"], turbo["steps"], turbo["sampler"]) == (
        "ZImageTurbo",
        1.0,
        8,
        "Euler",
    )
    assert base["defaults_note"] is None
    assert turbo["defaults_note"] is None


def test_without_a_label_turbos_defaults_and_the_plan_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _plan(data_dir, capsys, "zi")
    assert (document["cfg"], document["steps"]) == (1.0, 8)
    assert document["defaults_note"] == (
        "Z-Image variant not known (no Civitai base model; ZImageTurbo or ZImageBase says which): "
        "Z-Image Turbo's defaults, CFG 1 and 8 steps"
    )
    # A label of another family names no variant: Turbo's, said with the label it has.
    wrong = _plan(data_dir, capsys, "zi_sdxl")
    assert (wrong["cfg"], wrong["steps"]) == (1.0, 8)
    assert "(base model 'SDXL 1.0'; ZImageTurbo or ZImageBase says which)" in str(wrong["defaults_note"])

    main(["--data-dir", str(data_dir), "render", "--plan", "--checkpoint", "zi"])
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("Defaults:")] == [
        "Defaults: Z-Image variant not known (no Civitai base model; ZImageTurbo or ZImageBase says which): "
        "Z-Image Turbo's defaults, CFG 1 and 8 steps"
    ]
    assert any(
        line.startswith("Sampler: Euler, schedule Automatic (Simple), 8 steps, CFG 1") for line in lines
    )


def test_what_the_user_types_is_kept(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = _plan(data_dir, capsys, "zib", "--cfg", "5", "--steps", "40")
    assert (document["cfg"], document["steps"], document["defaults_note"]) == (5.0, 40, None)

    document = _plan(data_dir, capsys, "zib", "--steps", "12")
    assert (document["cfg"], document["steps"]) == (4.0, 12)

    # Nothing assumed when the user gave both; the guess is still said when one of them was left open.
    assert _plan(data_dir, capsys, "zi", "--cfg", "2", "--steps", "6")["defaults_note"] is None
    assert _plan(data_dir, capsys, "zi", "--cfg", "2")["steps"] == 8


def test_other_families_keep_twenty_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = write_safetensors(tmp_path / "sd15.safetensors", keyspace("sd1-ldm"))
    document = _plan(tmp_path / "data", capsys, str(checkpoint))
    assert (document["steps"], document["cfg"], document["defaults_note"]) == (20, 7.0, None)
