"""A file changed on disk since the last scan, then moved, renamed, undone or deleted and brought back,
through ``main.py``'s entry point as a user runs it: the next ``scan`` reads it again.

The tester overwrote a scanned LoRA with an SDXL embedding and renamed it: the rename wrote the new size
and time into the catalog, so every later scan took the file for unchanged and it stayed "lora / sd1"
for ever (only its hashes were computed again). The same with bytes appended, a move and its undo: the
file stayed "ok" while ``inspect`` said corrupt. A step carries a file, never a reading of it
(``catalog.journal.same_reading``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.app.in_process import run_in_process
from tests.app.organize.template_library import write_embedding, write_lora


def _library(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A library folder with one scanned SD1 LoRA (asset 1), and the arguments to run commands on it."""
    root = tmp_path / "models"
    write_lora(root / "Lora" / "a.safetensors", "a")
    options: dict[str, Any] = {"data_dir": tmp_path / "data", "env": {"XDG_DATA_HOME": str(tmp_path / "xdg")}}
    run_in_process("scan", str(root), "--no-lookup", **options, check=True)
    assert _show(options)[:2] == ("lora", "sd1")
    return root, options


def _show(options: dict[str, Any]) -> tuple[str, str, str, str]:
    shown = json.loads(run_in_process("show", "1", "--json", **options, check=True).stdout)
    return shown["kind"], shown["architecture"], shown["status"], shown["path"]


def _rescan(options: dict[str, Any]) -> str:
    scanned = run_in_process("scan", "--no-lookup", **options, check=True)
    return str(scanned.stdout)


def test_a_file_overwritten_then_renamed_is_read_again_by_the_next_scan(tmp_path: Path) -> None:
    root, options = _library(tmp_path)
    lora = root / "Lora" / "a.safetensors"
    shutil.copyfile(write_embedding(tmp_path / "sdxl-emb.safetensors", 3, sdxl=True), lora)

    run_in_process("rename", "1", "b", **options, check=True)
    scanned = _rescan(options)

    assert "1 changed" in scanned
    assert _show(options) == ("embedding", "sdxl", "ok", str(lora.with_name("b.safetensors")))


def test_bytes_appended_then_moved_and_undone_is_corrupt_after_the_next_scan(tmp_path: Path) -> None:
    root, options = _library(tmp_path)
    lora = root / "Lora" / "a.safetensors"
    with lora.open("ab") as handle:
        handle.write(b"\0junk\0\0\0")

    run_in_process("move", "1", str(root / "newdir") + "/", **options, check=True)
    run_in_process("undo", **options, check=True)
    scanned = _rescan(options)

    assert "1 changed" in scanned
    assert _show(options)[2:] == ("corrupt", str(lora))


def test_a_file_changed_then_deleted_and_brought_back_is_read_again(tmp_path: Path) -> None:
    root, options = _library(tmp_path)
    lora = root / "Lora" / "a.safetensors"
    shutil.copyfile(write_embedding(tmp_path / "sdxl-emb.safetensors", 3, sdxl=True), lora)

    run_in_process("delete", "1", "--yes", **options, check=True)
    run_in_process("undo", **options, check=True)
    scanned = _rescan(options)

    assert "1 changed" in scanned
    assert _show(options) == ("embedding", "sdxl", "ok", str(lora))


def test_an_unchanged_file_moved_stays_unchanged_for_the_next_scan(tmp_path: Path) -> None:
    """The other side: a file as cataloged is not read again (nor its hashes lost) for a move."""
    root, options = _library(tmp_path)
    hashes = json.loads(run_in_process("show", "1", "--json", **options, check=True).stdout)["hashes"]
    assert hashes["sha256"]

    run_in_process("move", "1", str(root / "newdir") + "/", **options, check=True)
    scanned = _rescan(options)

    assert "0 changed, 1 unchanged" in scanned
    assert json.loads(run_in_process("show", "1", "--json", **options, check=True).stdout)["hashes"] == hashes
