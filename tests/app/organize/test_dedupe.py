"""Resolving duplicates through the organize engine on real files: the kept file by the documented rule,
hard links (one inode afterwards), symlinks (the link leaves the catalog), the trash (freed once emptied)
and undo; the user's data of the removed rows ends on the kept row."""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import pytest

from app.organize import steps
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


def _user_data(library: Library, asset_id: int) -> tuple[tuple[str, ...], tuple[str, ...], int, bool, str]:
    record = library.get(asset_id)
    assert record is not None
    return (
        tuple(sorted(record.tags)),
        tuple(record.collections),
        record.rating,
        record.favorite,
        record.notes,
    )


@pytest.mark.parametrize("mode", ["symlink", "hardlink", "trash"])
def test_one_undo_brings_back_each_copys_row_and_data_and_takes_the_merge_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    library, lora, loose, twin = _library(tmp_path)
    loose_id, twin_id, kept_id = _id(library, loose), _id(library, twin), _id(library, lora)
    library.update_user_data(loose_id, UserDataChanges(tags=("mytag",), rating=5, notes="strong at 0.6"))
    library.update_user_data(twin_id, UserDataChanges(collections=("Keepers",), favorite=True))
    kept_before = _user_data(library, kept_id)
    loose_before, twin_before = _user_data(library, loose_id), _user_data(library, twin_id)
    history_before = len(library.recent_operations())
    plan = plan_dedupe(library.duplicate_groups(), mode)  # type: ignore[arg-type]
    assert plan.groups[0].keep.path == str(lora)

    result = apply_dedupe(library, plan)

    assert (result.done, result.failed) == (2, ())
    assert len(result.operation_ids) == 1  # one resolution, one operation in the history
    assert len(library.recent_operations()) == history_before + 1
    merged = _user_data(library, kept_id)
    assert "mytag" in merged[0]
    assert (merged[1], merged[2], merged[3]) == (("Keepers",), 5, True)
    assert "strong at 0.6" in merged[4]
    if mode == "symlink":
        assert loose.is_symlink()
        assert library.get(loose_id) is None  # a symlink is no catalog row

    undone = undo(library)

    assert undone.failed == ()
    for path in (loose, twin):
        assert path.exists()
        assert not path.is_symlink()
        assert digest(path) == digest(lora)
    assert _user_data(library, loose_id) == loose_before  # the very same rows (ids) with their own data
    assert _user_data(library, twin_id) == twin_before
    assert _user_data(library, kept_id) == kept_before  # what the merge added is taken back
    assert library.get_by_path(loose) is not None
    assert library.get_by_path(loose).id == loose_id  # type: ignore[union-attr]
    assert len(library.duplicate_groups()) == 1


def test_undo_of_a_resolution_keeps_what_the_user_changed_on_the_kept_file_since(tmp_path: Path) -> None:
    library, lora, loose, _twin = _library(tmp_path)
    kept_id = _id(library, lora)
    library.update_user_data(_id(library, loose), UserDataChanges(rating=3, notes="from the copy"))
    result = apply_dedupe(library, plan_dedupe(library.duplicate_groups(), "hardlink"))
    assert result.done == 2
    library.update_user_data(kept_id, UserDataChanges(rating=1))  # the user rates the kept file since

    undo(library)

    record = library.get(kept_id)
    assert record is not None
    assert record.rating == 1  # the user's later change stays
    assert "from the copy" not in record.notes  # what the merge added goes


def _bare_kept_and_a_copy_with_sidecars(tmp_path: Path) -> tuple[Library, Path, Path]:
    """The kept LoRA (in its kind folder) has no sidecar; a copy in Downloads has a .civitai.info and a
    .preview.png."""
    install, downloads = tmp_path / "webui", tmp_path / "Downloads"
    copy = linked_lora(downloads, name="detail_tweaker (1)")
    kept = install / "models" / "Lora" / "detail_tweaker.safetensors"
    kept.parent.mkdir(parents=True)
    shutil.copy2(copy, kept)
    library = open_hashed_library(tmp_path / "data", downloads)
    library.add_root(install, LibraryLayout.A1111)
    Scanner(library, workers=1).scan()
    from catalog.hashing_job import hash_pending

    hash_pending(library, workers=1)
    return library, kept, copy


def test_trash_moves_the_sidecars_the_kept_file_lacks_beside_it_and_undo_puts_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trash = own_trash(monkeypatch, tmp_path / "xdg")
    library, kept, copy = _bare_kept_and_a_copy_with_sidecars(tmp_path)
    info, preview = (
        copy.with_name("detail_tweaker (1).civitai.info"),
        copy.with_name("detail_tweaker (1).preview.png"),
    )
    info_bytes, preview_bytes = info.read_bytes(), preview.read_bytes()
    kept_id = _id(library, kept)
    assert library.previews(kept_id) == []
    plan = plan_dedupe(library.duplicate_groups(), "trash")
    assert plan.groups[0].keep.path == str(kept)
    assert sorted(Path(m.target).name for m in plan.sidecars) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
    ]
    assert "2 sidecars the kept file lacks move beside it" in plan.summary()

    result = apply_dedupe(library, plan)

    assert (result.done, result.sidecars) == (1, 2)
    assert not copy.exists()
    assert kept.with_name("detail_tweaker.civitai.info").read_bytes() == info_bytes
    assert kept.with_name("detail_tweaker.preview.png").read_bytes() == preview_bytes
    assert not (trash / "files" / info.name).exists()  # not trashed with the copy
    assert [Path(p.path).name for p in library.previews(kept_id)] == ["detail_tweaker.preview.png"]

    undo(library)

    assert copy.exists()
    assert info.read_bytes() == info_bytes
    assert preview.read_bytes() == preview_bytes
    assert not kept.with_name("detail_tweaker.civitai.info").exists()
    assert not kept.with_name("detail_tweaker.preview.png").exists()
    assert library.previews(kept_id) == []
    restored = library.get_by_path(copy)
    assert restored is not None
    assert [Path(p.path).name for p in library.previews(restored.id)] == [preview.name]


def test_a_sidecar_the_kept_file_has_goes_to_the_trash_with_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trash = own_trash(monkeypatch, tmp_path / "xdg")
    library, kept, _copy = _bare_kept_and_a_copy_with_sidecars(tmp_path)
    kept.with_name("detail_tweaker.preview.jpg").write_bytes(b"the kept file's own preview")
    plan = plan_dedupe(library.duplicate_groups(), "trash")

    assert [Path(m.target).name for m in plan.sidecars] == ["detail_tweaker.civitai.info"]
    apply_dedupe(library, plan)

    assert (trash / "files" / "detail_tweaker (1).preview.png").exists()
    assert not kept.with_name("detail_tweaker.preview.png").exists()
    assert kept.with_name("detail_tweaker.preview.jpg").read_bytes() == b"the kept file's own preview"


@pytest.mark.parametrize(
    ("windows", "said"),
    [(True, "refuses a hard link: keep the copy"), (False, "cannot make a hard link at")],
    ids=["windows", "elsewhere"],
)
def test_a_drive_refusing_hard_links_with_einval_is_said_so_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, windows: bool, said: str
) -> None:
    library, lora, loose, _twin = _library(tmp_path)
    bytes_before = digest(loose)
    plan = plan_dedupe(library.duplicate_groups(), "hardlink", keep=[_id(library, lora)])

    def fat_refusal(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EINVAL, "Incorrect function")  # CreateHardLinkW on FAT32 or exFAT

    monkeypatch.setattr(steps, "WINDOWS", windows)
    monkeypatch.setattr(os, "link", fat_refusal)
    result = apply_dedupe(library, plan)

    assert result.done == 0
    assert result.failed
    assert all(said in reason for _path, reason in result.failed), result.failed
    assert digest(loose) == bytes_before
