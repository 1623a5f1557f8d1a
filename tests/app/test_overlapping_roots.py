"""Library folders never overlap: ``scan`` refuses a folder inside a library folder or holding one.

The refused scan runs as ``python main.py scan`` (its exit code and one line, no traceback, are what the
user sees); the scans that set the library up and the ``roots`` listings that check it run through the
CLI's entry point in this process.
"""

from __future__ import annotations

from pathlib import Path

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.factory.safetensors_writer import write_safetensors


def _tree(tmp_path: Path) -> Path:
    outer = tmp_path / "models"
    for name in ("loras", "checkpoints"):
        (outer / name).mkdir(parents=True)
    write_safetensors(outer / "loras" / "a.safetensors", {"w": ("F16", (4, 4))}, seed=1)
    return outer


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ATELIER_DATA_DIR": str(tmp_path / "profile")}


def test_a_folder_inside_a_library_folder_is_refused(tmp_path: Path) -> None:
    outer = _tree(tmp_path)
    env = _env(tmp_path)
    run_in_process("scan", str(outer), "--no-hash", env=env, check=True)

    inner = run_main("scan", str(outer / "loras"), "--no-hash", env=env, check=False)

    assert inner.returncode == 1
    assert f"{outer / 'loras'} is already in the library folder {outer} — rescan that instead" in inner.stderr
    assert "Traceback" not in inner.stderr
    assert str(outer / "loras") not in run_in_process("roots", env=env, check=True).stdout


def test_a_folder_holding_library_folders_is_refused(tmp_path: Path) -> None:
    outer = _tree(tmp_path)
    env = _env(tmp_path)
    run_in_process("scan", str(outer / "loras"), str(outer / "checkpoints"), "--no-hash", env=env, check=True)

    above = run_main("scan", str(outer), "--no-hash", env=env, check=False)

    assert above.returncode == 1
    assert f"{outer} holds the library folders {outer / 'checkpoints'}, {outer / 'loras'}" in above.stderr
    assert "remove them first (Settings › Library folders, or `atelier roots remove NAME`)" in above.stderr
    listed = run_in_process("roots", env=env, check=True).stdout
    assert str(outer / "loras") in listed
    assert f"{outer}\n" not in listed
    assert f"{outer} " not in listed


def test_the_same_folder_again_is_a_rescan(tmp_path: Path) -> None:
    outer = _tree(tmp_path)
    env = _env(tmp_path)
    run_in_process("scan", str(outer), "--no-hash", env=env, check=True)
    again = run_main("scan", str(outer), "--no-hash", env=env)
    assert again.returncode == 0, again.stderr
