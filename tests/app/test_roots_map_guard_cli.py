"""``atelier roots map NAME PATH`` refuses a folder that holds none of the shared folder's files (one line,
exit 1), maps it with ``--force``, and a scan of such a folder catalogs nothing and says why.

Two profiles (two data folders: two machines) share one catalog on a PostgreSQL server (``--catalog``
names a server; the SQLite side of the guard runs in tests/catalog/test_shared_mapping_guard.py). The
commands run in-process through the CLI entry (``app.cli.main``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tests.app.machines_on_server import Run
from tests.catalog.shared_machines import write_store
from tests.factory.safetensors_writer import write_safetensors

COUNT = 24


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "nas" / "sd", COUNT)


def test_a_wrong_folder_is_refused_forced_and_then_catalogs_nothing(
    on: Run, store: Path, tmp_path: Path
) -> None:
    assert on("a", "roots", "add", str(store), "--name", "NAS")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    wrong = tmp_path / "home" / "b" / "Downloads"
    write_safetensors(wrong / "mine.safetensors", {"w": ("F16", (2, 2))}, seed=900)

    code, out, err = on("b", "roots", "map", "NAS", str(wrong))
    assert code == EXIT_FAILED
    assert err.splitlines() == [
        f"atelier roots: {wrong} does not hold the files of the shared folder 'NAS': none of the 20 checked "
        f"(of {COUNT}) is there. Check the path, or map it anyway with --force (a scan adds nothing while "
        "none of its files is there)."
    ]
    code, out, _ = on("b", "roots", "--json")
    (folder,) = json.loads(out)
    assert [machine["this_machine"] for machine in folder["machines"]] == [False], "nothing recorded for b"

    code, out, err = on("b", "roots", "map", "NAS", str(wrong), "--force")
    assert (code, err) == (EXIT_OK, "")
    assert out.splitlines() == [f"On this machine 'NAS' is {wrong}"]

    code, out, err = on("b", "scan", "--no-hash")
    assert code == EXIT_OK
    assert (
        f"  ! {wrong}: none of the 20 checked of the {COUNT} files the catalog lists in the shared folder "
        "'NAS' is here (is the share "
        "mounted, and mapped to the right folder? atelier roots map NAS PATH); nothing was cataloged or "
        "marked missing."
    ) in out.splitlines()
    code, out, _ = on("a", "search", "--json", "--limit", "1000")
    assert sorted(hit["file_name"] for hit in json.loads(out)) == [
        f"l{n:02}.safetensors" for n in range(COUNT)
    ]


def test_the_right_folder_maps_and_force_goes_only_with_map(on: Run, store: Path, tmp_path: Path) -> None:
    assert on("a", "roots", "add", str(store), "--name", "NAS")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    mount = tmp_path / "mnt" / "B" / "sd"
    shutil.copytree(store, mount)

    assert on("b", "roots", "map", "NAS", str(mount)) == (EXIT_OK, f"On this machine 'NAS' is {mount}\n", "")
    code, _, err = on("b", "roots", "unmap", "NAS", "--force")
    assert code == EXIT_USAGE
    assert err.splitlines() == ["atelier roots: --force goes with `roots map`, not `roots unmap`"]
