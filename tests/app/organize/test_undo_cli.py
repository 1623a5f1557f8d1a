"""``undo`` through ``main.py``'s entry point, as the outside tester ran it: the sidecars written since a
move follow the model back; a link undone is said to be a file again (not a move onto the kept copy); an
undo that cannot start prints its reason alone and leaves the history as it was, at every try."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.app.in_process import run_in_process
from tests.app.organize.template_library import linked_lora


def _library(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A library folder with a scanned LoRA (asset 1) with its Civitai Helper sidecar and preview."""
    lora = linked_lora(tmp_path / "models" / "Lora")
    options: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "env": {"XDG_DATA_HOME": str(tmp_path / "xdg"), "ATELIER_CIVITAI_URL": "http://127.0.0.1:9"},
    }
    run_in_process("scan", str(lora.parent), "--no-lookup", **options, check=True)
    return lora, options


def _history(options: dict[str, Any]) -> list[tuple[str, str]]:
    listed = json.loads(run_in_process("history", "--json", **options, check=True).stdout)
    return [(op["kind"], op["state"]) for op in listed]


def test_a_sidecar_written_after_the_move_goes_back_with_the_model(tmp_path: Path) -> None:
    lora, options = _library(tmp_path)
    newdir = lora.parent / "newdir"
    run_in_process("move", "1", f"{newdir}/", **options, check=True)
    written = run_in_process("sidecars", "write", "1", **options, check=True)
    assert (newdir / "detail_tweaker.json").exists(), written.stdout

    undone = run_in_process("undo", **options, check=True)

    assert sorted(path.name for path in lora.parent.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.json",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ], undone.stdout
    assert not newdir.exists(), "the folder the move made is empty again, and goes"


def test_a_sidecar_written_since_whose_old_place_is_taken_refuses_the_undo(tmp_path: Path) -> None:
    lora, options = _library(tmp_path)
    newdir = lora.parent / "newdir"
    run_in_process("move", "1", f"{newdir}/", **options, check=True)
    (newdir / "detail_tweaker.json").write_text('{"notes": "written since"}')
    mine = lora.with_name("detail_tweaker.json")
    mine.write_text('{"notes": "the user\'s own"}')
    history = _history(options)

    refused = run_in_process("undo", **options)

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert (
        refused.stderr
        == f"atelier undo: {mine} exists again: nothing was put back (nothing is ever overwritten)\n"
    )
    assert mine.read_text() == '{"notes": "the user\'s own"}'
    assert sorted(path.name for path in newdir.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.json",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    assert _history(options) == history


def test_an_undo_whose_file_is_gone_prints_its_reason_alone_and_records_nothing(tmp_path: Path) -> None:
    lora, options = _library(tmp_path)
    newdir = lora.parent / "newdir"
    run_in_process("move", "1", f"{newdir}/", **options, check=True)
    (newdir / lora.name).unlink()
    history = _history(options)
    assert history == [("move", "done")]

    for _ in range(2):  # a retry fails the same way, and adds nothing either
        refused = run_in_process("undo", **options)

        assert refused.returncode == 1
        assert refused.stdout == ""
        assert refused.stderr == (
            f"atelier undo: {newdir / lora.name} is no longer there (moved or deleted since): "
            "nothing was put back\n"
        )
        assert _history(options) == history
    assert (newdir / "detail_tweaker.preview.png").exists(), "nothing was touched"


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links")
def test_the_undo_of_a_symlink_resolution_says_the_copy_is_a_file_again(tmp_path: Path) -> None:
    lora, options = _library(tmp_path)
    copy = lora.parent / "other" / "detail_tweaker-copy.safetensors"
    copy.parent.mkdir()
    shutil.copy2(lora, copy)
    run_in_process("scan", "--no-lookup", **options, check=True)
    run_in_process("dupes", "--resolve", "symlink", "--keep", str(lora), "--yes", **options, check=True)
    assert copy.is_symlink()

    undone = run_in_process("undo", **options, check=True)

    assert not copy.is_symlink()
    assert copy.read_bytes() == lora.read_bytes()
    assert undone.stdout.splitlines()[1:] == [f"  restored {copy} (was a link to {lora})"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links")
def test_the_undo_of_a_link_leaves_a_file_the_user_put_in_its_place(tmp_path: Path) -> None:
    """Found on the way: the undo of a link copied the kept file over whatever stood at the link's path."""
    lora, options = _library(tmp_path)
    copy = lora.parent / "other" / "detail_tweaker-copy.safetensors"
    copy.parent.mkdir()
    shutil.copy2(lora, copy)
    run_in_process("scan", "--no-lookup", **options, check=True)
    run_in_process("dupes", "--resolve", "symlink", "--keep", str(lora), "--yes", **options, check=True)
    copy.unlink()
    copy.write_bytes(b"the user's own file")

    history = _history(options)

    refused = run_in_process("undo", **options)

    assert refused.returncode == 1
    assert refused.stderr == f"atelier undo: {copy} is no longer a link to {lora}: it was left as it is\n"
    assert copy.read_bytes() == b"the user's own file"
    assert _history(options) == history
