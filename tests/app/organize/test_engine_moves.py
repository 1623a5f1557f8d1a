"""Moves and renames on a real scanned library: the model, its sidecars and previews travel together,
the catalog follows in the same step, conflicts are never applied, nothing is ever overwritten, and a
move to another file system copies, verifies and then removes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.organize.engine import apply_moves, plan_in_library, recent_operations, undo
from app.organize.oplock import operation_lock
from catalog.journal import DONE, FAILED, SKIPPED, UNDONE, NewStep
from catalog.records import UserDataChanges
from catalog.scanner import Scanner
from core.jobs import CancelToken, Progress
from core.organize.errors import OrganizeError
from core.organize.plan import REASON_EXISTS, REASON_TOO_LONG
from tests.app.organize.ops_library import (
    digest,
    linked_lora,
    open_hashed_library,
    open_library,
    write_embedding,
)


def test_move_takes_sidecars_and_previews_and_the_catalog_follows(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root / "incoming")
    (root / "loras").mkdir()
    library = open_hashed_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    library.update_user_data(asset.id, UserDataChanges(display_name="Mine", notes="keep me", rating=5))
    before = digest(model)

    plan = plan_in_library(library, [(asset.id, model, root / "loras" / model.name)])
    result = apply_moves(library, plan)

    target = root / "loras" / model.name
    assert result.done == 1
    assert not result.failed
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    assert not any((root / "incoming").iterdir())
    assert digest(target) == before
    moved = library.get(asset.id)
    assert moved is not None
    assert (moved.path, moved.file_name, moved.display_name, moved.notes, moved.rating) == (
        str(target),
        model.name,
        "Mine",
        "keep me",
        5,
    )
    assert moved.hashes is not None  # same bytes: the hashes stay
    assert [p.path for p in library.previews(asset.id)] == [
        str(target.with_name("detail_tweaker.preview.png"))
    ]
    assert moved.cover_path == str(target.with_name("detail_tweaker.preview.png"))
    assert library.get_by_path(model) is None
    assert recent_operations(library)[0].state == DONE
    rescan = Scanner(library).scan()  # the catalog already says what the disk says
    assert (rescan.new, rescan.changed, rescan.unchanged, rescan.missing) == (0, 0, 1, 0)


def test_rename_changes_every_companion_stem_and_undo_puts_all_back(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None

    plan = plan_in_library(library, [(asset.id, model, model.with_name("Détail — v2.safetensors"))])
    apply_moves(library, plan, kind="rename")

    assert sorted(p.name for p in root.iterdir()) == [
        "Détail — v2.civitai.info",
        "Détail — v2.preview.png",
        "Détail — v2.safetensors",
    ]
    undone = undo(library)
    assert undone.done == 1
    assert sorted(p.name for p in root.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    back = library.get(asset.id)
    assert back is not None
    assert back.path == str(model)
    assert [p.path for p in library.previews(asset.id)] == [str(root / "detail_tweaker.preview.png")]
    operations = recent_operations(library)
    assert [(op.kind, op.state) for op in operations] == [("undo", DONE), ("rename", UNDONE)]
    with pytest.raises(OrganizeError, match="nothing to undo"):
        undo(library)


def test_a_taken_name_is_a_conflict_and_is_never_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root / "a")
    other = linked_lora(root / "b")  # same names in another folder, other bytes? same bytes; mark it
    other.with_name("detail_tweaker.preview.png").write_bytes(b"not the same preview")
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    before = {p: p.read_bytes() for p in (root / "b").iterdir()}

    plan = plan_in_library(library, [(asset.id, model, root / "b" / model.name)])
    assert plan.is_empty
    assert [c.code for c in plan.conflicts] == [REASON_EXISTS]
    result = apply_moves(library, plan)

    assert result.operation_id == 0
    assert {p: p.read_bytes() for p in (root / "b").iterdir()} == before
    assert model.exists()

    renamed = plan_in_library(library, [(asset.id, model, root / "b" / model.name)], rename_conflicts=True)
    apply_moves(library, renamed)
    assert (root / "b" / "detail_tweaker (2).safetensors").exists()
    assert (root / "b" / "detail_tweaker (2).preview.png").exists()
    assert {p: p.read_bytes() for p in (root / "b").iterdir() if p in before} == before


def test_a_file_that_appears_after_planning_is_not_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root / "a")
    (root / "b").mkdir()
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    plan = plan_in_library(library, [(asset.id, model, root / "b" / model.name)])
    intruder = root / "b" / "detail_tweaker.preview.png"
    intruder.write_bytes(b"arrived meanwhile")

    result = apply_moves(library, plan)

    assert result.done == 0
    assert "already exists" in result.failed[0][1]
    assert intruder.read_bytes() == b"arrived meanwhile"
    assert model.exists()  # the model moved first and was put back when its preview could not follow
    assert (model.parent / "detail_tweaker.preview.png").exists()
    assert not (root / "b" / model.name).exists()
    asset_after = library.get(asset.id)
    assert asset_after is not None
    assert asset_after.path == str(model)
    assert recent_operations(library)[0].state == FAILED


def test_a_target_outside_every_library_folder_is_refused_before_anything_moves(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    (tmp_path / "elsewhere").mkdir()
    plan = plan_in_library(library, [(asset.id, model, tmp_path / "elsewhere" / model.name)])

    with pytest.raises(OrganizeError, match="outside every library folder: add it first with `atelier scan"):
        apply_moves(library, plan)
    assert model.exists()
    assert recent_operations(library) == []

    missing = tmp_path / "nonexistent" / "x"
    plan = plan_in_library(library, [(asset.id, model, missing / model.name)])
    with pytest.raises(OrganizeError) as refused:
        apply_moves(library, plan)
    assert str(refused.value) == f"the folder {missing} does not exist (and is not inside a library folder)"
    assert not missing.exists()


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` made unwritable, for root too: chmod for a user, the immutable flag for root."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(folder)], check=False).returncode
    ):
        pytest.skip("running as root without chattr +i: no way to make a folder read-only here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_read_only_destination_fails_with_one_line_and_nothing_is_lost(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root / "a")
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    locked = root / "locked"
    with read_only(locked):
        assert not os.access(locked, os.W_OK)
        plan = plan_in_library(library, [(asset.id, model, locked / model.name)])
        result = apply_moves(library, plan)

    assert result.done == 0
    ((path, reason),) = result.failed
    assert path == str(model)
    assert "\n" not in reason
    assert "permission" in reason.lower() or "not permitted" in reason.lower()
    assert sorted(p.name for p in model.parent.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    still = library.get(asset.id)
    assert still is not None
    assert still.path == str(model)


def test_unicode_spaces_and_255_byte_names(tmp_path: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    # A model name that fits, whose ".civitai.info" companion would be longer than any disk allows.
    stem = "é" * 121  # 242 bytes
    longest = model.with_name(stem + " ab.safetensors")  # 242 + 3 + 12 = 257 > 255
    fits = model.with_name("é" * 100 + " ünïcödé spaced.safetensors")
    assert len(os.fsencode(longest.name)) > 255

    too_long = plan_in_library(library, [(asset.id, model, longest)])
    assert [c.code for c in too_long.conflicts] == [REASON_TOO_LONG]
    limit = "ü" * ((255 - len(".civitai.info")) // 2)  # the longest companion: 255 bytes at most
    exact = plan_in_library(library, [(asset.id, model, model.with_name(limit + ".safetensors"))])
    assert not exact.conflicts
    apply_moves(library, exact)
    assert len(os.fsencode(model.with_name(limit + ".civitai.info").name)) <= 255
    assert model.with_name(limit + ".civitai.info").exists()
    undo(library)

    apply_moves(library, plan_in_library(library, [(asset.id, model, fits)]))
    assert fits.exists()
    assert fits.with_name(fits.stem + ".preview.png").exists()
    moved = library.get(asset.id)
    assert moved is not None
    assert moved.file_name == fits.name


def test_cancel_stops_between_files_and_finishes_a_consistent_operation(tmp_path: Path) -> None:
    root = tmp_path / "models"
    files = [write_embedding(root / f"emb{i}.safetensors", i) for i in range(5)]
    (root / "dest").mkdir()
    library = open_library(tmp_path / "data", root)
    ids = [library.get_by_path(f).id for f in files]  # type: ignore[union-attr]
    cancel = CancelToken()
    reports: list[Progress] = []

    def progress(report: Progress) -> None:
        reports.append(report)
        if report.done == 2:
            cancel.cancel()

    plan = plan_in_library(library, [(i, f, root / "dest" / f.name) for i, f in zip(ids, files, strict=True)])
    result = apply_moves(library, plan, progress=progress, cancel=cancel)

    assert (result.done, result.skipped, result.cancelled) == (3, 2, True)
    assert sorted(p.name for p in (root / "dest").iterdir()) == [
        "emb0.safetensors",
        "emb1.safetensors",
        "emb2.safetensors",
    ]
    steps = library.operation_steps(result.operation_id)
    assert [s.state for s in steps] == [DONE, DONE, DONE, SKIPPED, SKIPPED]
    assert recent_operations(library)[0].state == DONE
    for asset_id in ids:
        record = library.get(asset_id)
        assert record is not None
        assert Path(record.path).exists()
    assert reports[0].total == 5


@pytest.fixture
def other_disk() -> Iterator[Path]:
    """A folder on another file system than the tests' tmp folder (/dev/shm is a tmpfs)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm for a move across file systems")
    folder = shm / f"atelier-test-{uuid.uuid4().hex}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_move_to_another_file_system_copies_verifies_then_removes(tmp_path: Path, other_disk: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root)
    if root.stat().st_dev == other_disk.stat().st_dev:
        pytest.skip("/dev/shm is on the same file system here")
    library = open_hashed_library(tmp_path / "data", root, other_disk)
    asset = library.get_by_path(model)
    assert asset is not None
    before = digest(model)

    result = apply_moves(
        library, plan_in_library(library, [(asset.id, model, other_disk / "far" / model.name)])
    )

    target = other_disk / "far" / model.name
    assert result.done == 1
    assert digest(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    assert not model.exists()
    assert not list(target.parent.glob("*.atelier-part"))
    moved = library.get(asset.id)
    assert moved is not None
    assert moved.root_id == library.root_containing(other_disk)
    assert moved.path == str(target)
    rescan = Scanner(library).scan()  # same size and time, the new inode recorded: nothing to re-read
    assert (rescan.new, rescan.changed, rescan.unchanged, rescan.missing) == (0, 0, 1, 0)
    still = library.get(asset.id)
    assert still is not None
    assert still.hashes == asset.hashes

    undo(library)  # and back across again
    assert digest(model) == before
    assert not target.exists()


def test_a_diffusers_folder_moves_whole_with_its_preview_on_one_disk_and_across(
    tmp_path: Path, other_disk: Path
) -> None:
    from tests.factory.diffusers_configs import write_pipeline
    from tests.factory.files import tiny_png

    root = tmp_path / "models"
    folder = write_pipeline(root / "tiny-sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 32})
    (root / "tiny-sd.preview.png").write_bytes(tiny_png())
    library = open_library(tmp_path / "data", root, other_disk)
    asset = library.get_by_path(folder)
    assert asset is not None
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    apply_moves(library, plan_in_library(library, [(asset.id, folder, root / "pipes" / "renamed-sd")]))
    near = root / "pipes" / "renamed-sd"
    assert sorted(str(p.relative_to(near)) for p in near.rglob("*") if p.is_file()) == files
    assert (root / "pipes" / "renamed-sd.preview.png").exists()

    apply_moves(library, plan_in_library(library, [(asset.id, near, other_disk / "renamed-sd")]))
    far = other_disk / "renamed-sd"
    assert sorted(str(p.relative_to(far)) for p in far.rglob("*") if p.is_file()) == files
    assert (other_disk / "renamed-sd.preview.png").exists()
    assert not near.exists()
    assert not list(other_disk.glob("*.atelier-part"))
    record = library.get(asset.id)
    assert record is not None
    assert (record.path, record.size) == (str(far), asset.size)


def test_a_file_in_a_read_only_folder_is_not_copied_to_another_disk(tmp_path: Path, other_disk: Path) -> None:
    root = tmp_path / "models"
    model = linked_lora(root / "locked")
    library = open_library(tmp_path / "data", root, other_disk)
    asset = library.get_by_path(model)
    assert asset is not None
    plan = plan_in_library(library, [(asset.id, model, other_disk / model.name)])

    with read_only(model.parent):
        result = apply_moves(library, plan)

    assert result.done == 0
    assert "read-only" in result.failed[0][1]
    assert list(other_disk.iterdir()) == []  # no second copy left behind
    assert model.exists()


def test_a_second_operation_waits_for_the_first_and_says_so(tmp_path: Path) -> None:
    import threading

    from app.organize.oplock import operation_lock

    root = tmp_path / "models"
    model = linked_lora(root)
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    plan = plan_in_library(library, [(asset.id, model, root / "sub" / model.name)])
    reports: list[str] = []
    waiting = threading.Event()
    finished: list[int] = []

    def progress(report: Progress) -> None:
        reports.append(report.message)
        if report.message.startswith("Waiting"):
            waiting.set()

    with operation_lock(library.path):  # another operation is running
        worker = threading.Thread(
            target=lambda: finished.append(apply_moves(library, plan, progress=progress).done)
        )
        worker.start()
        assert waiting.wait(10)
        assert model.exists()  # nothing moved while the other operation ran
    worker.join(10)
    assert finished == [1]
    assert reports[0] == "Waiting for another move, delete or organize to finish"
    assert (root / "sub" / model.name).exists()


def test_undo_of_a_named_operation_and_what_cannot_be_undone(tmp_path: Path) -> None:
    root = tmp_path / "models"
    first, second = write_embedding(root / "one.safetensors", 1), write_embedding(root / "two.safetensors", 2)
    library = open_library(tmp_path / "data", root)
    one, two = library.get_by_path(first), library.get_by_path(second)
    assert one is not None
    assert two is not None
    older = apply_moves(library, plan_in_library(library, [(one.id, first, root / "a" / first.name)]))
    apply_moves(library, plan_in_library(library, [(two.id, second, root / "b" / second.name)]))

    undone = undo(library, older.operation_id)  # the older one, the newer stays

    assert first.exists()
    assert (root / "b" / second.name).exists()
    with pytest.raises(OrganizeError, match=f"operation {older.operation_id} is undone"):
        undo(library, older.operation_id)
    with pytest.raises(OrganizeError, match="is an undo itself"):
        undo(library, undone.operation_id)
    with pytest.raises(OrganizeError, match="no operation 999"):
        undo(library, 999)
    undo(library)  # the newest that can be: the second move
    assert second.exists()


def test_an_undo_asks_the_disk_only_until_a_step_can_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An undo goes ahead when any step can start: the check stops at the first that can (a 10,000-file
    undo of files still in place once made an lstat per companion of every file before starting), and an
    undo none of whose steps can start names the first step's reason and counts the others."""
    from app.organize import engine

    root = tmp_path / "models"
    models = [write_embedding(root / f"e{index}.safetensors", index) for index in range(3)]
    library = open_library(tmp_path / "data", root)
    moves = []
    for model in models:
        record = library.get_by_path(model)
        assert record is not None
        moves.append((record.id, model, root / "moved" / model.name))
    apply_moves(library, plan_in_library(library, moves))
    checked: list[str] = []
    cannot_start = engine._cannot_start

    def counted(step: NewStep) -> str | None:
        checked.append(step.source)
        return cannot_start(step)

    monkeypatch.setattr(engine, "_cannot_start", counted)

    (root / "moved" / "e2.safetensors").unlink()  # the newest step, asked first, cannot start
    engine.undo_steps(library)

    assert checked == [str(root / "moved" / "e2.safetensors"), str(root / "moved" / "e1.safetensors")]

    (root / "moved" / "e1.safetensors").unlink()
    (root / "moved" / "e0.safetensors").unlink()
    with pytest.raises(OrganizeError) as refused:
        engine.undo_steps(library)
    assert str(refused.value) == (
        f"none of its 3 files can be put back: {root / 'moved' / 'e2.safetensors'} is no longer there "
        "(moved or deleted since): nothing was put back (and 2 more)"
    )


def test_a_move_planned_before_another_moved_its_files_is_refused_after_waiting(tmp_path: Path) -> None:
    """Two organizes of the same files (the window and a command): the second waits for the first and,
    its files moved meanwhile, is refused with one line before anything is journaled or touched, rather
    than run into "missing" failures and a failed history entry."""
    root = tmp_path / "models"
    model = linked_lora(root / "incoming")
    (root / "loras").mkdir()
    (root / "other").mkdir()
    library = open_library(tmp_path / "data", root)
    asset = library.get_by_path(model)
    assert asset is not None
    plan = plan_in_library(library, [(asset.id, model, root / "loras" / model.name)])
    outcome: list[BaseException | object] = []
    waiting = threading.Event()

    def second() -> None:
        progress = lambda p: waiting.set() if "Waiting" in p.message else None  # noqa: E731
        try:
            outcome.append(apply_moves(library, plan, progress=progress))
        except BaseException as error:
            outcome.append(error)

    with operation_lock(library.path):  # the first organize holds it...
        worker = threading.Thread(target=second)
        worker.start()
        assert waiting.wait(10), "the second operation waits for the first"
        first = plan_in_library(library, [(asset.id, model, root / "other" / model.name)])
        for move in first.moves:  # ...and moves the files (as its own steps would)
            move.source.rename(move.target)
    worker.join(10)

    (refused,) = outcome
    assert isinstance(refused, OrganizeError)
    assert "while this one waited" in str(refused)
    assert "preview it again" in str(refused)
    assert recent_operations(library) == [], "nothing journaled, no failed entry"
    assert not any((root / "loras").iterdir()), "nothing touched"
