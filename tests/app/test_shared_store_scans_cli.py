"""``atelier scan`` on a machine that reaches a shared store its own way, through the CLI entry in the
test's process (``app.cli.main``), two profiles (two machines) on one PostgreSQL catalog: a parent of the
store is refused whatever else it holds, and a store mapped to an old copy writes nothing.

Machine A adds and scans the store ``nas/sd``; B sees it through a second folder with the same files,
sizes and times (what a bind mount or a NAS share shows), made with ``copy2``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import EXIT_FAILED, EXIT_OK
from tests.app.machines_on_server import Run
from tests.catalog.shared_machines import write_store
from tests.factory.safetensors_writer import write_safetensors

COUNT = 30
GONE = 25  # most of the store, and more than the few files a deletion is always taken for


@pytest.fixture
def store(on: Run, tmp_path: Path) -> Path:
    """The store, added and scanned by A under the name NAS."""
    folder = write_store(tmp_path / "nas" / "sd", COUNT)
    assert on("a", "roots", "add", str(folder), "--name", "NAS")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    return folder


def test_a_parent_of_the_store_holding_another_folder_of_models_that_sorts_first_is_refused(
    on: Run, store: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "p"
    for number in range(
        25
    ):  # more of B's own models than the probe reads first, in a folder that sorts before the store's
        write_safetensors(
            parent / "aaa" / "Lora" / f"zz_{number}.safetensors", {"w": ("F16", (8,))}, seed=900 + number
        )
    shutil.copytree(store, parent / "share", copy_function=shutil.copy2)

    code, out, err = on("b", "scan", str(parent), "--no-hash", "--no-lookup")

    assert code == EXIT_FAILED
    assert err.strip().splitlines() == [
        f"atelier scan: {parent} holds the shared library folder 'NAS', here at {parent / 'share'} "
        f"({COUNT} of {COUNT} of its files are here, same size and time): "
        f"map it on this machine instead: atelier roots map NAS {parent / 'share'}"
    ]
    code, out, _ = on("a", "roots", "--json")
    assert code == EXIT_OK
    assert [root["name"] for root in json.loads(out)] == ["NAS"]  # no second folder of the same files
    assert len(json.loads(on("a", "search", "--json")[1])) == COUNT


def test_a_store_mapped_to_an_old_copy_writes_nothing_and_leaves_the_other_machines_rows_as_they_were(
    on: Run, store: Path, tmp_path: Path
) -> None:
    old = tmp_path / "b" / "old-copy"
    for number in range(5):  # five of the store's files, at the same places and sizes, other contents
        write_safetensors(
            old / "Lora" / f"l{number:02}.safetensors", {"w": ("F16", (4, 4))}, seed=700 + number
        )
    for number in range(3):  # and files of its own
        write_safetensors(old / "Lora" / f"own{number}.safetensors", {"w": ("F16", (8,))}, seed=800 + number)
    assert on("b", "roots", "map", "NAS", str(old))[0] == EXIT_OK  # one known file is enough to map
    rows_before = json.loads(on("a", "search", "--json")[1])

    code, out, err = on("b", "scan", "--no-lookup")

    assert (code, err) == (EXIT_OK, "")
    assert (
        f"  ! {old}: 25 of 30 files checked of the 30 the catalog lists in this shared folder are not here "
        "(is the share mapped to the right folder? atelier roots map NAS PATH); nothing was cataloged or "
        "marked missing." in out.splitlines()
    )
    assert (
        "Scanned 0 folders (1 left as it was: its files are not here): "
        "0 files (0 new, 0 changed, 0 unchanged)" in out
    )
    # The hashing that follows the scan hashes no file of the old copy into A's rows.
    assert "Hashed 0 files (5 changed meanwhile, 25 not found)" in out
    assert json.loads(on("a", "search", "--json")[1]) == rows_before
    code, out, _ = on("a", "scan", "--no-hash")
    assert "(0 new, 0 changed, 30 unchanged)" in out


def test_files_really_deleted_from_a_shared_folder_are_marked_missing_when_the_scan_is_told_so(
    on: Run, store: Path, tmp_path: Path
) -> None:
    """Most of a folder another machine shares, deleted on the machine that added it, looks like a wrong
    mapping, so a scan leaves it as it was and says how to take the files as deleted: ``scan FOLDER --force``
    marks them missing (their tags and notes kept) and catalogs a file new since."""
    shutil.copytree(store, tmp_path / "b" / "sd", copy_function=shutil.copy2)
    assert on("b", "roots", "map", "NAS", str(tmp_path / "b" / "sd"))[0] == EXIT_OK
    models = sorted(store.rglob("*.safetensors"))
    for path in models[:GONE]:
        path.unlink()
    write_safetensors(store / "Lora" / "brand_new.safetensors", {"w": ("F16", (8,))}, seed=1234)

    code, out, _ = on("a", "scan", "--no-hash", "--no-lookup")
    assert code == EXIT_OK
    assert out.splitlines()[-1] == (
        "  If those files were deleted: atelier scan FOLDER --force marks them missing"
        " and catalogs what is there."
    )
    rows = json.loads(on("a", "search", "--json")[1])
    assert len(rows) == COUNT  # left as it was: nothing missing, nothing new

    code, out, _ = on("a", "scan", str(store), "--force", "--no-hash", "--no-lookup")
    assert code == EXIT_OK
    assert "If those files were deleted" not in out
    assert "1 new" in out
    assert f"{GONE} missing" in out
    present = json.loads(on("a", "search", "--json")[1])
    assert len(present) == COUNT - GONE + 1
    assert "brand_new.safetensors" in {Path(row["path"]).name for row in present}
