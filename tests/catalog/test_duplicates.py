"""Duplicate groups on real files: a copy is a duplicate, a hard link and a symlink of one LoRA are not;
near-duplicate hints; the user's data of removed rows united onto the kept row."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.records import RemoteMatch, UserDataChanges
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.factory.safetensors_writer import write_safetensors

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX symlinks and hard links")

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}


def _scan_and_hash(lib: Library) -> None:
    Scanner(lib, workers=1).scan()
    hash_pending(lib, workers=1)


def _one_lora_four_ways(tmp_path: Path) -> tuple[Path, Path, Path, Path, Path]:
    """A LoRA, a copy in another library folder, a hard link and a symlink of it."""
    first, second = tmp_path / "lib", tmp_path / "other-disk-folder"
    lora = write_safetensors(first / "Lora" / "style.safetensors", LORA, seed=7)
    copy = second / "Lora" / "style-copy.safetensors"
    copy.parent.mkdir(parents=True)
    shutil.copy2(lora, copy)
    hard = first / "Lora" / "style-hard.safetensors"
    os.link(lora, hard)
    soft = first / "style-soft.safetensors"
    soft.symlink_to(lora)
    return first, second, lora, copy, hard


def test_a_copy_is_a_duplicate_a_hard_link_and_a_symlink_are_not(lib: Library, tmp_path: Path) -> None:
    first, second, lora, copy, hard = _one_lora_four_ways(tmp_path)
    lib.add_root(first, LibraryLayout.FLAT)
    lib.add_root(second, LibraryLayout.FLAT)
    _scan_and_hash(lib)

    [group] = lib.duplicate_groups()

    size = lora.stat().st_size
    assert group.size == size
    assert group.freeable_bytes == size  # two files (the original with its hard link, and the copy)
    by_path = {f.path: f for f in group.files}
    assert sorted(p.path for f in group.files for p in f.paths) == sorted(map(str, (lora, hard, copy)))
    original = next(f for f in group.files if f.linked)
    assert sorted(p.path for p in original.paths) == sorted([str(lora), str(hard)])
    assert (original.device, original.inode) == (lora.stat().st_dev, lora.stat().st_ino)
    assert not by_path[str(copy)].linked


def test_hard_links_alone_are_no_group(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    lora = write_safetensors(root / "a.safetensors", LORA, seed=1)
    os.link(lora, root / "b.safetensors")
    lib.add_root(root, LibraryLayout.FLAT)
    _scan_and_hash(lib)

    assert lib.duplicate_groups() == []


def test_groups_are_found_among_many_unique_files_and_missing_copies_do_not_count(
    lib: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    for seed in range(6):
        write_safetensors(root / f"unique-{seed}.safetensors", LORA, seed=seed)
    shutil.copy2(root / "unique-0.safetensors", root / "copy-a.safetensors")
    shutil.copy2(root / "unique-0.safetensors", root / "copy-b.safetensors")
    shutil.copy2(root / "unique-1.safetensors", root / "copy-c.safetensors")
    lib.add_root(root, LibraryLayout.FLAT)
    _scan_and_hash(lib)

    groups = lib.duplicate_groups()
    assert [len(g.files) for g in groups] == [3, 2]  # most freeable bytes first
    assert groups[0].freeable_bytes == 2 * groups[0].size

    (root / "copy-c.safetensors").unlink()
    Scanner(lib, workers=1).scan()  # the copy is now missing: nothing to free there
    assert [len(g.files) for g in lib.duplicate_groups()] == [3]


def test_near_duplicate_hints(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    plain = write_safetensors(root / "plain.safetensors", LORA, seed=3)
    values = _tensor_values(plain)
    write_safetensors(root / "retitled.safetensors", LORA, values=values, metadata={"ss_output_name": "x"})
    shutil.copy2(root / "retitled.safetensors", root / "retitled-copy.safetensors")  # a duplicate, not a hint
    v1 = write_safetensors(root / "model-v1.safetensors", LORA, seed=10)
    v1b = write_safetensors(root / "model-v1-fp16.safetensors", LORA, seed=11)
    v2 = write_safetensors(root / "model-v2.safetensors", LORA, seed=12)
    lib.add_root(root, LibraryLayout.FLAT)
    _scan_and_hash(lib)
    for path, version in ((v1, "101"), (v1b, "101"), (v2, "102")):
        record = lib.get_by_path(path)
        assert record is not None
        lib.record_remote_match(
            record.id,
            RemoteMatch("civitai", "55", version, model_name="Inkwash", version_name=f"v{version[-1]}"),
        )

    hints = {(hint.reason, hint.key): hint for hint in lib.near_duplicate_hints()}

    assert [len(g.files) for g in lib.duplicate_groups()] == [2]
    tensors = [hint for (reason, _key), hint in hints.items() if reason == "same_tensors"]
    [tensor_hint] = tensors
    names = sorted(Path(f.path).name for f in tensor_hint.files)  # one file per content
    assert len(names) == 2
    assert names[0] == "plain.safetensors"
    assert names[1].startswith("retitled")
    same_version = hints[("same_version", "55:101")]
    assert sorted(Path(f.path).name for f in same_version.files) == [
        "model-v1-fp16.safetensors",
        "model-v1.safetensors",
    ]
    versions = hints[("model_versions", "55")]
    assert len(versions.files) == 3
    assert "Inkwash: 2 versions" in versions.label


def _tensor_values(path: Path) -> dict[str, object]:
    from safetensors.numpy import load_file

    return dict(load_file(str(path)))


def test_merge_unites_the_users_data_onto_the_kept_row(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    keep_path = write_safetensors(root / "keep.safetensors", LORA, seed=1)
    shutil.copy2(keep_path, root / "drop.safetensors")
    lib.add_root(root, LibraryLayout.FLAT)
    _scan_and_hash(lib)
    keep, drop = lib.get_by_path(keep_path), lib.get_by_path(root / "drop.safetensors")
    assert keep is not None
    assert drop is not None
    lib.update_user_data(keep.id, UserDataChanges(tags=("style",), rating=2, notes="mine"))
    lib.update_user_data(
        drop.id,
        UserDataChanges(
            tags=("ink", "style"), collections=("Favorites",), rating=4, favorite=True, notes="strong at 0.7"
        ),
    )
    lib.record_remote_match(drop.id, RemoteMatch("civitai", "9", "90", model_name="Ink"))

    lib.merge_duplicate_user_data(keep.id, [drop.id])

    merged = lib.get(keep.id)
    assert merged is not None
    assert sorted(merged.tags) == ["ink", "style"]
    assert list(merged.collections) == ["Favorites"]
    assert (merged.rating, merged.favorite) == (4, True)
    assert "mine" in merged.notes
    assert "strong at 0.7" in merged.notes
    assert [link.version_id for link in lib.remote_links(keep.id) if link.site == "civitai"] == ["90"]
