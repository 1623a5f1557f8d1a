"""Recovery of operations a crash left ``applying``: every state a kill can leave on disk is built for
real (the journal written, then the disk stopped at that point), and ``recover`` (run whenever the app
opens the library) must complete the operation: no file lost, duplicated or separated from its sidecars,
and the catalog matching the disk."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from app.context import AppContext
from app.organize.engine import (
    delete_assets,
    delete_steps,
    move_steps,
    plan_in_library,
    recover,
    undo,
    undo_steps,
)
from app.organize.fileops import part_path
from app.organize.oplock import operation_lock
from catalog.journal import APPLYING, DONE
from catalog.library import Library
from tests.app.organize.ops_library import (
    digest,
    disk_fingerprint,
    fingerprint,
    linked_lora,
    open_hashed_library,
    own_trash,
)


def _journal_move(library: Library, model: Path, target: Path) -> int:
    """Write the operation for moving ``model`` to ``target`` exactly as the engine does, touch nothing."""
    asset = library.get_by_path(model)
    assert asset is not None
    plan = plan_in_library(library, [(asset.id, model, target)])
    operation_id, _ = library.begin_operation("move", "Move 1 file", move_steps(library, plan))
    return operation_id


def _assert_moved(library: Library, root: Path, target: Path, operation_id: int) -> None:
    assert sorted(p.name for p in target.parent.iterdir()) == [
        f"{target.stem}.civitai.info",
        f"{target.stem}.preview.png",
        target.name,
    ]
    asset = library.get_by_path(target)
    assert asset is not None
    assert [p.path for p in library.previews(asset.id)] == [
        str(target.with_name(f"{target.stem}.preview.png"))
    ]
    operation = library.get_operation(operation_id)
    assert operation is not None
    assert operation.state == DONE
    assert operation.summary["recovered"] is True
    assert fingerprint(library) == disk_fingerprint(root)
    assert not list(root.rglob("*.atelier-part"))


@pytest.fixture
def library_with_lora(tmp_path: Path) -> tuple[Library, Path, Path]:
    root = tmp_path / "models"
    model = linked_lora(root / "a")
    (root / "b").mkdir()
    return open_hashed_library(tmp_path / "data", root), root, model


def test_a_crash_before_any_file_moved_is_completed(library_with_lora: tuple[Library, Path, Path]) -> None:
    library, root, model = library_with_lora
    target = root / "b" / model.name
    before = fingerprint(library)
    operation_id = _journal_move(library, model, target)

    results = recover(library)

    assert [(r.operation_id, r.done, r.failed) for r in results] == [(operation_id, 1, ())]
    _assert_moved(library, root, target, operation_id)
    assert fingerprint(library) == before


def test_a_crash_after_the_model_moved_without_its_sidecars_is_completed(
    library_with_lora: tuple[Library, Path, Path],
) -> None:
    library, root, model = library_with_lora
    target = root / "b" / "renamed.safetensors"
    before = fingerprint(library)
    operation_id = _journal_move(library, model, target)
    model.rename(target)  # killed right after the first rename: the sidecars are still at the source

    recover(library)

    _assert_moved(library, root, target, operation_id)
    assert not any((root / "a").iterdir())
    assert fingerprint(library) == before


def test_a_crash_between_link_and_unlink_leaves_no_second_name(
    library_with_lora: tuple[Library, Path, Path],
) -> None:
    library, root, model = library_with_lora
    target = root / "b" / model.name
    operation_id = _journal_move(library, model, target)
    os.link(model, target)  # the no-replace move links first, then unlinks the source: killed between

    recover(library)

    _assert_moved(library, root, target, operation_id)
    assert target.stat().st_nlink == 1


def test_a_second_process_applying_right_now_is_left_alone(
    library_with_lora: tuple[Library, Path, Path],
) -> None:
    library, _root, model = library_with_lora
    operation_id = _journal_move(library, model, model.parent.parent / "b" / model.name)

    with operation_lock(library.path):  # what a running window or CLI holds while it applies
        assert recover(library) == []
    operation = library.get_operation(operation_id)
    assert operation is not None
    assert operation.state == APPLYING
    assert model.exists()


def test_opening_the_library_recovers(tmp_path: Path, library_with_lora: tuple[Library, Path, Path]) -> None:
    library, root, model = library_with_lora
    target = root / "b" / model.name
    operation_id = _journal_move(library, model, target)
    library.close()

    context = AppContext(tmp_path / "data")
    try:
        _assert_moved(context.library, root, target, operation_id)
    finally:
        context.close()


@pytest.fixture
def other_disk() -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm for a move across file systems")
    folder = shm / f"atelier-test-{uuid.uuid4().hex}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_half_written_copy_on_another_disk_is_removed_and_made_again(
    tmp_path: Path, other_disk: Path
) -> None:
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root, other_disk)
    target = other_disk / model.name
    operation_id = _journal_move(library, model, target)
    part_path(target).write_bytes(model.read_bytes()[:1000])  # killed while copying the model

    recover(library)

    assert not part_path(target).exists()
    assert not model.exists()
    assert sorted(p.name for p in other_disk.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    asset = library.get_by_path(target)
    assert asset is not None
    assert asset.hashes is not None
    assert digest(target).upper() == asset.hashes.sha256
    operation = library.get_operation(operation_id)
    assert operation is not None
    assert operation.state == DONE


def test_a_verified_copy_whose_source_was_not_yet_removed_keeps_one_file(
    tmp_path: Path, other_disk: Path
) -> None:
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root, other_disk)
    target = other_disk / model.name
    _journal_move(library, model, target)
    shutil.copy2(model, target)  # killed after the copy was renamed into place, before the source went

    recover(library)

    assert not model.exists()
    assert target.exists()
    assert (other_disk / "detail_tweaker.preview.png").exists()


def test_a_delete_cut_off_after_the_trash_is_recorded_and_undoable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    operation_id, _ = library.begin_operation("delete", "Delete 1 file", delete_steps(library, [asset.id]))
    from send2trash import send2trash

    send2trash(str(model))  # killed after the model went to the trash; its sidecars are still here

    recover(library)

    assert list(root.iterdir()) == []
    assert library.get(asset.id) is None
    operation = library.get_operation(operation_id)
    assert operation is not None
    assert operation.state == DONE
    undo(library)
    assert sorted(p.name for p in root.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    back = library.get(asset.id)
    assert back is not None
    assert back.path == str(model)


def test_nothing_pending_costs_one_query(library_with_lora: tuple[Library, Path, Path]) -> None:
    library, _root, _model = library_with_lora
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = library._db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert recover(library) == []
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1
    assert "organize_operations" in queries[0]


def test_an_undo_of_a_delete_cut_off_midway_is_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    delete = delete_assets(library, [asset.id])
    target, steps = undo_steps(library)
    operation_id, (step,) = library.begin_operation("undo", "Undo", steps, undo_of=target.id)
    trashed = step.detail["trashed"][0]
    Path(trashed["trashed"]).rename(
        model
    )  # killed right after the model came back, its sidecars still trashed
    Path(trashed["info"]).unlink()

    recover(library)

    assert sorted(p.name for p in root.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    back = library.get(asset.id)
    assert back is not None
    assert back.remote_model_name == "Detail Tweaker LoRA"
    states = {op.id: op.state for op in library.recent_operations()}
    assert states == {operation_id: DONE, delete.operation_id: "undone"}


def test_a_delete_recovered_where_its_trash_was_not_found_is_still_undone_from_the_trash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed right after the model and its sidecars went to the trash, before the step was recorded;
    the recovery ran where that trash could not be found (another XDG_DATA_HOME). Undo, back in the
    user's environment, finds each file's ``.trashinfo`` by its original path and restores all three."""
    trash = own_trash(monkeypatch, tmp_path / "xdg")
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    names = sorted(p.name for p in root.iterdir())
    library.begin_operation("delete", "Delete 1 file", delete_steps(library, [asset.id]))
    from send2trash import send2trash

    for path in sorted(root.iterdir()):
        send2trash(str(path))
    own_trash(monkeypatch, tmp_path / "elsewhere")
    recover(library)
    own_trash(monkeypatch, tmp_path / "xdg")

    result = undo(library)

    assert result.failed == ()
    assert sorted(p.name for p in root.iterdir()) == names
    assert not list((trash / "files").iterdir())
    back = library.get(asset.id)
    assert back is not None
    assert back.path == str(model)
