"""``render``/``grid`` options a user can get wrong, through ``main.py`` as a user runs it, on a tiny real
checkpoint: ``--out`` over an existing file, a LoRA weight that is no number, a negative ``--size``.

The refusals come before anything loads, so those runs import no torch; the tests that render are slow.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from catalog.library import Library
from core.render.png import read_infotext
from core.taxonomy import Architecture, AssetKind, LibraryLayout
from tests.app.main_process import run_main
from tests.app.test_render_service import CHECKPOINT_HASHES, catalog_file, shared_tiny_sd1

ENV = {"HF_HUB_OFFLINE": "1"}
QUICK = ["--checkpoint", "tiny-sd1", "--prompt", "a red fox", "--steps", "1", "--size", "64x64"]
GRID = [*QUICK, "--x", "seed=1,2"]
MODEL_BYTES = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "  # a (tiny) safetensors file


@pytest.fixture(scope="module")
def checkpoint_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_sd1(tmp_path_factory)


@pytest.fixture
def data_dir(tmp_path: Path, checkpoint_folder: Path) -> Path:
    """A library with the tiny checkpoint and, in a second folder, a LoRA ``detail`` and a LoRA whose
    name has a colon (``style:v2``), as the scanner would catalog them."""
    folder = tmp_path / "data"
    loras = tmp_path / "lib" / "models" / "Lora"
    loras.mkdir(parents=True)
    with Library.open(folder / "catalog.sqlite3") as library:
        root = library.add_root(checkpoint_folder.parent, LibraryLayout.FLAT)
        asset_id = catalog_file(
            library, root.id, checkpoint_folder, AssetKind.CHECKPOINT, Architecture.SD1, inode=1
        )
        library.set_hashes(asset_id, CHECKPOINT_HASHES)
        lora_root = library.add_root(tmp_path / "lib", LibraryLayout.A1111)
        for inode, name in enumerate(("detail", "style:v2"), start=2):
            path = loras / f"{name}.safetensors"
            path.write_bytes(MODEL_BYTES)
            catalog_file(library, lora_root.id, path, AssetKind.LORA, Architecture.SD1, inode=inode)
    return folder


def _png(path: Path, colour: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


INSTEAD = "give a folder (the image takes a free name there) or another file name"
LIBRARY_FILE = f"a file of the library is there and is never written over; {INSTEAD}"
NOT_PNG = f"a file that is not a PNG is there and is never written over; {INSTEAD}"


EXISTS = f"the file exists; {INSTEAD}, or add --overwrite to replace it"


# Every kind of existing file through ``render``; ``grid`` hands ``--out`` to the same check (app.render_cli
# ``check_out``), so it runs three of them (each refusal message; --overwrite refused for a library file)
# rather than all six again: the other three would only repeat that one function on the same input.
@pytest.mark.parametrize(
    ("command", "existing", "says"),
    [
        ("render", "model", LIBRARY_FILE),
        ("render", "model --overwrite", LIBRARY_FILE),
        ("render", "text", NOT_PNG),
        ("render", "text --overwrite", NOT_PNG),
        ("render", "png", EXISTS),
        ("render", "gallery --overwrite", LIBRARY_FILE),
        ("grid", "model --overwrite", LIBRARY_FILE),
        ("grid", "text", NOT_PNG),
        ("grid", "png", EXISTS),
    ],
)
def test_out_never_writes_over_an_existing_file(
    data_dir: Path, tmp_path: Path, command: str, existing: str, says: str
) -> None:
    """The tester's ``--out rlib/models/Lora/detail.safetensors`` turned a LoRA into a PNG; a text file
    and an earlier render were lost the same way. Each is refused before anything renders (exit 2)."""
    existing, _, overwrite = existing.partition(" ")
    target = {
        "model": tmp_path / "lib" / "models" / "Lora" / "detail.safetensors",
        "text": tmp_path / "notes.txt",
        "png": tmp_path / "keep.png",
        "gallery": data_dir / "renders" / "20260101-000000-render-1.png",
    }[existing]
    if existing == "text":
        target.write_text("my notes\n")
    elif existing in ("png", "gallery"):
        _png(target)
    before = target.read_bytes()

    args = [*(GRID if command == "grid" else QUICK), "--out", str(target)]
    result = run_main(command, *args, *overwrite.split(), data_dir=data_dir, env=ENV)

    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line == f"atelier {command}: --out {target}: {says}; nothing rendered"
    assert target.read_bytes() == before
    renders = data_dir / "renders"
    made = sorted(renders.iterdir()) if renders.exists() else []
    assert made == ([target] if existing == "gallery" else []), "nothing rendered"


def test_a_batch_is_refused_when_one_of_its_numbered_names_is_taken(data_dir: Path, tmp_path: Path) -> None:
    taken = tmp_path / "shot-1.png"
    before = _png(taken)
    shot = tmp_path / "shot.png"
    result = run_main("render", *QUICK, "--batch", "2", "--out", str(shot), data_dir=data_dir, env=ENV)
    assert result.returncode == 2, result.stderr
    assert _one_line(result.stderr).startswith(f"atelier render: --out {taken}: the file exists;")
    assert taken.read_bytes() == before
    assert not shot.exists()


@pytest.mark.slow
def test_overwrite_replaces_an_earlier_png(data_dir: Path, tmp_path: Path) -> None:
    earlier = tmp_path / "keep.png"
    _png(earlier)
    result = run_main("render", *QUICK, "--seed", "5", "--out", str(earlier), "--overwrite", "--json",
                      data_dir=data_dir, env=ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    replaced = json.loads(result.stdout)
    assert replaced["path"] == str(earlier)
    assert read_infotext(earlier) == replaced["infotext"]
    assert earlier.read_bytes() == Path(replaced["library_path"]).read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["keep.png"], "no temporary file left"


NOT_A_WEIGHT = (
    "--lora detail:abc: 'abc' is not a weight (a number, e.g. detail:0.8), and the library has no "
    "LoRA named 'detail:abc'"
)
NOT_A_STRENGTH = (
    "--hypernetwork ink:strong: 'strong' is not a strength (a number, e.g. ink:0.8), and the "
    "library has no hypernetwork named 'ink:strong'"
)


# Every kind of bad weight through ``render``; ``render --plan`` (refused before the plan is shown) and
# ``grid`` call the same app.render_cli ``bad_weight``, so each runs one LoRA and one hypernetwork value
# rather than all four again: the other two would only repeat that one function on the same input.
@pytest.mark.parametrize(
    ("command", "option", "says"),
    [
        ("render", ["--lora", "detail:abc"], NOT_A_WEIGHT),
        ("render", ["--lora", "detail:nan"], "--lora detail:nan: 'nan' is not a weight"),
        ("render", ["--lora", "detail:"], "--lora detail:: no weight follows the ':'"),
        ("render", ["--hypernetwork", "ink:strong"], NOT_A_STRENGTH),
        ("render --plan", ["--lora", "detail:abc"], NOT_A_WEIGHT),
        ("render --plan", ["--hypernetwork", "ink:strong"], NOT_A_STRENGTH),
        ("grid", ["--lora", "detail:abc"], NOT_A_WEIGHT),
        ("grid", ["--hypernetwork", "ink:strong"], NOT_A_STRENGTH),
    ],
)  # fmt: skip
def test_a_weight_that_is_no_number_is_a_usage_error(
    data_dir: Path, option: list[str], says: str, command: str
) -> None:
    """It was reported as a missing LoRA ("LoRA 'detail:abc' is not in the library", exit 3)."""
    words = command.split()
    base = GRID if words[0] == "grid" else QUICK
    result = run_main(*words, *base, *option, data_dir=data_dir, env=ENV)
    assert result.returncode == 2, result.stderr
    assert _one_line(result.stderr).startswith(f"atelier {words[0]}: {says}")
    assert not (data_dir / "renders").exists()


def test_a_name_with_a_colon_in_the_library_is_still_a_name(data_dir: Path) -> None:
    """``style:v2`` is a LoRA's name, not ``style`` at weight ``v2``; ``style:v2:0.5`` weighs it."""
    for option, weight in (("style:v2", "UNet 1, TE 1"), ("style:v2:0.5", "UNet 0.5, TE 0.5")):
        result = run_main("render", *QUICK, "--lora", option, "--plan", data_dir=data_dir, env=ENV)
        assert result.returncode == 0, result.stderr
        assert "LoRA: style:v2 (" in result.stdout
        assert weight in result.stdout


@pytest.mark.parametrize("command", ["render", "grid"])
@pytest.mark.parametrize("option", ["--size", "--hires-resize"])
def test_a_negative_size_is_a_size_error(data_dir: Path, command: str, option: str) -> None:
    """argparse took ``-64x64`` for an option: "expected one argument"."""
    base = GRID if command == "grid" else QUICK
    result = run_main(command, *base, option, "-64x64", data_dir=data_dir, env=ENV)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"atelier {command}: error: argument {option}: size must be WIDTHxHEIGHT")
    assert last.endswith("not '-64x64'")
    assert "Traceback" not in result.stderr
