"""An update's identification rules reach the files already cataloged: through ``atelier scan``.

A catalog row keeps the version of the rules that identified it (``core.identify.rules_version``). The
rows below are made to look as an older Atelier left them (a family its rules got wrong, version 0): the
next ``scan`` reads those files' headers again and corrects them, keeping their hashes, the user's notes
and the user's own family; rows of the current rules are not read again, and a second scan reads
nothing. The scan whose summary a user reads runs as ``python main.py scan``; the commands that set the
catalog up and the follow-up checks run through the CLI's entry point in this process (same arguments,
output and exit code, without a Python start each).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.identify.rules_version import RULES_VERSION
from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.app.test_cli import LORA
from tests.factory.safetensors_writer import write_safetensors


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, data_dir=data_dir, check=True)


def _row(data_dir: Path, file_name: str) -> dict[str, Any]:
    with sqlite3.connect(data_dir / "catalog.sqlite3") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM assets WHERE file_name = ?", (file_name,)).fetchone()
    return dict(row)


def _as_older_rules_left_it(data_dir: Path, file_name: str, architecture: str, version: int) -> None:
    with sqlite3.connect(data_dir / "catalog.sqlite3") as db:
        db.execute(
            "UPDATE assets SET architecture = ?, identified_with = ? WHERE file_name = ?",
            (architecture, version, file_name),
        )


@pytest.fixture
def cataloged(tmp_path: Path) -> tuple[Path, Path]:
    """A ComfyUI folder of an SD1 LoRA and an embedding, scanned and hashed; (folder, data dir)."""
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    write_safetensors(root / "models/loras/pixel-art.safetensors", LORA, seed=3)
    write_safetensors(
        root / "models/embeddings/badhands.safetensors", {"emb_params": ("F32", (4, 768))}, seed=4
    )
    data_dir = tmp_path / "profile"
    first = json.loads(_run("scan", str(root), "--json", data_dir=data_dir).stdout)
    assert first["scan"]["new"] == 2
    assert first["hash"]["hashed"] == 2
    return root, data_dir


def test_a_scan_re_identifies_what_older_rules_cataloged_keeping_hashes_and_user_data(
    cataloged: tuple[Path, Path],
) -> None:
    _root, data_dir = cataloged
    lora = _row(data_dir, "pixel-art.safetensors")
    assert (lora["architecture"], lora["identified_with"]) == ("sd1", RULES_VERSION)
    _run("set", str(lora["id"]), "--notes", "my favourite", data_dir=data_dir)
    _as_older_rules_left_it(data_dir, "pixel-art.safetensors", "sdxl", 0)  # older rules got it wrong
    _as_older_rules_left_it(data_dir, "badhands.safetensors", "flux1", RULES_VERSION)  # today's rules' row

    human = run_main("scan", data_dir=data_dir, check=True).stdout  # as the user runs it
    assert "1 unchanged, 1 re-identified (newer rules)" in human

    after = _row(data_dir, "pixel-art.safetensors")
    assert (after["architecture"], after["identified_with"]) == ("sd1", RULES_VERSION)
    assert after["sha256"] == lora["sha256"] is not None, "the file's hashes are kept, not computed again"
    assert after["hashed_at"] == lora["hashed_at"]
    assert after["notes"] == "my favourite"
    assert _row(data_dir, "badhands.safetensors")["architecture"] == "flux1", "current rules: not re-read"

    again = json.loads(_run("scan", "--json", data_dir=data_dir).stdout)
    assert (again["scan"]["unchanged"], again["scan"]["reidentified"]) == (2, 0)


def test_re_identification_keeps_the_family_the_user_set(cataloged: tuple[Path, Path]) -> None:
    _root, data_dir = cataloged
    lora_id = str(_row(data_dir, "pixel-art.safetensors")["id"])
    _run("set", lora_id, "--arch", "sdxl", data_dir=data_dir)
    _as_older_rules_left_it(data_dir, "pixel-art.safetensors", "sdxl", 0)

    rescanned = json.loads(_run("scan", "--json", data_dir=data_dir).stdout)
    assert rescanned["scan"]["reidentified"] == 1

    shown = json.loads(_run("show", lora_id, "--json", data_dir=data_dir).stdout)
    assert shown["architecture"] == "sdxl", "the user's word stays"
    row = _row(data_dir, "pixel-art.safetensors")
    assert (row["architecture_override"], row["identified_with"]) == ("sdxl", RULES_VERSION)
