"""A library folder on a read-only file system, through ``main.py``: ``delete`` and ``organize`` say so in
one line and do nothing, with no undo offered and no failed operation left in the history for each try
(they used to print "Sent 0 files to the trash … Undo with `atelier undo`" and then "Permission denied").

The read-only file system is a real read-only bind mount (root only; skipped elsewhere). The refused
commands run as ``python main.py``; the scans that set the library up and the history that checks it run
through the CLI's entry point in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.app.organize.template_library import write_embedding

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a read-only bind mount")


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` remounted read-only in place (a bind mount of itself), as a share mounted ``ro`` is."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only mount needs root")
    bound = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, check=False)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode(errors='replace').strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_DATA_HOME": str(tmp_path / "xdg"), "ATELIER_DATA_DIR": str(tmp_path / "data")}


def _history(env: dict[str, str]) -> list[dict[str, object]]:
    return list(json.loads(run_in_process("history", "--json", env=env, check=True).stdout))


@pytest.mark.parametrize(
    ("command", "done"), [(("delete", "1", "--yes"), "deleted"), (("organize", "--yes"), "moved")]
)
def test_a_read_only_library_folder_is_one_line_with_nothing_to_undo_and_no_history(
    tmp_path: Path, env: dict[str, str], command: tuple[str, ...], done: str
) -> None:
    library = tmp_path / "models"
    files = [write_embedding(library / f"emb{index}.safetensors", index) for index in range(2)]
    run_in_process("scan", str(library), "--no-hash", env=env, check=True)

    with read_only(library):
        result = run_main(*command, env=env)

        assert result.returncode == 1, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line == (
            f"atelier {command[0]}: {library} is on a read-only file system: nothing was {done}. "
            "Mount it writable (or copy the files to a writable library folder) and try again"
        )
        assert "undo" not in result.stdout.lower()
        assert "Permission denied" not in result.stderr
        assert _history(env) == [], "an operation that did nothing is not recorded"
        assert all(path.is_file() for path in files)


def test_a_delete_across_a_writable_and_a_read_only_folder_does_the_writable_part(
    tmp_path: Path, env: dict[str, str]
) -> None:
    writable = write_embedding(tmp_path / "rw" / "emb0.safetensors", 0)
    locked = write_embedding(tmp_path / "ro" / "emb1.safetensors", 1)
    run_in_process("scan", str(writable.parent), str(locked.parent), "--no-hash", env=env, check=True)

    with read_only(locked.parent):
        result = run_main("delete", str(writable), str(locked), "--yes", env=env)

        assert result.returncode == 1
        assert "Sent 1 file to the trash" in result.stdout
        assert "Undo with `atelier undo`." in result.stdout, "one file went: its undo is offered"
        assert f"{locked} is on a read-only file system: mount it writable to delete it" in result.stderr
        assert "Permission denied" not in result.stderr
        assert not writable.exists()
        assert locked.is_file()
