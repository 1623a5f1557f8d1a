"""A move plan as data: from -> to for each model and its companions, the conflicts, what stays put.

Moves, renames and the template organizer all plan here first, so the user sees every conflict before a
single file is touched, and the engine (``app.organize.engine``) applies only conflict-free moves. The
planner never looks at the disk itself: ``exists`` (and ``same_file``) are passed in, which keeps it pure
and lets a caller add what the catalog knows (a row still remembered at a path).

A conflict is: a target that already exists (and is not the file itself: a case-only rename on a
case-insensitive disk is not a conflict), two sources going to one target, a companion whose target exists,
a folder moved into itself, a name longer than a file system allows (255 bytes, companions included:
``<stem>.preview.png`` is longer than ``<stem>.safetensors``), or, on Windows without long paths, a full
path longer than Windows allows (``core.windows_paths``; the ``.atelier-part`` copy a move across disks
writes first counted). With ``rename_conflicts`` a taken name becomes ``name (2).ext``, ``name (3).ext``,
... instead; a name or path too long stays a conflict (a number only makes it longer).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.formats.reader import MODEL_EXTENSIONS
from core.organize.companions import companion_files, companion_target
from core.windows_paths import HOW_TO_LIFT, PathLimits, path_length, path_limits

MAX_NAME_BYTES = 255
MAX_NUMBERED = 999
# A move across disks copies to ``<target>.atelier-part`` first (``app.organize.fileops``): the longest
# path a move writes, so the one a path-length check counts.
MOVE_PART_SUFFIX = ".atelier-part"

REASON_EXISTS = "exists"
REASON_TAKEN = "taken"
REASON_INSIDE = "inside"
REASON_TOO_LONG = "too_long"
REASON_PATH_TOO_LONG = "path_too_long"
TOO_LONG_REASONS = (REASON_TOO_LONG, REASON_PATH_TOO_LONG)  # no option helps but a shorter name or path


@dataclass(frozen=True)
class PlannedMove:
    """One model (file or diffusers folder) and its companions, each as (source, target)."""

    asset_id: int | None
    source: Path
    target: Path
    companions: tuple[tuple[Path, Path], ...] = ()

    def pairs(self) -> tuple[tuple[Path, Path], ...]:
        """The model first, then its companions: the order in which they are moved."""
        return ((self.source, self.target), *self.companions)


@dataclass(frozen=True)
class Conflict:
    """A move that cannot be made as asked; ``reason`` is one line for the user (``code`` for programs)."""

    asset_id: int | None
    source: Path
    target: Path
    reason: str
    code: str = REASON_EXISTS


@dataclass(frozen=True)
class MovePlan:
    moves: tuple[PlannedMove, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    unchanged: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Nothing would move."""
        return not self.moves

    @property
    def move_count(self) -> int:
        return len(self.moves)

    @property
    def conflict_count(self) -> int:
        return len(self.conflicts)

    @property
    def file_count(self) -> int:
        """Files and folders that would move, companions included."""
        return sum(1 + len(move.companions) for move in self.moves)


def _same_path_ignoring_case(a: Path, b: Path) -> bool:
    return str(a).casefold() == str(b).casefold()


def name_too_long(path: Path, limit: int = MAX_NAME_BYTES) -> bool:
    """Whether ``path``'s last part is longer than a file system allows (counted in encoded bytes)."""
    return len(os.fsencode(path.name)) > limit


def path_too_long(pairs: Iterable[tuple[Path, Path]], limits: PathLimits) -> str | None:
    """Why the targets of a move's pairs (the model first) pass ``limits``, or None: each counted with
    ``.atelier-part`` after it, as a move across disks writes it; a model that is a folder (a diffusers
    pipeline: no model extension) against the folder limit. Their folder needs no check of its own: a
    file in it is at least 15 characters longer, more than the 12 a folder must leave.

    A length comparison per file, so a plan of thousands of moves costs no more on Windows."""
    for index, (_, target) in enumerate(pairs):
        folder = index == 0 and target.suffix.lower() not in MODEL_EXTENSIONS
        limit = limits.folder if folder else limits.file
        length = path_length(str(target)) + len(MOVE_PART_SUFFIX)
        if length > limit:
            return (
                f"its path would be {length} characters long ({target.name}{MOVE_PART_SUFFIX}, the copy a "
                f"move writes first), more than the {limit} Windows allows"
                f"{' for a folder' if folder else ''}: {HOW_TO_LIFT}, or use a shorter folder, name "
                "or template"
            )
    return None


def numbered(target: Path, number: int) -> Path:
    """``target`` with `` (number)`` before its model extension (a folder: at the end of its name)."""
    suffix = target.suffix if target.suffix.lower() in MODEL_EXTENSIONS else ""
    stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
    return target.with_name(f"{stem} ({number}){suffix}")


def plan_moves(
    requests: Iterable[tuple[int | None, Path, Path]],
    *,
    exists: Callable[[Path], bool],
    companions: Callable[[Path], list[Path]] = companion_files,
    same_file: Callable[[Path, Path], bool] = _same_path_ignoring_case,
    rename_conflicts: bool = False,
) -> MovePlan:
    """Plan ``(asset_id, source, target)`` moves; see the module docstring for what conflicts."""
    moves: list[PlannedMove] = []
    conflicts: list[Conflict] = []
    unchanged: list[int] = []
    claimed: set[str] = set()
    limits = path_limits()

    for asset_id, source, target in requests:
        if source == target:
            if asset_id is not None:
                unchanged.append(asset_id)
            continue
        if str(target).startswith(f"{source}{os.sep}"):  # inside it (as text: 10k plans in 1 s)
            conflicts.append(
                Conflict(asset_id, source, target, f"{target} is inside {source} itself", REASON_INSIDE)
            )
            continue
        found = companions(source)
        attempt = target
        number = 1
        while True:
            pairs = [(source, attempt), *((c, companion_target(c, source, attempt)) for c in found)]
            problem = _problem(pairs, claimed, exists, same_file, limits)
            if problem is None:
                claimed.update(str(to).casefold() for _, to in pairs)
                moves.append(PlannedMove(asset_id, source, attempt, tuple(pairs[1:])))
                break
            code, reason = problem
            number += 1
            if not rename_conflicts or code in TOO_LONG_REASONS or number > MAX_NUMBERED:
                conflicts.append(Conflict(asset_id, source, target, reason, code))
                break
            attempt = numbered(target, number)
    return MovePlan(tuple(moves), tuple(conflicts), tuple(unchanged))


def _problem(
    pairs: list[tuple[Path, Path]],
    claimed: set[str],
    exists: Callable[[Path], bool],
    same_file: Callable[[Path, Path], bool],
    limits: PathLimits | None = None,
) -> tuple[str, str] | None:
    """Why these (source, target) pairs cannot move together, or None."""
    for _, target in pairs:
        if name_too_long(target):
            return REASON_TOO_LONG, f"the name {target.name!r} is longer than {MAX_NAME_BYTES} bytes"
    if limits is not None:
        reason = path_too_long(pairs, limits)
        if reason is not None:
            return REASON_PATH_TOO_LONG, reason
    for source, target in pairs:
        if str(target).casefold() in claimed:
            return REASON_TAKEN, f"another file of this operation goes to {target}"
        if exists(target) and not same_file(source, target):
            return REASON_EXISTS, f"{target} already exists"
    return None
