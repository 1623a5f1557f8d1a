"""``atelier roots remove NAME|PATH``: what the window's Settings › Library folders does, from the command
line (a scan over a library folder said "remove them first", which the CLI could not do). The folder's
rows leave the catalog, its files stay on disk; it asks first, and without a terminal needs ``--yes``.

``main.py`` runs in a child process on a real library folder, as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.app.main_process import run_main
from tests.factory.models import kohya_lora, write_case


@pytest.fixture(scope="module")
def scanned_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two library folders, ``inks`` and ``washes``, one LoRA each, scanned into a data folder that the
    tests copy (removing a folder leaves its files on disk, so the folders themselves are shared)."""
    folder = tmp_path_factory.mktemp("roots-remove")
    data = folder / "data"
    inks = folder / "inks"
    write_case(kohya_lora("sd1", rank=1, text=False), inks)
    write_case(kohya_lora("sd1", rank=2, text=False), folder / "washes")
    run_main("scan", "--no-hash", "--no-lookup", str(inks), str(folder / "washes"), data_dir=data, check=True)
    return data, inks


@pytest.fixture
def library(scanned_once: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A data folder of its own for the test, a copy of the scanned one: (data, inks)."""
    prepared, inks = scanned_once
    data = tmp_path / "data"
    shutil.copytree(prepared, data)
    return data, inks


def _listed(data: Path) -> list[str]:
    return [
        root["name"] for root in json.loads(run_main("roots", "--json", data_dir=data, check=True).stdout)
    ]


def test_a_folder_is_removed_by_name_only_when_confirmed(library: tuple[Path, Path]) -> None:
    data, inks = library
    files = sorted(inks.rglob("*"))

    unconfirmed = run_main("roots", "remove", "inks", data_dir=data)
    removed = run_main("roots", "remove", "INKS", "--yes", data_dir=data)

    assert unconfirmed.returncode == 1
    assert unconfirmed.stderr.strip() == (
        "atelier roots: not removing the library folder 'inks' (1 file in the catalog) without "
        "confirmation: add --yes"
    )
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == (
        f"Removed the library folder 'inks' ({inks}): its 1 file left the catalog; the files on disk are "
        "untouched."
    )
    assert _listed(data) == ["washes"]
    assert sorted(inks.rglob("*")) == files, "nothing on disk changed"
    found = json.loads(run_main("search", "--json", data_dir=data, check=True).stdout)
    assert [Path(hit["path"]).parent.name for hit in found] == ["washes"]


def test_a_folder_is_removed_by_its_path_and_can_be_scanned_again(library: tuple[Path, Path]) -> None:
    data, inks = library

    removed = json.loads(
        run_main("roots", "remove", str(inks), "--yes", "--json", data_dir=data, check=True).stdout
    )
    run_main("scan", "--no-hash", "--no-lookup", str(inks), data_dir=data, check=True)

    assert (removed["name"], removed["path"], removed["removed"]) == ("inks", str(inks), True)
    assert sorted(_listed(data)) == ["inks", "washes"]


def test_a_name_that_is_no_folder_is_one_line(library: tuple[Path, Path]) -> None:
    data, _inks = library

    result = run_main("roots", "remove", "nope", "--yes", data_dir=data)
    misplaced = run_main("roots", "--yes", data_dir=data)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "atelier roots: No library folder is named 'nope' or is at that path (the library's folders: "
        "'inks', 'washes')."
    )
    assert misplaced.returncode == 2
    assert misplaced.stderr.strip() == "atelier roots: --yes goes with `roots remove`, not `roots list`"
    assert _listed(data) == ["inks", "washes"]
