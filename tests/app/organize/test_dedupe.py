"""Resolving duplicates through the organize engine on real files: the kept file by the documented rule,
hard links (one inode afterwards), symlinks (the link leaves the catalog), the trash (freed once emptied)
and undo; the user's data of the removed rows ends on the kept row."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from app.organize.dedupe import apply_dedupe, default_keep, plan_dedupe
from app.organize.engine import undo
from catalog.library import Library
from catalog.records import UserDataChanges
from catalog.scanner import Scanner
from core.organize.errors import OrganizeError
from core.taxonomy import LibraryLayout
from tests.app.organize.ops_library import digest, linked_lora, open_hashed_library, own_trash

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links")


def _library(tmp_path: Path) -> tuple[Library, Path, Path, Path]:
    """A LoRA in its kind folder (A1111 ``models/Lora``), a loose copy, and a hard link of the copy."""
    install = tmp_path / "webui"
    lora = linked_lora(install / "models" / "Lora")
    loose = install / "models" / "Stable-diffusion" / "detail_tweaker (1).safetensors"
    loose.parent.mkdir(parents=True)
    shutil.copy2(lora, loose)
    twin = install / "models" / "Stable-diffusion" / "twin.safetensors"
    os.link(loose, twin)
    library = open_hashed_library(tmp_path / "data", install)
    library.add_root(install, LibraryLayout.A1111)
    return library, lora, loose, twin


def _id(library: Library, path: Path) -> int:
    record = library.get_by_path(path)
    assert record is not None
    return record.id


def test_the_file_in_its_kind_folder_is_kept_by_default(tmp_path: Path) -> None:
    library, lora, loose, _twin = _library(tmp_path)
    # The loose copy has more user data, but the kind folder comes first in the rule.
    library.update_user_data(_id(library, loose), UserDataChanges(rating=5, notes="best at 0.6"))

    [group] = library.duplicate_groups()

    assert default_keep(group).path == str(lora)
    plan = plan_dedupe([group], "trash")
    assert plan.groups[0].keep.path == str(lora)
    assert sorted(r.path for r in plan.removals) == sorted([str(loose), str(_twin)])
    assert plan.freed_bytes == lora.stat().st_size  # the copy and its hard link are one file: once
    assert plan.summary().endswith("once the trash is emptied")


def test_hardlink_resolution_leaves_one_inode_and_no_group(tmp_path: Path) -> None:
    library, lora, loose, twin = _library(tmp_path)
    bytes_before = digest(lora)
    library.update_user_data(
        _id(library, loose), UserDataChanges(tags=("ink",), rating=4, notes="0.6 is best")
    )
    plan = plan_dedupe(library.duplicate_groups(), "hardlink")

    result = apply_dedupe(library, plan)

    assert (result.done, result.failed) == (2, ())
    assert result.freed_bytes == lora.stat().st_size
    assert len({p.stat().st_ino for p in (lora, loose, twin)}) == 1
    assert digest(loose) == bytes_before
    assert library.duplicate_groups() == []
    Scanner(library, workers=1).scan()
    assert library.duplicate_groups() == []
    kept = library.get(_id(library, lora))
    assert kept is not None
    assert "ink" in kept.tags  # united with the tags its sidecar gave it
    assert (kept.rating, kept.notes) == (4, "0.6 is best")


def test_symlink_resolution_drops_the_links_rows_and_a_rescan_agrees(tmp_path: Path) -> None:
    library, lora, loose, twin = _library(tmp_path)
    plan = plan_dedupe(library.duplicate_groups(), "symlink", keep=[_id(library, loose)])
    assert plan.groups[0].keep.path in {str(loose), str(twin)}  # either path of the chosen file

    result = apply_dedupe(library, plan)

    assert result.done == 1
    assert lora.is_symlink()
    assert Path(os.path.realpath(lora)) == Path(plan.groups[0].keep.path)
    assert library.get_by_path(lora) is None
    Scanner(library, workers=1).scan()
    assert library.get_by_path(lora) is None  # a symlink into the library is never a second row
    assert library.duplicate_groups() == []


def test_trash_resolution_frees_once_emptied_and_undo_puts_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trash = own_trash(monkeypatch, tmp_path / "xdg")
    library, lora, loose, twin = _library(tmp_path)
    library.update_user_data(_id(library, twin), UserDataChanges(collections=("Keepers",), favorite=True))
    loose_id = _id(library, loose)
    plan = plan_dedupe(library.duplicate_groups(), "trash")

    result = apply_dedupe(library, plan)

    assert result.done == 2
    assert result.freed_bytes == lora.stat().st_size
    assert not loose.exists()
    assert not twin.exists()
    assert (trash / "files" / loose.name).exists()
    kept = library.get(_id(library, lora))
    assert kept is not None
    assert (list(kept.collections), kept.favorite) == (["Keepers"], True)
    assert library.duplicate_groups() == []

    undo(library, result.operation_ids[0])

    assert loose.exists()
    assert twin.exists()
    assert digest(loose) == digest(lora)
    assert library.get(loose_id) is not None


def test_a_hard_link_across_disks_is_refused_with_the_reason(tmp_path: Path) -> None:
    other_disk = Path("/dev/shm")
    if not other_disk.is_dir() or other_disk.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second file system (/dev/shm)")
    elsewhere = other_disk / f"atelier-dupes-{os.getpid()}"
    elsewhere.mkdir()
    try:
        root = tmp_path / "models"
        lora = linked_lora(root)
        shutil.copy2(lora, elsewhere / lora.name)
        library = open_hashed_library(tmp_path / "data", root, elsewhere)
        plan = plan_dedupe(library.duplicate_groups(), "hardlink", keep=[_id(library, lora)])

        assert plan.is_empty
        [refusal] = plan.refusals
        assert "a hard link cannot cross disks" in refusal.reason
        assert plan_dedupe(library.duplicate_groups(), "symlink").removals  # a symlink can
    finally:
        shutil.rmtree(elsewhere)


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    library, *_ = _library(tmp_path)
    with pytest.raises(OrganizeError, match="trash, hardlink or symlink"):
        plan_dedupe(library.duplicate_groups(), "copy")  # type: ignore[arg-type]
