"""Doing one journal step on disk, then marking it done together with its catalog change.

Each action has one function used both to apply a step and to resume it after a crash (``resume``): a
resumed step first looks at what the disk says (the source gone and the target present means the move
was made) and only does what is left. A step that fails midway puts back what it already changed (a
model moved without its sidecars is moved back), then raises: the operation records one line for it and
goes on with the next step.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.organize.fileops import move_path, same_file, settle_move, sha256_of, tree_size
from app.organize.shared_steps import DELETED_ON, deleting_machine, out_of_reach
from app.organize.trash import TrashedFile, locate, restorable, restore, send_to_trash
from catalog.journal import FileState, MovedStep, StepRecord
from catalog.library import Library
from core.organize.errors import OrganizeError

WINDOWS = sys.platform == "win32"  # tests set it to read Windows' refusals on Linux
_ERROR_PRIVILEGE_NOT_HELD = 1314  # a symbolic link outside Developer Mode, for a user not an administrator

LINK_ACTIONS = ("hardlink", "symlink")


def file_state(path: Path) -> FileState:
    """The catalog's view of a file (a folder keeps its stored size: ``size`` None)."""
    try:
        info = path.stat()
    except OSError:
        info = path.lstat()
    size = None if path.is_dir() else info.st_size
    return FileState(str(path), size, info.st_mtime_ns, info.st_ino, info.st_dev)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a finished step leaves to its operation: bytes sent to the trash, or a move whose catalog
    change the operation records with others in one transaction (see ``app.organize.engine``)."""

    freed: int = 0
    moved: MovedStep | None = None


def run_step(library: Library, step: StepRecord, *, resume: bool) -> StepOutcome:
    """Do ``step`` (or what a crash left of it). Every action but a move is marked done here; a move's
    files are in place when this returns, and its :class:`MovedStep` is for the caller to record."""
    if step.action == "move":
        return StepOutcome(moved=move_files(step, resume=resume))
    if step.action == "trash":
        return StepOutcome(freed=_trash(library, step, resume=resume))
    if step.action == "restore":
        _restore(library, step, resume=resume)
    elif step.action in LINK_ACTIONS:
        _link(library, step, resume=resume)
    elif step.action == "unlink":
        _unlink(library, step, resume=resume)
    else:
        raise OrganizeError(f"unknown step {step.action!r} in the journal (written by a newer Atelier?)")
    return StepOutcome()


def move_pairs(step: StepRecord) -> list[tuple[Path, Path]]:
    """The model's (source, target) first, then its companions'."""
    companions = [(Path(a), Path(b)) for a, b in step.detail.get("companions", ())]
    return [(Path(step.source), Path(step.target)), *companions]


def move_files(step: StepRecord, *, resume: bool) -> MovedStep:
    """Move a step's model and companions (all or none: a failure puts back what moved, then raises)."""
    pairs = move_pairs(step)
    done: list[tuple[Path, Path]] = []
    try:
        for index, (src, dst) in enumerate(pairs):
            sha = step.detail.get("sha256") if index == 0 else None
            if index and not os.path.lexists(src) and not (resume and os.path.lexists(dst)):
                continue  # a companion the user removed since the plan: nothing of it to move
            if resume:
                settle_move(src, dst, expected_sha256=sha)
            else:
                move_path(src, dst, expected_sha256=sha)
            done.append((src, dst))
    except BaseException:
        _move_back(done)
        raise
    reverses = step.detail.get("reverses")
    return MovedStep(
        step.id,
        step.asset_id,
        file_state(pairs[0][1]),
        tuple((str(a), str(b)) for a, b in done),
        reverses if isinstance(reverses, int) else None,
    )


def move_back(moved: MovedStep) -> None:
    """Put a moved step's files back where they were (its catalog change could not be written)."""
    _move_back([(Path(a), Path(b)) for a, b in moved.files])


def _move_back(done: list[tuple[Path, Path]]) -> None:
    """Undo the moves of a step that failed midway; a file that cannot go back stays where it is."""
    for src, dst in reversed(done):
        try:
            settle_move(dst, src)
        except (OSError, OrganizeError):
            continue


def _trash(library: Library, step: StepRecord, *, resume: bool) -> int:
    model = Path(step.source)
    files = [model, *(Path(path) for path in step.detail.get("companions", ()))]
    if not resume and not os.path.lexists(model):
        raise OrganizeError(f"{model} is missing: nothing was deleted (rescan its folder)")
    trashed: list[TrashedFile] = []
    freed = 0
    try:
        for path in files:
            if os.path.lexists(path):
                size = tree_size(path)
                entry = send_to_trash(path)
                freed += size
                trashed.append(entry or TrashedFile(str(path), "", ""))
            elif resume and (entry := locate(path)) is not None:
                trashed.append(entry)
                freed += tree_size(Path(entry.trashed))
    except BaseException:
        for entry in reversed(trashed):
            if entry.trashed:
                try:
                    restore(entry)
                except (OSError, OrganizeError):
                    continue
        raise
    library.record_step_trashed(
        step.id,
        step.asset_id,
        {
            "trashed": [entry.to_json() for entry in trashed],
            "bytes": freed,
            DELETED_ON: deleting_machine(library),  # whose trash holds the files (app.organize.shared_steps)
        },
    )
    return freed


def _restore(library: Library, step: StepRecord, *, resume: bool) -> None:
    if not restorable():
        raise OrganizeError("undo of a delete is not available on this system: restore it from the trash")
    left: list[str] = []
    for index, entry in enumerate(_trashed_files(step)):
        try:
            _restore_one(entry, resume=resume)
        except (OSError, OrganizeError) as exc:
            elsewhere = out_of_reach(library, Path(entry.original).name, step.detail)
            if index == 0 and elsewhere is not None and not os.path.lexists(entry.original):
                raise OrganizeError(elsewhere) from exc
            if index == 0:
                raise
            left.append(f"{entry.original}: {exc}")
    model = Path(step.source)
    snapshot: Mapping[str, Any] | None = step.detail.get("snapshot")
    library.record_step_restored(step.id, snapshot, file_state(model), {"left_in_trash": left})


def _trashed_files(step: StepRecord) -> list[TrashedFile]:
    """Where a delete step's files went, the model first: what the delete recorded. When it could not
    record the model (killed right after trashing it, then recovered where that trash was not found),
    an entry without a place for the model and each companion still in the trash: :func:`_restore_one`
    finds its ``.trashinfo`` by the original path. A companion not in the trash had gone before."""
    listed = [TrashedFile.from_json(item) for item in step.detail.get("trashed", ())]
    if listed and listed[0].original == step.source:
        return listed  # the delete recorded the model: its list is the truth (the newest entries)
    recorded = {entry.original: entry for entry in listed if entry.trashed}
    model = recorded.get(step.source) or TrashedFile(step.source, "", "")
    entries = [model]
    for companion in step.detail.get("companions", ()):
        entry = recorded.pop(companion, None)
        if entry is None and locate(Path(companion)) is not None:
            entry = TrashedFile(companion, "", "")
        if entry is not None:
            entries.append(entry)
    recorded.pop(step.source, None)
    return entries + list(recorded.values())


def _restore_one(entry: TrashedFile, *, resume: bool) -> None:
    original = Path(entry.original)
    if entry.trashed and os.path.lexists(entry.trashed):  # "" is no place (Path("") would be ".")
        restore(entry)
    elif resume and os.path.lexists(original):
        return  # restored before the crash
    else:
        found = locate(original)
        if found is None:
            raise OrganizeError(f"{original.name} is no longer in the trash (was it emptied?)")
        restore(found)


def is_link_to(copy: Path, kept: Path, action: str) -> bool:
    """Whether ``copy`` is a ``action`` (hardlink, symlink) link to ``kept``: what a link step made."""
    if action == "symlink":
        return copy.is_symlink() and Path(os.path.realpath(copy)) == Path(os.path.realpath(kept))
    return same_file(copy, kept)


def _link(library: Library, step: StepRecord, *, resume: bool) -> None:
    copy, kept = Path(step.source), Path(step.target)
    temp = copy.with_name(f".atelier-link-{step.id}")
    temp.unlink(missing_ok=True)
    if resume and is_link_to(copy, kept, step.action):
        library.record_step_linked(step.id, step.asset_id, file_state(copy))
        return
    info = copy.lstat()
    if (info.st_size, info.st_mtime_ns) != (step.detail.get("size"), step.detail.get("mtime_ns")):
        raise OrganizeError(f"{copy} changed since it was hashed: rescan it before replacing it")
    try:
        if step.action == "hardlink":
            os.link(kept, temp)
        else:
            temp.symlink_to(kept)
    except OSError as exc:
        raise OrganizeError(_link_refusal(exc, step.action, copy, kept)) from exc
    try:
        temp.replace(copy)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    library.record_step_linked(step.id, step.asset_id, file_state(copy))


def _link_refusal(exc: OSError, action: str, copy: Path, kept: Path) -> str:
    kind = "hard link" if action == "hardlink" else "symbolic link"
    if exc.errno == errno.EXDEV:
        return f"a hard link cannot join {copy.parent} and {kept.parent}: they are on different disks"
    if WINDOWS and getattr(exc, "winerror", None) == _ERROR_PRIVILEGE_NOT_HELD:
        return (
            "Windows makes symbolic links only in Developer Mode or for an administrator: "
            "use a hard link, keep the copy, or send it to the trash"
        )
    refused = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}
    if WINDOWS:
        refused.add(errno.EINVAL)  # FAT32, exFAT and many shares answer CreateHardLinkW so
    if exc.errno in refused:
        return f"the file system of {copy.parent} refuses a {kind}: keep the copy, or send it to the trash"
    return f"cannot make a {kind} at {copy}: {exc.strerror or exc}"


def _give_back_own_attributes(copy: Path, detail: Mapping[str, Any]) -> None:
    """The copy made by an undo has the kept file's permissions and date (``copy2``); the file it stands
    for had its own, recorded in the link step: its modification time, its mode, its owner where this
    user may give it (root). A step journaled before they were recorded leaves the copy as made."""
    mtime_ns = detail.get("mtime_ns")
    if isinstance(mtime_ns, int):
        os.utime(copy, ns=(copy.stat().st_atime_ns, mtime_ns))
    permissions = detail.get("permissions")
    if permissions is None:
        return
    uid, gid = detail.get("uid"), detail.get("gid")
    if hasattr(os, "chown") and uid is not None and gid is not None:
        with contextlib.suppress(OSError):  # only root may give a file away: the mode still comes back
            os.chown(copy, int(uid), int(gid))
    copy.chmod(int(permissions))


def _unlink(library: Library, step: StepRecord, *, resume: bool) -> None:
    """Undo of a link: the link becomes a real copy of the kept file again (verified)."""
    copy, kept = Path(step.source), Path(step.target)
    temp = copy.with_name(f".atelier-copy-{step.id}")
    temp.unlink(missing_ok=True)
    linked = is_link_to(copy, kept, step.detail.get("mode", "hardlink"))
    if resume and not linked:
        library.record_step_linked(step.id, step.asset_id, file_state(copy))
        return
    if not linked:  # the user put another file there since: it is theirs, never replaced
        raise OrganizeError(f"{copy} is no longer a link to {kept}: it was left as it is")
    shutil.copy2(kept, temp)
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    expected = step.detail.get("sha256")
    if expected and sha256_of(temp) != str(expected).upper():
        temp.unlink()
        raise OrganizeError(f"the copy of {kept} read back different: {copy} stays a link")
    _give_back_own_attributes(temp, step.detail)
    temp.replace(copy)
    library.record_step_linked(step.id, step.asset_id, file_state(copy))
