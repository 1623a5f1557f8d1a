"""The operations journal: steps written before the disk is touched, each marked done in the same
transaction as its catalog change (a move, a removal with its snapshot and memory, a restore of the very
same asset), and the crash leftovers found by one indexed query."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import CatalogError
from catalog.journal import APPLYING, DONE, FAILED, PENDING, FileState, NewStep
from catalog.library import Library
from catalog.records import RemoteMatch, UserDataChanges
from tests.catalog.conftest import catalog_rows, hashes_for, scanned


def _asset(lib: Library, root_id: int, path: Path) -> int:
    (asset_id,) = lib.apply_scan_batch(root_id, [scanned(path)])
    return asset_id


def test_an_operation_is_written_with_pending_steps_before_anything_happens(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    asset_id = _asset(lib, root_id, models_dir / "a.safetensors")
    operation_id, steps = lib.begin_operation(
        "move",
        "Move 1 file",
        [NewStep("move", str(models_dir / "a.safetensors"), str(models_dir / "b.safetensors"), asset_id)],
    )
    assert [(s.seq, s.action, s.state, s.asset_id) for s in steps] == [(0, "move", PENDING, asset_id)]
    assert lib.applying_operations() == [operation_id]
    (operation,) = lib.recent_operations()
    assert (operation.state, operation.step_count, operation.done_count) == (APPLYING, 1, 0)


def test_a_move_updates_the_asset_and_its_previews_in_the_step_transaction(
    lib: Library, root_id: int, models_dir: Path, tmp_path: Path
) -> None:
    source = models_dir / "a.safetensors"
    asset_id = _asset(lib, root_id, source)
    lib.set_hashes(asset_id, hashes_for("a"))
    lib.add_preview(asset_id, str(models_dir / "a.preview.png"), "sidecar")
    other_root = lib.add_root(tmp_path / "elsewhere").id
    target = tmp_path / "elsewhere" / "sub" / "b.safetensors"
    operation_id, (step,) = lib.begin_operation(
        "move", "", [NewStep("move", str(source), str(target), asset_id)]
    )

    lib.record_step_moved(
        step.id,
        asset_id,
        FileState(str(target), 1000, 1, 77, 5),
        files=[
            (str(source), str(target)),
            (str(models_dir / "a.preview.png"), str(target.with_name("b.preview.png"))),
        ],
    )
    lib.finish_operation(operation_id, DONE, {"done": 1})

    record = lib.get(asset_id)
    assert record is not None
    assert (record.path, record.file_name, record.root_id) == (str(target), "b.safetensors", other_root)
    assert record.hashes == hashes_for("a")  # same size: the same bytes, the hashes stay
    assert record.cover_path == str(target.with_name("b.preview.png"))
    assert lib.operation_steps(operation_id)[0].state == DONE
    assert lib.applying_operations() == []
    (operation,) = lib.recent_operations()
    assert (operation.state, operation.done_count, operation.finished_at is not None) == (DONE, 1, True)


def test_a_move_onto_a_path_another_row_holds_changes_nothing(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    first = _asset(lib, root_id, models_dir / "a.safetensors")
    _asset(lib, root_id, models_dir / "b.safetensors")
    _, (step,) = lib.begin_operation("move", "", [NewStep("move", "a", "b", first)])

    with pytest.raises(CatalogError):
        lib.record_step_moved(
            step.id, first, FileState(str(models_dir / "b.safetensors"), 1000, 1, 1, 1), files=[]
        )

    record = lib.get(first)
    assert record is not None
    assert record.path == str(models_dir / "a.safetensors")
    assert lib.operation_steps(step.operation_id)[0].state == PENDING  # the step is not done either


def test_a_trashed_asset_is_remembered_and_restored_as_it_was(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    path = models_dir / "lora.safetensors"
    asset_id = _asset(lib, root_id, path)
    lib.set_hashes(asset_id, hashes_for("lora"))
    lib.update_user_data(
        asset_id, UserDataChanges(display_name="Mine", notes="n", rating=3, tags=("t1", "t2"))
    )
    lib.add_preview(asset_id, str(models_dir / "lora.preview.png"), "sidecar")
    lib.record_remote_match(
        asset_id,
        RemoteMatch(site="civitai", model_id="10", version_id="20", model_name="Model", version_name="v2"),
    )
    before = lib.get(asset_id)
    _, (step,) = lib.begin_operation("delete", "", [NewStep("trash", str(path), "", asset_id)])

    lib.record_step_trashed(step.id, asset_id, {"bytes": 1000})

    assert lib.get(asset_id) is None
    done = lib.operation_steps(step.operation_id)[0]
    assert done.detail["bytes"] == 1000
    assert done.detail["snapshot"]["tags"] == ["t1", "t2"]
    assert isinstance(done.detail["deleted_file_id"], int)

    _, (restore,) = lib.begin_operation("undo", "", [NewStep("restore", str(path), str(path), asset_id)])
    restored_id = lib.record_step_restored(
        restore.id, done.detail["snapshot"], FileState(str(path), 1000, 1, 9, 9)
    )

    assert restored_id == asset_id
    after = lib.get(asset_id)
    assert after is not None
    assert before is not None
    assert (after.display_name, after.notes, after.rating, after.tags) == ("Mine", "n", 3, ("t1", "t2"))
    assert after.hashes == before.hashes
    assert after.remote_model_name == "Model"
    assert after.cover_path == str(models_dir / "lora.preview.png")
    assert [(link.model_id, link.version_id) for link in lib.remote_links(asset_id)] == [("10", "20")]
    assert catalog_rows(lib, "SELECT count(*) FROM deleted_files") == [(0,)]  # no longer remembered


def test_a_restored_file_of_another_size_is_read_again_by_the_next_scan(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    """Changed before it was deleted: the recorded stat stays (the next scan sees a changed file and
    reads it again) and the hashes go (they describe the old bytes)."""
    path = models_dir / "x.safetensors"
    asset_id = _asset(lib, root_id, path)
    lib.set_hashes(asset_id, hashes_for("x"))
    _, (step,) = lib.begin_operation("delete", "", [NewStep("trash", str(path), "", asset_id)])
    lib.record_step_trashed(step.id, asset_id)
    snapshot = lib.operation_steps(step.operation_id)[0].detail["snapshot"]
    _, (restore,) = lib.begin_operation("undo", "", [NewStep("restore", str(path), str(path), asset_id)])

    recorded = snapshot["asset"]

    lib.record_step_restored(restore.id, snapshot, FileState(str(path), 2000, 1, 1, 1))

    record = lib.get(asset_id)
    assert record is not None
    assert (record.size, record.mtime_ns, record.hashes) == (recorded["size"], recorded["mtime_ns"], None)
    assert recorded["size"] != 2000


def test_failed_steps_and_operations_keep_their_reason(lib: Library, root_id: int, models_dir: Path) -> None:
    operation_id, (step,) = lib.begin_operation("move", "", [NewStep("move", "a", "b")])
    lib.set_step_state(step.id, FAILED, {"error": "b already exists"})
    lib.finish_operation(operation_id, FAILED, {"failed": [["a", "b already exists"]]})
    (operation,) = lib.recent_operations()
    assert (operation.state, operation.summary["failed"]) == (FAILED, [["a", "b already exists"]])
    assert lib.operation_steps(operation_id)[0].detail == {"error": "b already exists"}
    assert lib.get_operation(operation_id + 1) is None


def test_roots_contain_paths_and_rows_are_found_by_path(
    lib: Library, root_id: int, models_dir: Path, tmp_path: Path
) -> None:
    asset_id = _asset(lib, root_id, models_dir / "a.safetensors")
    assert lib.root_containing(models_dir / "deep" / "x.safetensors") == root_id
    assert lib.root_containing(tmp_path / "outside.safetensors") is None
    assert lib.asset_id_at(models_dir / "a.safetensors") == asset_id
    assert lib.asset_id_at(models_dir / "b.safetensors") is None
