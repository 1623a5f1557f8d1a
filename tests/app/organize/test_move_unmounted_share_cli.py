"""``move`` of a file whose shared folder is not mounted on this machine (mapped with ``roots map --force``
to its empty mount point) says to mount the share, not to rescan its folder: a rescan of that folder is
refused on purpose (the scan reads an empty folder as an unmounted share). A file deleted from a folder
that is there still says to rescan. Two machines on the test's PostgreSQL catalog, through the CLI entry.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import EXIT_FAILED, EXIT_OK
from tests.app.machines_on_server import Run
from tests.catalog.shared_machines import write_store

COUNT = 6


def test_a_move_on_a_machine_whose_share_is_not_mounted_says_to_mount_it(on: Run, tmp_path: Path) -> None:
    store = write_store(tmp_path / "nas" / "sd", COUNT)
    assert on("a", "roots", "add", str(store), "--name", "sd")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    mount_point = tmp_path / "mnt" / "sd"
    mount_point.mkdir(parents=True)  # the share is not mounted on b: its mount point is empty
    assert on("b", "roots", "map", "sd", str(mount_point), "--force")[0] == EXIT_OK
    _, out, _ = on("b", "search", "--json", "--limit", "100")
    first = json.loads(out)[0]

    code, _, err = on("b", "move", str(first["id"]), str(mount_point / "elsewhere") + "/")

    assert code == EXIT_FAILED
    assert err.splitlines() == [
        f"atelier move: {first['path']} is not reachable: the shared folder 'sd' "
        f"({mount_point}) is empty or not there on this machine (is the drive or share mounted?). Mount it, "
        "then try again; nothing was moved"
    ]
    code, out, _ = on("b", "scan", "--no-hash")  # what the old advice led to: refused, nothing written
    assert "is the drive or share mounted?); nothing was marked missing" in out


def test_a_file_deleted_from_a_folder_that_is_there_still_says_rescan(on: Run, tmp_path: Path) -> None:
    store = write_store(tmp_path / "nas" / "sd", COUNT)
    assert on("a", "roots", "add", str(store), "--name", "sd")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    _, out, _ = on("a", "search", "--json", "--limit", "100")
    first = json.loads(out)[0]
    Path(first["path"]).unlink()

    code, _, err = on("a", "move", str(first["id"]), str(store / "elsewhere") + "/")

    assert code == EXIT_FAILED
    assert err.splitlines() == [
        f"atelier move: {first['path']} is missing on disk: nothing was moved (rescan its folder)"
    ]
