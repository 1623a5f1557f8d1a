"""What keeps a shared library whole when a machine reaches it wrongly: a shared folder added again under
this machine's path (catalog.known_folder), a share not mounted or mapped to the wrong folder (the
scanner's missing guard), and two machines hashing the same new files (catalog.hashing_job's claims).

Each test runs on a real PostgreSQL server (two Library objects with their own engines, as two Ateliers)
and on one SQLite file opened twice. Machine B reaches A's store through a second real folder holding the
same files with the same times (what a bind mount or a NAS share shows), made with ``copy2``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from catalog.errors import ConflictError
from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from core.jobs import Progress
from core.taxonomy import FileStatus
from tests.catalog.shared_machines import A, B, C, Opener, write_store
from tests.factory.safetensors_writer import write_safetensors

COUNT = 24  # more than the scanner's UNREACHABLE_MIN


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "nas" / "sd", COUNT)


@pytest.fixture
def scanned_on_a(open_as: Opener, store: Path) -> Library:
    a = open_as(A)
    a.add_root(store, name="NAS models")
    summary = Scanner(a, workers=1).scan()
    assert summary.new == COUNT
    return a


def _share(store: Path, where: Path) -> Path:
    """The store as another machine's mount shows it: the same files, sizes and modification times."""
    shutil.copytree(store, where, copy_function=shutil.copy2)
    return where


def _statuses(library: Library) -> dict[FileStatus, int]:
    counts: dict[FileStatus, int] = {}
    for root in library.roots():
        for row in library.file_index(root.id).values():
            counts[row.status] = counts.get(row.status, 0) + 1
    return counts


# -- a shared folder added again under this machine's path ---------------------------------------------


def test_adding_a_shared_folder_at_this_machines_path_is_refused_and_names_roots_map(
    scanned_on_a: Library, open_as: Opener, store: Path, tmp_path: Path
) -> None:
    mount = _share(store, tmp_path / "mnt" / "B" / "sd")
    (mount / "Lora" / "l00.safetensors").unlink()  # a few files changed since: still the same folder
    (mount / "Lora" / "l01.safetensors").write_bytes(b"changed")
    b = open_as(B)

    with pytest.raises(ConflictError) as refused:
        b.add_root(mount)

    assert str(refused.value) == (
        f"{mount} is the shared library folder 'NAS models' ({COUNT - 2} of {COUNT} of its files are "
        f"here, same size and time): map it on this machine instead: atelier roots map 'NAS models' {mount}"
    )
    assert [root.name for root in b.roots()] == ["NAS models"], "no second folder"
    assert b.map_root("NAS models", mount).path == str(mount), "the way the message says works"


def test_the_path_another_machine_recorded_for_the_folder_is_recognised(
    scanned_on_a: Library, open_as: Opener, store: Path, tmp_path: Path
) -> None:
    mount = _share(store, tmp_path / "mnt" / "nas")
    b, c = open_as(B), open_as(C)
    b.map_root("NAS models", mount)
    for path in mount.rglob("*.safetensors"):
        path.unlink()  # C sees the mount point without the share: only the path tells

    with pytest.raises(ConflictError, match=r"\(studio-b reaches it at this same path\): map it on this"):
        c.add_root(mount, name="mine")
    assert [root.name for root in c.roots()] == ["NAS models"]


def test_a_folder_holding_the_shared_one_or_inside_it_is_refused_and_names_the_shared_folder(
    scanned_on_a: Library, open_as: Opener, store: Path, tmp_path: Path
) -> None:
    mount = _share(store, tmp_path / "mnt" / "B" / "share" / "sd")
    (tmp_path / "mnt" / "B" / "notes").mkdir()
    b = open_as(B)

    with pytest.raises(ConflictError) as holds:
        b.add_root(mount.parent)
    with pytest.raises(ConflictError) as inside:
        b.add_root(mount / "Lora")

    evidence = f"({COUNT} of {COUNT} of its files are here, same size and time)"
    assert str(holds.value) == (
        f"{mount.parent} holds the shared library folder 'NAS models', here at {mount} {evidence}: map it "
        f"on this machine instead: atelier roots map 'NAS models' {mount}"
    )
    assert str(inside.value).startswith(
        f"{mount / 'Lora'} is inside the shared library folder 'NAS models', here at {mount} {evidence}"
    )
    assert [root.name for root in b.roots()] == ["NAS models"]


def test_a_parent_holding_the_shared_folder_beside_more_models_of_its_own_is_refused(
    scanned_on_a: Library, open_as: Opener, store: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "p"
    for number in range(25):  # more than the first model files looked at, in a folder that sorts first
        write_safetensors(
            parent / "aaa" / "Lora" / f"zz{number}.safetensors", {"w": ("F16", (8,))}, seed=900 + number
        )
    mount = _share(store, parent / "share" / "sd")  # two levels down
    b = open_as(B)

    with pytest.raises(ConflictError) as holds:
        b.add_root(parent)

    assert str(holds.value).startswith(
        f"{parent} holds the shared library folder 'NAS models', here at {mount} ({COUNT} of {COUNT} of its "
        "files are here, same size and time): map it on this machine instead"
    )
    assert [root.name for root in b.roots()] == ["NAS models"]


def test_other_files_and_this_machines_own_copies_are_folders_of_their_own(
    scanned_on_a: Library, open_as: Opener, store: Path, tmp_path: Path
) -> None:
    retimed = _share(store, tmp_path / "copy-without-times")
    for path in retimed.rglob("*.safetensors"):
        an_hour_later = path.stat().st_mtime_ns + 3600 * 10**9
        os.utime(path, ns=(an_hour_later, an_hour_later))  # a plain copy, made later: other times
    backup = _share(store, tmp_path / "backup")  # A's own backup, times kept
    b = open_as(B)

    assert b.add_root(retimed).name == "copy-without-times"
    assert scanned_on_a.add_root(backup).name == "backup", "a machine's own folders are never compared"


# -- a share not mounted, or mapped to the wrong folder ------------------------------------------------


def test_an_unmounted_share_marks_nothing_missing_for_anyone(
    scanned_on_a: Library, open_as: Opener, tmp_path: Path
) -> None:
    mount_point = tmp_path / "mnt" / "empty"
    mount_point.mkdir(parents=True)
    b = open_as(B)
    b.map_root("NAS models", mount_point, force=True)  # an empty folder is refused unless forced

    summary = Scanner(b, workers=1).scan()

    assert summary.problems == [
        f"{mount_point}: the folder is empty but the catalog lists {COUNT} files in it (is the drive or "
        "share mounted?); nothing was marked missing."
    ]
    assert summary.missing == 0
    assert _statuses(scanned_on_a) == {FileStatus.OK: COUNT}


def test_a_wrong_mapping_marks_nothing_missing_and_catalogs_nothing(
    scanned_on_a: Library, open_as: Opener, tmp_path: Path
) -> None:
    wrong = tmp_path / "other-share"
    write_safetensors(wrong / "unrelated.safetensors", {"w": ("F16", (4, 4))}, seed=500)
    b = open_as(B)
    b.map_root("NAS models", wrong, force=True)  # refused unless forced (test_shared_mapping_guard.py)

    summary = Scanner(b, workers=1).scan()

    assert summary.problems == [
        f"{wrong}: none of the 20 checked of the 24 files the catalog lists in the shared folder "
        "'NAS models' is here (is the "
        "share mounted, and mapped to the right folder? atelier roots map 'NAS models' PATH); nothing was "
        "cataloged or marked missing."
    ]
    assert _statuses(scanned_on_a) == {FileStatus.OK: COUNT}  # the folder's own file is not cataloged


def test_deleting_files_still_marks_them_missing_and_an_emptied_removable_disk_does_not(
    scanned_on_a: Library, store: Path
) -> None:
    for number in range(5):
        (store / "Lora" / f"l{number:02}.safetensors").unlink()
    assert Scanner(scanned_on_a, workers=1).scan().missing == 5

    shutil.rmtree(store)
    store.mkdir()  # the disk's mount point, the disk unplugged
    summary = Scanner(scanned_on_a, workers=1).scan()

    assert summary.missing == 0
    assert summary.problems == [
        f"{store}: the folder is empty but the catalog lists {COUNT - 5} files in it (is the drive or share "
        "mounted?); nothing was marked missing. If it is mounted elsewhere on this machine: "
        "atelier roots map 'NAS models' PATH"
    ]
    assert _statuses(scanned_on_a) == {FileStatus.OK: COUNT - 5, FileStatus.MISSING: 5}


def test_a_folder_is_not_mapped_into_another_library_folder_through_a_link(
    scanned_on_a: Library, open_as: Opener, tmp_path: Path
) -> None:
    b = open_as(B)
    own = tmp_path / "b-own"
    (own / "sub").mkdir(parents=True)
    b.add_root(own)
    link = tmp_path / "link-to-own-sub"
    link.symlink_to(own / "sub", target_is_directory=True)

    with pytest.raises(ConflictError, match=r"is inside the library folder 'b-own'"):
        b.map_root("NAS models", link)


# -- two machines hashing the same new files ------------------------------------------------------------


def test_a_file_another_machine_hashed_meanwhile_is_not_hashed_again(
    open_as: Opener, store: Path, tmp_path: Path
) -> None:
    a, b = open_as(A), open_as(B)
    a.add_root(store, name="NAS models")
    b.map_root("NAS models", _share(store, tmp_path / "mnt" / "B" / "sd"))
    assert Scanner(a, workers=1).scan().new == COUNT
    on_a: list[str] = []

    def a_hashes_everything_meanwhile(_progress: Progress) -> None:
        if not on_a:  # B is hashing its first file: A hashes all the others in the meantime
            on_a.append(str(hash_pending(a, workers=1)))

    on_b = hash_pending(b, workers=1, round_bytes=0, progress=a_hashes_everything_meanwhile)

    assert len(on_a) == 1
    assert on_a[0].startswith(f"Hashed {COUNT - 1} files")
    assert on_a[0].endswith("(1 being hashed by another Atelier)"), "the file B claimed is left to B"
    assert (on_b.hashed, on_b.elsewhere) == (1, COUNT - 1), "only the file B had begun"
    assert "23 hashed by another Atelier meanwhile" in str(on_b)
    assert a.unhashed() == []
    assert b.unhashed() == []
    assert len(a.search_rows(AssetQuery())) == COUNT


def test_a_small_folder_emptied_by_hand_is_a_deletion(open_as: Opener, tmp_path: Path) -> None:
    downloads = tmp_path / "Downloads"
    for number in range(2):
        write_safetensors(downloads / f"d{number}.safetensors", {"w": ("F16", (4, 4))}, seed=700 + number)
    a = open_as(A)
    a.add_root(downloads)
    Scanner(a, workers=1).scan()
    for path in downloads.iterdir():
        path.unlink()

    summary = Scanner(a, workers=1).scan()

    assert (summary.missing, summary.problems) == (2, [])
