"""A machine that has not mapped a shared folder shows none of another machine's paths as its own:
``roots --json`` and ``show`` say "not mapped on this machine" where the path would be, and a mirror made
there leaves the folder's files out (no link to another machine's path). Two profiles (two data folders:
two machines) on one catalog on a PostgreSQL server, through the CLI in the test's process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import EXIT_OK
from tests.app.machines_on_server import Run
from tests.app.organize.ops_library import linked_lora


@pytest.fixture
def store(on: Run, tmp_path: Path) -> Path:
    """A store with one linked LoRA, added and scanned by machine A as NAS; B has not mapped it."""
    folder = tmp_path / "nas" / "sd"
    linked_lora(folder)
    assert on("a", "roots", "add", str(folder), "--name", "NAS")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    return folder


def test_a_machine_that_has_not_mapped_a_folder_shows_no_other_machines_path_as_its_own(
    on: Run, store: Path, tmp_path: Path
) -> None:

    (listed,) = json.loads(on("b", "roots", "--json")[1])
    assert listed["path"] is None
    assert listed["not_here"] == "not mapped on this machine: atelier roots map NAS PATH"
    assert listed["canonical_path"] == str(store)

    (hit,) = json.loads(on("a", "search", "--json")[1])
    shown = json.loads(on("b", "show", str(hit["id"]), "--json")[1])
    assert (shown["path"], shown["cover_path"], shown["previews"]) == (None, None, [])
    assert (
        shown["path_here"]
        == "not mapped on this machine (the shared folder 'NAS': atelier roots map NAS PATH)"
    )
    assert shown["stored_path"] == hit["path"]
    lines = on("b", "show", str(hit["id"]))[1].splitlines()
    assert lines[2].split(None, 2)[2] == shown["path_here"]
    assert not any(line.startswith("path:") for line in lines)
    assert json.loads(on("a", "show", str(hit["id"]), "--json")[1])["path"] == hit["path"]

    code, out, err = on("b", "mirror", "--ui", "a1111", "--mode", "symlink", str(tmp_path / "b" / "forge"))
    assert (code, err) == (EXIT_OK, "")
    assert (
        "left as they were: the files of 'NAS' (not mapped on this machine: atelier roots map NAS PATH)"
        in out
    )
    assert not any(path.is_symlink() for path in (tmp_path / "b" / "forge").rglob("*"))


def test_search_json_gives_no_other_machines_path_on_a_machine_that_has_not_mapped_the_folder(
    on: Run, store: Path
) -> None:
    (on_a,) = json.loads(on("a", "search", "--json")[1])

    (on_b,) = json.loads(on("b", "search", "--json")[1])

    assert on_b["id"] == on_a["id"]
    assert (on_b["path"], on_b["cover_path"]) == (None, None)
    assert (
        on_b["path_here"]
        == "not mapped on this machine (the shared folder 'NAS': atelier roots map NAS PATH)"
    )
    assert on_b["stored_path"] == on_a["path"]
    assert str(store) not in json.dumps({k: v for k, v in on_b.items() if k != "stored_path"})
    (listed,) = json.loads(on("b", "roots", "--json")[1])
    assert listed["path"] is None
    # Each machine's own path stays listed under its machine's name, as `roots` lists them.
    assert [(m["path"], m["this_machine"]) for m in listed["machines"]] == [(str(store), False)]
