"""The organizing use cases both front ends call: move, rename, delete, link, undo, recover.

Every operation goes the same way: the plan becomes journal steps, committed before the disk is touched
(``Library.begin_operation``); each step is done on disk and marked done in the same transaction as its
catalog change (:mod:`app.organize.steps`); the operation is finished ``done`` (or ``failed``, the
finished steps kept, when some step failed). A crash or a kill at any moment leaves the operation
``applying``; :func:`recover`, called whenever the app opens the library, completes it (or rolls back the
step it cannot complete), so no file is lost, duplicated or separated from its sidecars.

Cancelling stops between steps: the steps not started are marked skipped and the operation is finished,
consistent and undoable like any other. One operation runs at a time per library
(:mod:`app.organize.oplock`), across the window, the CLI and their threads.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.interrupts import report_stopped, stoppable
from app.messages import user_message
from app.organize.fileops import read_only_file_system, same_file
from app.organize.oplock import operation_lock
from app.organize.shared_steps import DELETED_ON, refuse_trash_elsewhere, refuse_unmapped
from app.organize.steps import LINK_ACTIONS, is_link_to, move_back, run_step
from app.organize.trash import locate, restorable
from catalog.journal import (
    DONE,
    FAILED,
    PENDING,
    SKIPPED,
    UNDONE,
    MovedStep,
    NewStep,
    OperationRecord,
    StepRecord,
)
from catalog.library import Library
from core.errors import AtelierError
from core.jobs import CancelToken, Progress, ProgressCallback
from core.layouts import MODEL_FILE_SUFFIXES
from core.organize.companions import companion_files, companion_target, companions_among
from core.organize.errors import OrganizeError
from core.organize.names import refuse_skipped_targets
from core.organize.plan import MovePlan, plan_moves
from core.shell_words import shell_word

_log = logging.getLogger(__name__)
UNDO = "undo"
LinkMode = Literal["hardlink", "symlink"]


@dataclass(frozen=True)
class OperationResult:
    """What an operation did. ``failed`` holds (path, one-line reason) per failed step; ``freed_bytes``
    is what went to the trash; ``moved`` the (from, to) of each finished step."""

    operation_id: int
    kind: str
    done: int
    skipped: int
    failed: tuple[tuple[str, str], ...]
    cancelled: bool
    freed_bytes: int = 0
    moved: tuple[tuple[str, str], ...] = ()
    asset_ids: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()  # what the user should know, e.g. a symlink of theirs that now dangles
    actions: tuple[str, ...] = ()  # the step action of each ``moved`` pair (move, restore, unlink...)


def plan_in_library(
    library: Library, requests: Iterable[tuple[int | None, Path, Path]], *, rename_conflicts: bool = False
) -> MovePlan:
    """:func:`core.organize.plan.plan_moves` against the disk and the catalog: a target is taken when a
    file stands there or the catalog still lists one there (a missing file it remembers).

    Each source folder is listed once for the companions of all its files, and the catalog is asked
    once for every requested target, so a plan of thousands of files costs no more than its listings.
    """
    requests = list(requests)
    listed = library.asset_ids_at([target for _, _, target in requests])
    asked = {str(target) for _, _, target in requests}

    def exists(path: Path) -> bool:
        if os.path.lexists(path):
            return True
        text = str(path)
        if text in asked:
            return text in listed
        # Only model files and folders are catalog rows: a sidecar's name needs no query.
        could_be_row = path.suffix.lower() in MODEL_FILE_SUFFIXES or not path.suffix
        return could_be_row and library.asset_id_at(path) is not None

    def same(source: Path, target: Path) -> bool:
        return same_file(source, target) and str(source).casefold() == str(target).casefold()

    return plan_moves(
        requests,
        exists=exists,
        companions=_FolderListings().companions,
        same_file=same,
        rename_conflicts=rename_conflicts,
    )


def apply_moves(
    library: Library,
    plan: MovePlan,
    *,
    kind: str = "move",
    label: str = "",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> OperationResult:
    """Move each planned model with its companions; the catalog follows in the same step.

    Conflicts in the plan are never applied. Refused as a whole, before anything moves, when a target is
    outside every library folder (OrganizeError saying to add that folder first), or in a folder the next
    scan would not find it in: a hidden one, or one its library folder's tool does not scan
    (``NameRefusedError``, the CLI's exit 2).
    """
    if plan.is_empty:
        return OperationResult(0, kind, 0, 0, (), cancelled=False)
    records = library.roots()
    roots = [Path(root.path) for root in records]
    outside = sorted(
        {
            str(move.target.parent)
            for move in plan.moves
            if not any(move.target.is_relative_to(root) for root in roots)
        }
    )
    if outside:
        if not Path(outside[0]).is_dir():
            raise OrganizeError(
                f"the folder {outside[0]} does not exist (and is not inside a library folder)"
            )
        raise OrganizeError(
            f"{outside[0]} is outside every library folder: add it first with "
            f"`atelier scan {shell_word(str(outside[0]))}`"
        )
    # A hidden folder, or one the root's tool does not scan (A1111's stuff/): the next scan would lose it.
    layouts = {Path(root.path): root.layout for root in records}
    refuse_skipped_targets((move.target for move in plan.moves), roots, layouts)
    steps = move_steps(library, plan)
    return _operation(
        library, kind, label or _label(kind, plan.move_count), steps, progress=progress, cancel=cancel
    )


def delete_assets(
    library: Library,
    asset_ids: Sequence[int],
    *,
    label: str = "",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    companions: bool = True,
) -> OperationResult:
    """Send each asset's file and companions to the system trash; its row goes (remembered in
    ``deleted_files`` and in the journal, so :func:`undo` puts back the file and the user's data).

    ``companions=False`` trashes the model file alone: a converted file keeps the stem, and with it
    the sidecars, which now belong to the new file (app.convert)."""
    steps = delete_steps(library, asset_ids, companions=companions)
    return _operation(
        library, "delete", label or _label("delete", len(steps)), steps, progress=progress, cancel=cancel
    )


def move_steps(library: Library, plan: MovePlan) -> list[NewStep]:
    """The journal steps of a plan: one per model, with its companions and the catalog's SHA256 (which
    a copy to another disk is verified against)."""
    hashes = _sha256_by_id(library, [move.asset_id for move in plan.moves if move.asset_id is not None])
    return [
        NewStep(
            "move",
            str(move.source),
            str(move.target),
            move.asset_id,
            {
                "companions": [[str(a), str(b)] for a, b in move.companions],
                "sha256": hashes.get(move.asset_id) if move.asset_id is not None else None,
                NEW_FOLDERS: _new_folders(move.target),
            },
        )
        for move in plan.moves
    ]


# The folders a move makes for its target (none of them there when it was planned): its undo removes
# those the move back leaves empty, and only those (an organize by template makes hundreds).
NEW_FOLDERS = "new_folders"


def _new_folders(target: Path) -> list[str]:
    """The folders above ``target`` that are not there yet, deepest first."""
    missing: list[str] = []
    folder = target.parent
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(str(folder))
        folder = folder.parent
    return missing


def _remove_new_folders(steps: Sequence[NewStep]) -> None:
    """After an undo: each folder its moves had made, deepest first, when the move back left it empty
    (``rmdir`` removes nothing else: a file the user put there since keeps it)."""
    folders = {folder for step in steps for folder in step.detail.get(NEW_FOLDERS, ())}
    for folder in sorted(folders, key=lambda name: len(Path(name).parts), reverse=True):
        try:
            Path(folder).rmdir()
        except OSError:
            continue  # not empty (a file failed to go back, or was added), or already gone


def delete_steps(library: Library, asset_ids: Sequence[int], *, companions: bool = True) -> list[NewStep]:
    """The journal steps of a delete: one per asset, with the companions that go to the trash with it."""
    records = library.get_many(list(dict.fromkeys(asset_ids)))
    if not records:
        raise OrganizeError("none of these assets is in the library: nothing was deleted")
    return [
        NewStep(
            "trash",
            record.path,
            "",
            record.id,
            {
                "companions": [str(p) for p in companion_files(Path(record.path))] if companions else [],
                "size": record.size,
            },
        )
        for record in records
    ]


def replace_with_link(
    library: Library,
    asset_id: int,
    keep_asset_id: int,
    *,
    mode: LinkMode = "hardlink",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> OperationResult:
    """Replace the file of ``asset_id`` (a copy) by a hard or symbolic link to the file of ``keep_asset_id``.

    Refused unless both are hashed with the same SHA256 and size, and the copy is unchanged since. The
    link is made at a temporary name beside the copy, then renamed over it (atomic); a file system that
    refuses links leaves the copy as it was, with a line saying so.
    """
    step = link_step(library, asset_id, keep_asset_id, mode=mode)
    copy_name, kept_name = Path(step.source).name, Path(step.target).name
    return _operation(
        library,
        "dedupe",
        f"Link {copy_name} to {kept_name}",
        [step],
        progress=progress,
        cancel=cancel,
    )


def link_step(
    library: Library,
    asset_id: int,
    keep_asset_id: int,
    *,
    mode: LinkMode = "hardlink",
    detail: Mapping[str, Any] | None = None,
) -> NewStep:
    """The journal step of :func:`replace_with_link`, checked the same way (``detail`` adds entries, as
    app.organize.dedupe's merge of the user's data)."""
    if mode not in LINK_ACTIONS:
        raise OrganizeError(f"a link is a hardlink or a symlink, not {mode!r}")
    copy, kept = library.get(asset_id), library.get(keep_asset_id)
    if copy is None or kept is None:
        raise OrganizeError(f"no asset with id {asset_id if copy is None else keep_asset_id} in the library")
    if asset_id == keep_asset_id or copy.path == kept.path:
        raise OrganizeError("a file cannot be replaced by a link to itself")
    copy_sha = copy.hashes.sha256 if copy.hashes else None
    kept_sha = kept.hashes.sha256 if kept.hashes else None
    if not copy_sha or not kept_sha:
        raise OrganizeError("both files must be hashed first: run `atelier hash`")
    if copy_sha.upper() != kept_sha.upper() or copy.size != kept.size:
        raise OrganizeError(f"{copy.file_name} and {kept.file_name} differ: only identical files are linked")
    own = {"size": copy.size, "mtime_ns": copy.mtime_ns, "sha256": copy_sha, "mode": mode}
    own.update(_owner(copy.path))
    return NewStep(mode, copy.path, kept.path, copy.id, {**own, **(detail or {})})


# A copy's own permissions and owner, kept in its link step: the link has the kept file's, and the undo
# gives the copy back its own (app.organize.steps._unlink).
PERMISSIONS = ("permissions", "uid", "gid")


def _owner(path: str) -> dict[str, int]:
    try:
        info = os.lstat(path)
    except OSError:
        return {}  # the step itself says the file is missing
    return {"permissions": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}


def run_operation(
    library: Library,
    kind: str,
    label: str,
    steps: list[NewStep],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> OperationResult:
    """Run steps a use case combined (built with :func:`move_steps`, :func:`delete_steps`,
    :func:`link_step`) as ONE operation: one entry in the history, one undo (resolving duplicates:
    sidecars moved to the kept file, then each copy trashed or linked)."""
    return _operation(library, kind, label, steps, progress=progress, cancel=cancel)


def undo(
    library: Library,
    operation_id: int | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> OperationResult:
    """Reverse an operation (None: the newest that can be): moves go back, deleted files come back from
    the trash with their catalog data, links become copies again. Each finished step is reversed once."""
    target, reverse = undo_steps(library, operation_id)
    label = f"Undo: {target.label or target.kind}"
    result = _operation(library, UNDO, label, reverse, progress=progress, cancel=cancel, undo_of=target.id)
    _remove_new_folders(reverse)
    return result


def undo_steps(library: Library, operation_id: int | None = None) -> tuple[OperationRecord, list[NewStep]]:
    """The operation an undo reverses and the journal steps that reverse it, newest step first."""
    target = _undoable(library, operation_id)
    done = [step for step in library.operation_steps(target.id) if step.state == DONE]
    listings = _FolderListings()
    reverse = [_reverse(step, listings.companions) for step in reversed(done)]
    if any(step.action == "restore" for step in reverse) and not restorable():
        raise OrganizeError("undo of a delete is not available on this system: restore it from the trash")
    refuse_unmapped(library, reverse)  # a shared folder this machine never mapped (app.organize.shared_steps)
    refuse_trash_elsewhere(library, reverse)  # a file in another machine's own trash
    _refuse_an_undo_that_cannot_start(reverse)
    return target, reverse


class _FolderListings:
    """The companions of many models, from one listing per folder: a plan (or its undo) of thousands of
    files in a few folders costs no more than its listings."""

    def __init__(self) -> None:
        self._names: dict[Path, set[str]] = {}

    def companions(self, model: Path) -> list[Path]:
        folder = model.parent
        if folder not in self._names:
            try:
                self._names[folder] = {entry.name for entry in folder.iterdir()}
            except OSError:
                self._names[folder] = set()
        return companions_among(model, self._names[folder])


def _refuse_an_undo_that_cannot_start(steps: Sequence[NewStep]) -> None:
    """An undo none of whose steps can start (each file moved or deleted since, or its old place taken
    again) is refused whole, before it is journaled: run, it would print "0 files put back" beside the
    errors and leave one more failed undo in the history at each try. An undo some of whose steps can
    run goes ahead; the others fail with the same words.

    The disk is asked step by step and no further than the first step that can start: a 10,000-file
    undo whose first file is where the journal left it costs one check, not 10,000."""
    first: str | None = None
    for step in steps:
        reason = _cannot_start(step)
        if reason is None:
            return
        first = first or reason
    if first is None:  # no steps
        return
    if len(steps) == 1:
        raise OrganizeError(first)
    raise OrganizeError(
        f"none of its {len(steps)} files can be put back: {first} (and {len(steps) - 1} more)"
    )


def _cannot_start(step: NewStep) -> str | None:
    """Why a step of an undo would fail before changing anything, as the disk says now (None: it may
    run). The same checks the step makes first (app.organize.fileops.move_path, app.organize.trash)."""
    if step.action == "move":
        if not os.path.lexists(step.source):
            return f"{step.source} is no longer there (moved or deleted since): nothing was put back"
        pairs = [
            (step.source, step.target),
            *((str(a), str(b)) for a, b in step.detail.get("companions", ())),
        ]
        for source, target in pairs:
            if (
                os.path.lexists(source)
                and os.path.lexists(target)
                and not same_file(Path(source), Path(target))
            ):
                return f"{target} exists again: nothing was put back (nothing is ever overwritten)"
        return None
    if step.action == "unlink":
        if not os.path.lexists(step.source):
            return f"{step.source} is no longer there (moved or deleted since): nothing was put back"
        if not is_link_to(Path(step.source), Path(step.target), step.detail.get("mode", "hardlink")):
            return f"{step.source} is no longer a link to {step.target}: it was left as it is"
    if step.action == "restore":
        if os.path.lexists(step.source):
            return f"{step.source} exists again: the trashed copy stays in the trash"
        listed = step.detail.get("trashed") or ()
        first = listed[0] if listed and listed[0].get("original") == step.source else {}
        trashed = str(first.get("trashed") or "")
        if not (trashed and os.path.lexists(trashed)) and locate(Path(step.source)) is None:
            return f"{Path(step.source).name} is no longer in the trash (was it emptied?)"
    return None


def recover(library: Library) -> list[OperationResult]:
    """Complete every operation a crash left ``applying`` (rolling back a step that cannot complete).

    Cheap when nothing is pending: one indexed query. An operation running right now in another process
    or thread holds the operation lock and is left alone.
    """
    if not library.applying_operations():
        return []
    results: list[OperationResult] = []
    with operation_lock(library.path, blocking=False) as locked:
        if not locked:
            return []
        for operation_id in library.applying_operations():
            record = library.get_operation(operation_id)
            if record is None:
                continue
            pending = [step for step in library.operation_steps(operation_id) if step.state == PENDING]
            results.append(
                _run(
                    library,
                    record.id,
                    record.kind,
                    pending,
                    progress=None,
                    cancel=None,
                    resume=True,
                    undo_of=record.undo_of,
                )
            )
    return results


def recent_operations(library: Library, limit: int = 20) -> list[OperationRecord]:
    """The newest operations first, with their states and step counts (the CLI's ``history``)."""
    return library.recent_operations(limit)


def undoable_operation(library: Library) -> OperationRecord | None:
    """The operation a plain ``undo`` would reverse, if any (for a menu item's text)."""
    try:
        return _undoable(library, None)
    except OrganizeError:
        return None


# internals --------------------------------------------------------------------------------------------
def _operation(
    library: Library,
    kind: str,
    label: str,
    steps: list[NewStep],
    *,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    undo_of: int | None = None,
) -> OperationResult:
    waited: list[bool] = []

    def waiting() -> None:
        waited.append(True)
        if progress is not None:
            progress(Progress(0, None, "Waiting for another move, delete or organize to finish"))

    token = cancel if cancel is not None else CancelToken()
    with operation_lock(library.path, on_wait=waiting), stoppable(token):
        if waited:
            _refuse_a_plan_overtaken(steps)
        _refuse_a_read_only_disk(steps, kind)
        operation_id, records = library.begin_operation(kind, label, steps, undo_of=undo_of)
        result = _run(
            library,
            operation_id,
            kind,
            records,
            progress=progress,
            cancel=token,
            resume=False,
            undo_of=undo_of,
        )
    if result.cancelled:
        report_stopped(stopped_line(result, len(steps)))
    return result


# The steps that start from a file where it is now (a restore starts from the trash, not its source).
_FROM_A_FILE = frozenset({"move", "trash", *LINK_ACTIONS})


def _refuse_a_plan_overtaken(steps: Sequence[NewStep]) -> None:
    """After waiting for another operation: a plan whose files that one moved, renamed or deleted
    meanwhile is refused whole, before anything is journaled or touched, rather than run step by step
    into "missing" failures (two organizes of the same files, from the window and a command)."""
    gone = [step for step in steps if step.action in _FROM_A_FILE and not os.path.lexists(step.source)]
    if gone:
        raise OrganizeError(
            f"another move, delete or organize changed these files while this one waited "
            f"({len(gone)} of {len(steps)} are no longer where they were planned from, such as "
            f"{gone[0].source}); nothing was done: preview it again"
        )


def _refuse_a_read_only_disk(steps: Sequence[NewStep], kind: str) -> None:
    """A plan every step of which would change a folder on a read-only file system (a share mounted
    read-only, a write-protected card) is refused whole, before it is journaled: run, it would fail file
    by file, say "moved 0 files" with an undo that has nothing to undo, and leave a failed operation in
    the history for each try. A plan only some of whose files are there runs; those fail with the same
    words (``app.organize.trash``, ``app.messages``)."""
    if not steps:
        return
    # Stops at the first step with a writable folder: usually the first (one or two statvfs calls).
    if not all(any(read_only_file_system(folder) for folder in _changed(step)) for step in steps):
        return
    folder = next(folder for folder in _changed(steps[0]) if read_only_file_system(folder))
    raise OrganizeError(
        f"{folder} is on a read-only file system: nothing was {_DONE_WORD.get(kind, 'changed')}. "
        "Mount it writable (or copy the files to a writable library folder) and try again"
    )


_DONE_WORD = {"delete": "deleted", "move": "moved", "organize": "moved", "rename": "renamed", UNDO: "undone"}


def _changed(step: NewStep) -> list[Path]:
    """The folders whose entries a step adds or removes: the source's (a move, a trash) and the target's
    (a move, a link, a restore)."""
    folders = [Path(step.source).parent] if step.action in _FROM_A_FILE else []
    if step.target:
        folders.append(Path(step.target).parent)
    return folders


def stopped_line(result: OperationResult, total: int) -> str:
    """What a stopped operation did, in words: "Stopped: moved 12 of 400 files; `atelier undo` reverses
    them" (or, for an undo, how to put back the rest)."""
    noun = "file" if total == 1 else "files"
    done = _STOPPED_DONE.get(result.kind, "moved {done} of {total} {noun}")
    done = done.format(done=result.done, total=total, noun=noun)
    if result.kind == UNDO:
        return f"Stopped: {done}; run `atelier undo` again to put back the rest"
    if not result.done:
        return f"Stopped: {done}; nothing was changed"
    return f"Stopped: {done}; `atelier undo` reverses {'it' if result.done == 1 else 'them'}"


_STOPPED_DONE = {
    "delete": "sent {done} of {total} {noun} to the trash",
    "dedupe": "resolved {done} of {total} {noun}",
    UNDO: "put back {done} of {total} {noun}",
}


def _run(
    library: Library,
    operation_id: int,
    kind: str,
    steps: list[StepRecord],
    *,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    resume: bool,
    undo_of: int | None,
) -> OperationResult:
    tally = _Tally()
    batch = _MoveBatch(library, tally)
    holders = {} if resume else library.asset_ids_at([s.target for s in steps if s.action == "move"])
    interrupted: BaseException | None = None
    total = len(steps)
    try:
        for index, step in enumerate(steps):
            if not resume and (interrupted is not None or (cancel is not None and cancel.cancelled)):
                tally.cancelled = True
                tally.skip.append(step.id)
                continue
            if progress is not None:
                verb = _VERBS.get(step.action, step.action)
                progress(Progress(index, total, f"{verb} {Path(step.source).name}"))
            if step.action != "move":
                batch.flush()  # the journal stays in step order
            try:
                holder = holders.get(step.target)
                if holder is not None and holder != step.asset_id:
                    raise OrganizeError(
                        f"the library still lists a file at {step.target} (asset {holder}): rescan its folder"
                    )
                outcome = run_step(library, step, resume=resume)
            except KeyboardInterrupt as exc:  # Ctrl+C: this step was put back; stop like a cancel
                interrupted = exc
                tally.cancelled = True
                tally.skip.append(step.id)
                continue
            except (AtelierError, OSError) as exc:
                tally.fail(library, step.id, step.source, user_message(exc))
                continue
            tally.freed += outcome.freed
            if outcome.moved is not None:
                batch.add(step, outcome.moved)
            else:
                tally.finished(step)
                reverses = step.detail.get("reverses")
                if isinstance(reverses, int):
                    library.set_step_state(reverses, UNDONE)
            if batch.due():
                batch.flush()
    finally:
        batch.flush()
        if tally.skip:
            library.set_steps_state(tally.skip, SKIPPED)
    if progress is not None:
        progress(Progress(total, total, "Done"))
    summary: dict[str, Any] = {
        "done": len(tally.moved),
        "skipped": len(tally.skip),
        "failed": [list(item) for item in tally.failed],
        "cancelled": tally.cancelled,
        "freed_bytes": tally.freed,
        "recovered": resume,
    }
    library.finish_operation(operation_id, FAILED if tally.failed else DONE, summary)
    if undo_of is not None:
        _settle_undone(library, undo_of)
    if tally.moved:
        _follow_in_mirrors(library)
    result = OperationResult(
        operation_id,
        kind,
        len(tally.moved),
        len(tally.skip),
        tuple(tally.failed),
        tally.cancelled,
        tally.freed,
        tuple(tally.moved),
        tuple(tally.asset_ids),
        tuple(dangling_links(tally.moved)) if any(s.action == "move" for s in steps) else (),
        tuple(tally.actions),
    )
    if interrupted is not None:
        raise interrupted
    return result


@dataclass
class _Tally:
    """What an operation did so far, for its summary and result."""

    moved: list[tuple[str, str]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    asset_ids: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skip: list[int] = field(default_factory=list)
    freed: int = 0
    cancelled: bool = False

    def finished(self, step: StepRecord) -> None:
        self.moved.append((step.source, step.target))
        self.actions.append(step.action)
        if step.asset_id is not None:
            self.asset_ids.append(step.asset_id)

    def fail(self, library: Library, step_id: int, path: str, reason: str) -> None:
        library.set_step_state(step_id, FAILED, {"error": reason})
        self.failed.append((path, reason))


# A large move records its finished steps together: a transaction per file would cost more than the
# rename itself. A crash before a batch is written leaves those steps pending with their files already
# at the target, which recovery recognises as done (the source gone, the target there).
FLUSH_STEPS = 200
FLUSH_SECONDS = 0.5


class _MoveBatch:
    """Moves whose files are in place, waiting to be written to the catalog in one transaction."""

    def __init__(self, library: Library, tally: _Tally) -> None:
        self._library = library
        self._tally = tally
        self._items: list[tuple[StepRecord, MovedStep]] = []
        self._since = time.monotonic()

    def add(self, step: StepRecord, moved: MovedStep) -> None:
        if not self._items:
            self._since = time.monotonic()
        self._items.append((step, moved))

    def due(self) -> bool:
        return len(self._items) >= FLUSH_STEPS or time.monotonic() - self._since >= FLUSH_SECONDS

    def flush(self) -> None:
        items, self._items = self._items, []
        if not items:
            return
        try:
            self._library.record_steps_moved([moved for _, moved in items])
        except AtelierError:
            for step, moved in items:  # one at a time: only the step the catalog refuses goes back
                try:
                    self._library.record_steps_moved([moved])
                except AtelierError as exc:
                    move_back(moved)
                    self._tally.fail(self._library, step.id, step.source, user_message(exc))
                else:
                    self._tally.finished(step)
            return
        for step, _ in items:
            self._tally.finished(step)


def dangling_links(moved: Sequence[tuple[str, str]]) -> list[str]:
    """One line per symbolic link, in the folder a file was moved out of, that pointed at the file and
    now points at nothing ("the symlink A pointed at B and now dangles: the file is at C").

    The links are the user's own (or another tool's): they are reported, never changed, as Atelier
    changes nothing it did not create. (Mirrors, which Atelier made, follow by themselves.) One listing
    per folder a file left, so a large organize costs no more than its folders.
    """
    sources = {os.path.normpath(source): target for source, target in moved}
    lines: list[str] = []
    for folder in sorted({Path(source).parent for source in sources}):
        try:
            links = sorted(path for path in folder.iterdir() if path.is_symlink())
        except OSError:
            continue
        for link in links:
            try:
                pointed = os.path.normpath(folder / link.readlink())
            except OSError:
                continue
            if pointed in sources and not link.exists():
                now = sources[pointed]
                lines.append(f"the symlink {link} pointed at {pointed} and now dangles: the file is at {now}")
    return lines


def _follow_in_mirrors(library: Library) -> None:
    """The mirrors for other UIs follow at once (see :func:`app.organize.mirror.follow_in_mirrors`)."""
    from app.organize.mirror import follow_in_mirrors

    follow_in_mirrors(library, after="an organize operation")


_VERBS = {
    "move": "Moving",
    "trash": "Sending to the trash",
    "restore": "Restoring",
    "hardlink": "Linking",
    "symlink": "Linking",
    "unlink": "Copying back",
}


def _settle_undone(library: Library, operation_id: int) -> None:
    """An operation whose every finished step was reversed is ``undone``."""
    steps = library.operation_steps(operation_id)
    if steps and not any(step.state == DONE for step in steps):
        library.set_operation_state(operation_id, UNDONE)


def _undoable(library: Library, operation_id: int | None) -> OperationRecord:
    if operation_id is not None:
        record = library.get_operation(operation_id)
        if record is None:
            raise OrganizeError(f"no operation {operation_id} (see `atelier history`)")
        if record.kind == UNDO:
            raise OrganizeError(f"operation {operation_id} is an undo itself: it cannot be undone")
        if record.state not in (DONE, FAILED) or not record.done_count:
            raise OrganizeError(f"operation {operation_id} is {record.state}: there is nothing of it to undo")
        return record
    for record in library.recent_operations(limit=200):
        if record.kind != UNDO and record.state in (DONE, FAILED) and record.done_count:
            return record
    raise OrganizeError("there is nothing to undo")


def _reverse(step: StepRecord, companions: Callable[[Path], list[Path]]) -> NewStep:
    """The step that takes ``step`` back. ``companions`` lists the files beside a model now (one listing
    per folder for a whole undo: :class:`_FolderListings`), so a sidecar written since goes back too."""
    detail: dict[str, Any] = {"reverses": step.id}
    if step.action == "move":
        detail["companions"] = _companions_back(step, companions)
        detail["sha256"] = step.detail.get("sha256")
        detail[NEW_FOLDERS] = step.detail.get(NEW_FOLDERS, [])  # the folders the move made, for undo
        return NewStep("move", step.target, step.source, step.asset_id, detail)
    if step.action == "trash":
        detail["trashed"] = step.detail.get("trashed", [])
        detail["companions"] = step.detail.get("companions", [])
        detail["snapshot"] = step.detail.get("snapshot")
        detail[DELETED_ON] = step.detail.get(DELETED_ON)
        if "merged" in step.detail:  # a duplicate: the kept file gives back its user data
            detail["merged"] = step.detail["merged"]
        return NewStep("restore", step.source, step.source, step.asset_id, detail)
    if step.action in LINK_ACTIONS:
        detail.update(sha256=step.detail.get("sha256"), mode=step.action)
        # A duplicate's row and user data come back (catalog.journal), the copy with its own permissions
        # and date (its date decides which copy a later `dupes` keeps: the oldest).
        for key in ("snapshot", "merged", "mtime_ns", *PERMISSIONS):
            if key in step.detail:
                detail[key] = step.detail[key]
        return NewStep("unlink", step.source, step.target, step.asset_id, detail)
    raise OrganizeError(f"a {step.action} step cannot be undone")


def _companions_back(step: StepRecord, companions: Callable[[Path], list[Path]]) -> list[list[str]]:
    """The (now, back) pairs of a move's companions for its undo: those it moved, and those beside the
    model now that it did not (a sidecar written since: ``sidecars write``, A1111's ``<name>.json``),
    each back to the old folder under the old stem, as the move itself named them
    (:func:`core.organize.companions.companion_target`). A taken place fails the step like any other."""
    pairs = [[str(b), str(a)] for a, b in step.detail.get("companions", ())]
    if step.asset_id is None:
        return pairs  # not a model (a duplicate's sidecar moved beside the kept file): nothing follows it
    moved = {now for now, _ in pairs}
    model_now, model_back = Path(step.target), Path(step.source)
    for companion in companions(model_now):
        if str(companion) not in moved:
            pairs.append([str(companion), str(companion_target(companion, model_now, model_back))])
    return pairs


def _sha256_by_id(library: Library, asset_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(asset_ids), 500):
        for record in library.get_many(asset_ids[start : start + 500]):
            if record.hashes is not None and record.hashes.sha256:
                found[record.id] = record.hashes.sha256
    return found


def _label(kind: str, count: int) -> str:
    noun = "file" if count == 1 else "files"
    return f"{kind.capitalize()} {count} {noun}"
