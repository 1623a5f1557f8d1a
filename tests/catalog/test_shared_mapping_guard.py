"""A machine that maps a shared folder to the wrong place (catalog.known_folder.require_its_files, the
scanner's guard): ``map_root`` refuses a folder holding none of the folder's known files unless forced,
and a scan of such a folder catalogs none of its own files. On a real PostgreSQL server and on one SQLite
file opened twice (``open_as``).

Machine B reaches A's store through a second real folder with the same files (what a NAS share shows).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog.errors import ConflictError
from catalog.known_folder import MAP_SAMPLE, NotTheSharedFolderError
from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from tests.catalog.shared_machines import A, B, Opener, write_store
from tests.factory.safetensors_writer import write_safetensors

COUNT = 24  # more than the sample looked at (MAP_SAMPLE)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "nas" / "sd", COUNT)


@pytest.fixture
def scanned_on_a(open_as: Opener, store: Path) -> Library:
    a = open_as(A)
    a.add_root(store, name="NAS")
    assert Scanner(a, workers=1).scan().new == COUNT
    return a


@pytest.fixture
def wrong(tmp_path: Path) -> Path:
    """Another folder of models (the user's own downloads): not the shared store."""
    folder = tmp_path / "home" / "b" / "Downloads"
    write_safetensors(folder / "mine.safetensors", {"w": ("F16", (2, 2))}, seed=900)
    return folder


def _names(library: Library) -> list[str]:
    return sorted(record.file_name for record in library.search(AssetQuery(limit=1000)))


def test_mapping_a_folder_without_the_shared_files_is_refused_and_nothing_is_recorded(
    scanned_on_a: Library, open_as: Opener, wrong: Path
) -> None:
    b = open_as(B)
    with pytest.raises(NotTheSharedFolderError) as refused:
        b.map_root("NAS", wrong)
    assert str(refused.value) == (
        f"{wrong} does not hold the files of the shared folder 'NAS': none of the {MAP_SAMPLE} checked (of "
        f"{COUNT}) is there. Check the path, or map it anyway with --force (a scan adds nothing while none "
        "of its files is there)."
    )
    assert isinstance(refused.value, ConflictError)
    assert (refused.value.folder, refused.value.name, refused.value.sampled) == (
        str(wrong),
        "NAS",
        MAP_SAMPLE,
    )
    (root,) = b.roots()
    assert not root.placed_here, "the refused path was not recorded"
    assert Scanner(b, workers=1).scan().new == 0
    assert "mine.safetensors" not in _names(scanned_on_a)


def test_an_empty_folder_is_refused_as_a_share_not_mounted(
    scanned_on_a: Library, open_as: Opener, tmp_path: Path
) -> None:
    mount_point = tmp_path / "mnt" / "nas"
    mount_point.mkdir(parents=True)
    with pytest.raises(NotTheSharedFolderError) as refused:
        open_as(B).map_root("NAS", mount_point)
    assert str(refused.value).startswith(
        f"{mount_point} is empty, but the shared folder 'NAS' has files (is the share mounted?). Check the "
        "path, or map it anyway with --force"
    )


def test_the_right_folder_maps_even_with_other_times_and_most_files_gone(
    scanned_on_a: Library, open_as: Opener, store: Path, tmp_path: Path
) -> None:
    mount = tmp_path / "mnt" / "B" / "sd"
    shutil.copytree(store, mount, copy_function=shutil.copy)  # same sizes, new modification times
    for number in range(COUNT - 1):  # one known file is enough
        (mount / "Lora" / f"l{number:02}.safetensors").unlink()
    b = open_as(B)
    assert b.map_root("NAS", mount).path == str(mount)


def test_a_file_of_another_size_at_a_known_place_is_not_the_shared_file(
    scanned_on_a: Library, open_as: Opener, tmp_path: Path
) -> None:
    lookalike = tmp_path / "lookalike"
    (lookalike / "Lora").mkdir(parents=True)
    (lookalike / "Lora" / "l00.safetensors").write_bytes(b"another file of the same name")
    with pytest.raises(NotTheSharedFolderError):
        open_as(B).map_root("NAS", lookalike)


def test_a_shared_folder_without_files_maps_anywhere(open_as: Opener, tmp_path: Path, wrong: Path) -> None:
    a = open_as(A)
    a.add_root(tmp_path / "nas" / "new", name="NAS")
    assert open_as(B).map_root("NAS", wrong).path == str(wrong)


def test_a_forced_wrong_mapping_catalogs_nothing_until_the_share_is_there(
    scanned_on_a: Library, open_as: Opener, store: Path, wrong: Path
) -> None:
    b = open_as(B)
    assert b.map_root("NAS", wrong, force=True).path == str(wrong)

    summary = Scanner(b, workers=1).scan()

    assert (summary.new, summary.missing) == (0, 0)
    assert summary.problems == [
        f"{wrong}: none of the {MAP_SAMPLE} checked of the 24 files the catalog lists in the shared "
        "folder 'NAS' is here (is the "
        "share mounted, and mapped to the right folder? atelier roots map NAS PATH); nothing was cataloged "
        "or marked missing."
    ]
    assert "mine.safetensors" not in _names(scanned_on_a)
    assert len(_names(scanned_on_a)) == COUNT

    shutil.copytree(store, wrong, dirs_exist_ok=True, copy_function=shutil.copy2)  # the share, mounted
    summary = Scanner(b, workers=1).scan()
    assert summary.problems == []
    # the shared files are the same rows, unchanged: B's own inode numbers say nothing (catalog.stat_match)
    assert (summary.new, summary.changed, summary.unchanged) == (1, 0, COUNT)
    assert len(_names(scanned_on_a)) == COUNT + 1
