"""``main.py rename`` to a hidden name (``core.organize.names``): refused in one line before anything moves.

A file renamed ``.dotname`` (or moved into ``.hidden/``, ``venv/``) was skipped by the next scan, marked
missing, and left the library while still on disk (A1111 and ComfyUI skip it as well). The window's rename
dialog asks the same ``name_refusal``, so it refuses the same name with the same sentence; its Move to… and
drops go through the same engine check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process as run_main
from tests.app.organize.ops_library import linked_lora


def test_rename_to_a_hidden_name_is_refused_and_the_file_stays_in_the_library(tmp_path: Path) -> None:
    root = tmp_path / "models"
    lora = linked_lora(root / "Lora")
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    refused = run_main("rename", str(lora), ".dotname", data_dir=data)

    assert refused.returncode == 2  # a usage mistake
    assert refused.stderr.strip() == (
        "atelier rename: “.dotname” would be hidden: scans (and A1111 and ComfyUI) skip hidden files and "
        "folders, so it would leave the library"
    )
    assert sorted(path.name for path in lora.parent.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    run_main("scan", data_dir=data, check=True)
    shown = json.loads(run_main("show", str(lora), "--json", data_dir=data, check=True).stdout)
    assert shown["status"] == "ok"


@pytest.mark.parametrize(
    ("dest", "said"),
    [
        ("Lora/.hidden/", "Lora/.hidden is hidden: scans (and A1111 and ComfyUI) skip hidden files and"),
        ("Lora/.hidden/deeper/x.safetensors", "Lora/.hidden is hidden"),
        ("Lora/venv/", "scans skip"),
        ("Lora/.dotname.safetensors", "“.dotname.safetensors” would be hidden"),
    ],
)
def test_a_move_that_would_hide_the_file_is_refused_exit_2(tmp_path: Path, dest: str, said: str) -> None:
    root = tmp_path / "models"
    lora = linked_lora(root / "Lora")
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    typed = str(root / dest) + ("/" if dest.endswith("/") else "")  # a folder to make, as a user types it
    refused = run_main("move", str(lora), typed, data_dir=data)

    assert refused.returncode == 2, refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("atelier move: ")
    assert said in line
    assert lora.is_file()
    assert not [p for p in root.rglob("*") if p.name.startswith(".") or p.name == "venv"]
