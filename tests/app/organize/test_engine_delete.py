"""Deletes go to the system trash (the test's own freedesktop trash) with sidecars and previews; undo
brings back the files and the asset as it was: same id, the user's name, notes, tags, rating, Civitai
link and cover. Duplicates become links only when identical."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from app.organize.engine import delete_assets, recent_operations, replace_with_link, undo
from catalog.journal import DONE, UNDONE
from catalog.records import UserDataChanges
from core.organize.errors import OrganizeError
from tests.app.organize.ops_library import digest, linked_lora, open_hashed_library, own_trash


def test_delete_sends_file_sidecars_and_previews_to_the_trash_and_remembers_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trash = own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    sizes = sum(p.stat().st_size for p in root.iterdir())

    result = delete_assets(library, [asset.id])

    assert (result.done, result.freed_bytes) == (1, sizes)
    assert list(root.iterdir()) == []
    assert sorted(p.name for p in (trash / "files").iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    info = (trash / "info" / "detail_tweaker.safetensors.trashinfo").read_text()
    assert f"Path={model}" in info.replace("%20", " ")
    assert library.get(asset.id) is None
    step = library.operation_steps(result.operation_id)[0]
    assert step.detail["snapshot"]["asset"]["id"] == asset.id
    assert step.detail["snapshot"]["remote_links"][0]["version_id"] == "62833"
    with sqlite3.connect(library.path) as db:
        remembered = db.execute(
            "SELECT file_name, kind, size, sha256, site, model_id, version_id, model_name FROM deleted_files"
        ).fetchall()
    assert asset.hashes is not None
    assert remembered == [
        (
            model.name,
            "lora",
            asset.size,
            asset.hashes.sha256,
            "civitai",
            "58390",
            "62833",
            "Detail Tweaker LoRA",
        )
    ]


def test_undo_of_a_delete_restores_files_and_the_users_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    library.update_user_data(
        asset.id,
        UserDataChanges(
            display_name="My detail LoRA",
            notes="weight 0.6",
            rating=4,
            favorite=True,
            tags=("mine", "detail"),
        ),
    )
    before = library.get(asset.id)
    bytes_before = {p.name: digest(p) for p in root.iterdir()}

    delete_assets(library, [asset.id])
    result = undo(library)

    assert result.done == 1
    assert {p.name: digest(p) for p in root.iterdir()} == bytes_before
    after = library.get(asset.id)
    assert after is not None
    assert before is not None
    assert (after.display_name, after.notes, after.rating, after.favorite, set(after.tags)) == (
        "My detail LoRA",
        "weight 0.6",
        4,
        True,
        set(before.tags),
    )
    assert after.hashes == before.hashes
    assert after.remote_model_name == before.remote_model_name == "Detail Tweaker LoRA"
    assert after.cover_path == str(root / "detail_tweaker.preview.png")
    assert [link.version_id for link in library.remote_links(asset.id)] == ["62833"]
    assert [(op.kind, op.state) for op in recent_operations(library)] == [("undo", DONE), ("delete", UNDONE)]
    with sqlite3.connect(library.path) as db:  # not deleted after all: no longer remembered as deleted
        assert db.execute("SELECT count(*) FROM deleted_files").fetchone() == (0,)


def test_undo_of_a_delete_refuses_to_replace_a_file_that_came_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trash = own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    delete_assets(library, [asset.id])
    model.write_bytes(b"a new file of the same name")
    history = recent_operations(library)

    with pytest.raises(OrganizeError, match="exists again"):
        undo(library)

    assert recent_operations(library) == history, "refused before it ran: no failed undo recorded"
    assert model.read_bytes() == b"a new file of the same name"
    assert (trash / "files" / model.name).exists()


def test_identical_copies_become_hard_links_and_undo_makes_them_copies_again(tmp_path: Path) -> None:
    root = tmp_path / "models"
    kept = linked_lora(root / "a")
    copy = root / "b" / "copy.safetensors"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(kept.read_bytes())
    library = open_hashed_library(tmp_path / "data", root)
    kept_asset, copy_asset = library.get_by_path(kept), library.get_by_path(copy)
    assert kept_asset is not None
    assert copy_asset is not None

    result = replace_with_link(library, copy_asset.id, kept_asset.id, mode="hardlink")

    assert result.done == 1
    assert copy.stat().st_ino == kept.stat().st_ino
    assert not list(copy.parent.glob(".atelier-*"))
    undo(library)
    assert copy.stat().st_ino != kept.stat().st_ino
    assert digest(copy) == digest(kept)


def test_files_that_differ_are_never_linked(tmp_path: Path) -> None:
    root = tmp_path / "models"
    kept = linked_lora(root / "a")
    other = linked_lora(root / "b", "other")
    library = open_hashed_library(tmp_path / "data", root)
    kept_asset, other_asset = library.get_by_path(kept), library.get_by_path(other)
    assert kept_asset is not None
    assert other_asset is not None
    before = digest(other)

    with pytest.raises(OrganizeError, match="differ"):
        replace_with_link(library, other_asset.id, kept_asset.id, mode="symlink")
    assert not other.is_symlink()
    assert digest(other) == before
    assert os.path.lexists(other)


def test_a_diffusers_folder_goes_to_the_trash_whole_and_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.app.organize.ops_library import open_library
    from tests.factory.diffusers_configs import write_pipeline

    trash = own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    folder = write_pipeline(root / "tiny-sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 32})
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(folder)
    assert asset is not None
    files = {str(p.relative_to(folder)): digest(p) for p in folder.rglob("*") if p.is_file()}

    result = delete_assets(library, [asset.id])

    assert result.freed_bytes == sum(
        p.stat().st_size for p in (trash / "files" / "tiny-sd").rglob("*") if p.is_file()
    )
    assert not folder.exists()
    undo(library)
    assert {str(p.relative_to(folder)): digest(p) for p in folder.rglob("*") if p.is_file()} == files
    back = library.get(asset.id)
    assert back is not None
    assert back.path == str(folder)


def test_a_hard_link_across_disks_is_refused_and_the_copy_stays(tmp_path: Path) -> None:
    import shutil
    import uuid

    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no /dev/shm on another file system here")
    other = shm / f"atelier-test-{uuid.uuid4().hex}"
    other.mkdir()
    try:
        root = tmp_path / "models"
        kept = linked_lora(root)
        copy = other / "copy.safetensors"
        copy.write_bytes(kept.read_bytes())
        library = open_hashed_library(tmp_path / "data", root, other)
        kept_asset, copy_asset = library.get_by_path(kept), library.get_by_path(copy)
        assert kept_asset is not None
        assert copy_asset is not None
        inode = copy.stat().st_ino

        result = replace_with_link(library, copy_asset.id, kept_asset.id, mode="hardlink")

        assert result.done == 0
        assert "different disks" in result.failed[0][1]
        assert copy.stat().st_ino == inode
        assert digest(copy) == digest(kept)
        assert not list(other.glob(".atelier-*"))
    finally:
        shutil.rmtree(other, ignore_errors=True)
