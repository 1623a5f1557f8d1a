"""A data folder on a full disk, through ``main.py``: every command says so in one line (the folder and the
free space there), never a traceback, and nothing half-written is left to pass for a backup.

The disk is a real tmpfs of a few hundred KiB (root only, as in the download tests; skipped elsewhere:
a file-size limit does not stand in for it, SQLite's checkpoint then leaves a catalog file that reads as
truncated, a different case). The commands that meet the full disk run as ``python main.py``; the scan
that makes the catalog before the disk fills and the checks after space is freed run through the CLI's
entry point in this process.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.app.test_download_cli import small_filesystem
from tests.factory.safetensors_writer import write_safetensors

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="tmpfs and prlimit are POSIX")


def _library(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    for number in range(3):
        write_safetensors(root / f"lora{number}.safetensors", {"w": ("F16", (8,))}, seed=number)
    return root


def _fill(filler: Path) -> None:
    """Write zeros to ``filler`` until its disk is full."""
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
    finally:
        os.close(descriptor)


def _one_clean_line(result: subprocess.CompletedProcess[str], command: str, folder: Path) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"atelier {command}: The library database in {folder} cannot be written ("), line
    assert "free there)" in line
    assert "Free some space on that disk" in line
    return line


def test_a_full_disk_under_the_data_folder_is_one_line_for_every_command_until_space_is_freed(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path)
    data_dir = tmp_path / "full" / "data"
    with small_filesystem(tmp_path / "full", "400k") as grow:
        first = run_main("scan", str(library), "--no-lookup", data_dir=data_dir)
        assert first.returncode == 1, first.stderr
        assert "Traceback" not in first.stderr

        # Each later open retried the migration's backup on the full disk and gave a traceback.
        for command in (["roots"], ["tag", "1", "--add", "x"], ["search", "lora"], ["scan", "--force"]):
            line = _one_clean_line(run_main(*command, data_dir=data_dir), command[0], data_dir)
            assert "0 B free there" in line
            assert not list(data_dir.glob("*.bak*")), "a backup cut short is not left behind"

        grow("16m")
        run_in_process("scan", str(library), "--no-lookup", data_dir=data_dir, check=True)
        assert "lora1.safetensors" in run_in_process("search", "lora", data_dir=data_dir, check=True).stdout


def test_a_disk_filled_after_the_catalog_was_made_is_one_line_for_reads_and_writes(tmp_path: Path) -> None:
    library = _library(tmp_path)
    data_dir = tmp_path / "full" / "data"
    with small_filesystem(tmp_path / "full", "2m"):
        run_in_process("scan", str(library), "--no-lookup", data_dir=data_dir, check=True)
        filler = tmp_path / "full" / "filler"
        _fill(filler)

        for command in (["search", "lora"], ["roots"], ["scan", "--force"], ["tag", "1", "--add", "x"]):
            _one_clean_line(run_main(*command, data_dir=data_dir), command[0], data_dir)

        filler.unlink()
        assert "lora1.safetensors" in run_in_process("search", "lora", data_dir=data_dir, check=True).stdout
