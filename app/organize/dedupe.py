"""Resolving duplicate groups: keep one file, and trash the others or replace them with links.

The plan comes first, as data both front ends show before anything is touched: which file of each group
is kept, what happens to every other path, which sidecars move to the kept file, what is refused and why,
and the bytes freed. Then :func:`apply_dedupe` carries it out through the organize engine only, as ONE
operation (one entry in the history, one undo): each copy's user data is united onto the kept row in the
journal step that trashes or links the copy (what the merge changed is kept in that step, so an undo gives
it back and the copy's own row returns, same id, with its own data).

Which file is kept by default (the user can choose any other):

1. a file lying in the folder for its kind (a LoRA under ``models/Lora``, a checkpoint under
   ``models/Stable-diffusion``…) before one that is misfiled or loose;
2. then the file the user put the most into (rating, favorite, notes, tags, collections, edits);
3. then the oldest file (modified first: the date ``dupes`` lists beside each file), then the one added to
   the library first.

A hard link makes the copy the kept file itself, permissions and owner included: a copy whose own differ
is refused for ``hardlink`` (the line says so: make them alike, or use symlink or trash), so linking never
opens a private file to others or locks a shared one. An undo of a link (hard or symbolic) gives each copy
back its own permissions, and its owner where the user may (root).

Sidecars (trash only): a copy's ``.civitai.info``, ``.json``, preview… of a kind the kept file lacks is
moved beside the kept file, renamed to its stem, instead of going to the trash with the copy: the UIs that
read them keep the preview and activation text.

Bytes: the bytes *in copies* are each removed file's size; the bytes *freed* leave out a file that a link
outside the library (a mirror, another folder) keeps alive. A hard link or symlink frees them at once; the
trash once the trash is emptied. A hard link cannot join two disks: such a copy is refused with the reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.messages import user_message
from app.organize.engine import delete_steps, link_step, run_operation
from catalog.duplicates import DuplicateFile, DuplicateGroup
from catalog.journal import NewStep
from catalog.library import Library
from core.errors import AtelierError
from core.formats.sidecars import PREVIEW_EXTENSIONS, sidecar_stem
from core.jobs import CancelToken, ProgressCallback
from core.layouts import kind_hint_for
from core.organize.companions import CONFIG_SUFFIXES, companion_files, companion_target
from core.organize.errors import OrganizeError
from core.sizes import human_size
from core.taxonomy import AssetKind, LibraryLayout

Mode = Literal["trash", "hardlink", "symlink"]
MODES: tuple[Mode, ...] = ("trash", "hardlink", "symlink")
KEEP_RULE = "in the folder for its kind, then most user data, then the oldest file"


@dataclass(frozen=True, slots=True)
class Removal:
    """One catalog path that goes (trash) or becomes a link to the kept file."""

    asset_id: int
    path: str
    frees: int  # bytes this path's file frees (counted once per file: on its last path)
    file_ids: tuple[int, ...]  # every path of the same file: the bytes go only when all of them go
    copied: int = 0  # the file's size, counted once per file (on its last path), freed or not


@dataclass(frozen=True, slots=True)
class Refusal:
    asset_id: int
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class SidecarMove:
    """A copy's sidecar of a kind the kept file lacks: it moves beside the kept file, to its stem."""

    asset_id: int  # the copy it belonged to
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class GroupPlan:
    group: DuplicateGroup
    keep: DuplicateFile
    removals: tuple[Removal, ...]
    refusals: tuple[Refusal, ...]
    sidecars: tuple[SidecarMove, ...] = ()

    @property
    def freed_bytes(self) -> int:
        return sum(r.frees for r in self.removals)

    @property
    def copies_bytes(self) -> int:
        return sum(r.copied for r in self.removals)

    def bytes_text(self, *, short: bool = False) -> str:
        return bytes_text(self.copies_bytes, self.freed_bytes, short=short)


@dataclass(frozen=True, slots=True)
class DedupePlan:
    mode: Mode
    groups: tuple[GroupPlan, ...]

    @property
    def freed_bytes(self) -> int:
        return sum(g.freed_bytes for g in self.groups)

    @property
    def copies_bytes(self) -> int:
        """The bytes in the copies the plan removes, freed or not (see :func:`bytes_text`)."""
        return sum(g.copies_bytes for g in self.groups)

    @property
    def removals(self) -> tuple[Removal, ...]:
        return tuple(r for g in self.groups for r in g.removals)

    @property
    def refusals(self) -> tuple[Refusal, ...]:
        return tuple(r for g in self.groups for r in g.refusals)

    @property
    def sidecars(self) -> tuple[SidecarMove, ...]:
        return tuple(m for g in self.groups for m in g.sidecars)

    @property
    def is_empty(self) -> bool:
        return not self.removals

    def bytes_text(self, *, short: bool = False) -> str:
        """The one figure every screen shows for this plan (list header, group line, confirmation)."""
        return bytes_text(self.copies_bytes, self.freed_bytes, short=short)

    def summary(self) -> str:
        """One line for the confirmation: what happens and what it frees, said before it runs."""
        count = len(self.removals)
        groups = len([g for g in self.groups if g.removals])
        what = {
            "trash": "to the trash",
            "hardlink": "to become hard links",
            "symlink": "to become symbolic links",
        }[self.mode]
        files = f"{count} path{'s' if count != 1 else ''} in {groups} group{'s' if groups != 1 else ''}"
        when = " once the trash is emptied" if self.mode == "trash" else ""
        freed = f"frees {human_size(self.freed_bytes)}{when}"
        if self.copies_bytes != self.freed_bytes:
            freed = f"{human_size(self.copies_bytes)} in copies; {freed}, {_held_elsewhere(self.freed_bytes)}"
        sidecars = len(self.sidecars)
        moved = (
            f"; {sidecars} sidecar{'s' if sidecars != 1 else ''} the kept file lacks "
            f"move{'s' if sidecars == 1 else ''} beside it"
            if sidecars
            else ""
        )
        return f"{files} {what}: {freed}{moved}"


def bytes_text(copies: int, freed: int, *, short: bool = False) -> str:
    """ "9.2 MiB freeable", or, where links outside the library keep copies alive, both figures and why:
    "9.2 MiB in copies; 0 B freeable, because each is also hard-linked outside the library (…)" (``short``:
    the two figures alone, for a group's line or a menu entry, the reason in their tooltip)."""
    if copies == freed:
        return f"{human_size(freed)} freeable"
    if short:
        return f"{human_size(copies)} in copies, {human_size(freed)} freeable"
    return f"{human_size(copies)} in copies; {human_size(freed)} freeable, {_held_elsewhere(freed)}"


def _held_elsewhere(freed: int) -> str:
    who = "each copy is" if freed == 0 else "some copies are"
    return f"because {who} also hard-linked outside the library (a mirror or another folder)"


@dataclass(frozen=True)
class DedupeResult:
    mode: Mode
    done: int
    freed_bytes: int
    failed: tuple[tuple[str, str], ...]
    operation_ids: tuple[int, ...]
    cancelled: bool = False
    refused: tuple[Refusal, ...] = field(default=())
    sidecars: int = 0  # sidecars moved beside the kept files


def default_keep(group: DuplicateGroup) -> DuplicateFile:
    """The file kept unless the user chooses another (the rule in the module docstring)."""

    def rank(item: DuplicateFile) -> tuple[int, int, int, str, int]:
        return (
            0 if any(_in_kind_folder(p.path, p.root_path, p.root_layout, p.kind) for p in item.paths) else 1,
            -sum(p.user_data for p in item.paths),
            min(p.mtime_ns for p in item.paths),  # the oldest file, by the date the list shows
            min(p.added_at for p in item.paths),
            min(item.asset_ids),
        )

    return min(group.files, key=rank)


def _in_kind_folder(path: str, root: str | None, layout: str | None, kind: str) -> bool:
    if root is None or layout is None or kind == AssetKind.UNKNOWN.value:
        return False
    try:
        hint = kind_hint_for(Path(root), LibraryLayout(layout), Path(path))
    except ValueError:
        return False
    return hint is not None and hint.value == kind


def plan_dedupe(groups: Iterable[DuplicateGroup], mode: Mode, *, keep: Iterable[int] = ()) -> DedupePlan:
    """Plan keeping one file per group (an asset id of ``keep`` names the group's kept file, else
    :func:`default_keep`) and removing or linking the other files' paths. Reads each file's live
    stat to refuse hard links across disks and to count bytes honestly, and (trash) lists the copies'
    sidecars that move beside the kept file."""
    if mode not in MODES:
        raise OrganizeError(f"a duplicate is resolved by trash, hardlink or symlink, not {mode!r}")
    chosen = set(keep)
    plans = []
    for group in groups:
        kept = next((f for f in group.files if chosen & set(f.asset_ids)), None) or default_keep(group)
        kept_stat = _stat(kept.path)
        removals: list[Removal] = []
        refusals: list[Refusal] = []
        for item in group.files:
            if item is kept:
                continue
            reason = _refusal(item, kept, kept_stat, mode)
            if reason is not None:
                refusals.extend(Refusal(p.asset_id, p.path, reason) for p in item.paths)
                continue
            frees = _frees(item)
            last = len(item.paths) - 1
            removals.extend(
                Removal(
                    p.asset_id,
                    p.path,
                    frees if index == last else 0,
                    item.asset_ids,
                    item.size if index == last else 0,
                )
                for index, p in enumerate(item.paths)
            )
        sidecars = _sidecar_moves(kept, removals) if mode == "trash" and removals else ()
        plans.append(GroupPlan(group, kept, tuple(removals), tuple(refusals), sidecars))
    return DedupePlan(mode, tuple(plans))


def _sidecar_moves(kept: DuplicateFile, removals: Sequence[Removal]) -> tuple[SidecarMove, ...]:
    """Each kind of sidecar the kept file lacks, taken from the first copy that has one."""
    kept_path = Path(kept.path)
    have = {_sidecar_kind(c, kept_path) for c in companion_files(kept_path)}
    moves: list[SidecarMove] = []
    for removal in removals:
        source = Path(removal.path)
        for companion in companion_files(source):
            kind = _sidecar_kind(companion, source)
            target = companion_target(companion, source, kept_path)
            if kind in have or os.path.lexists(target):
                continue
            have.add(kind)
            moves.append(SidecarMove(removal.asset_id, str(companion), str(target)))
    return tuple(moves)


def _sidecar_kind(companion: Path, model: Path) -> str:
    """What a sidecar is, by its ending: any preview image is one kind (a kept ``.preview.jpg`` needs no
    copy's ``.png``), the configs ``.yaml``/``.yml`` are one, every other ending is its own."""
    stem = sidecar_stem(model)
    ending = companion.name[len(stem) :].lower() if companion.name.startswith(stem) else companion.name
    if ending.removeprefix(".preview") in PREVIEW_EXTENSIONS:
        return "preview"
    return "config" if ending in CONFIG_SUFFIXES else ending


def _stat(path: str) -> os.stat_result | None:
    try:
        return Path(path).stat()
    except OSError:
        return None


def _refusal(
    item: DuplicateFile, kept: DuplicateFile, kept_stat: os.stat_result | None, mode: Mode
) -> str | None:
    if kept_stat is None:
        return f"the file to keep, {kept.path}, is not on disk: rescan first"
    copy_stat = _stat(item.path)
    if copy_stat is None:
        return "not on disk any more: rescan first"
    if (copy_stat.st_dev, copy_stat.st_ino) == (kept_stat.st_dev, kept_stat.st_ino):
        return "already the same file as the kept one (a link): nothing to free"
    if mode == "hardlink" and copy_stat.st_dev != kept_stat.st_dev:
        return f"on another disk than {kept.path}: a hard link cannot cross disks (use symlink or trash)"
    if mode == "hardlink":
        return _other_permissions(copy_stat, kept_stat, kept.path)
    return None


def _other_permissions(copy: os.stat_result, kept: os.stat_result, kept_path: str) -> str | None:
    """A hard link is one file: the copy would take the kept file's permissions and owner, so a copy
    whose own differ (readable by others where the kept one is private, or the reverse) is not linked."""
    own, theirs = stat.S_IMODE(copy.st_mode), stat.S_IMODE(kept.st_mode)
    if own != theirs:
        return (
            f"its permissions ({own:03o}) differ from those of {kept_path} ({theirs:03o}): a hard link would "
            "give it the kept file's; make them alike (chmod), or use symlink or trash"
        )
    if (copy.st_uid, copy.st_gid) != (kept.st_uid, kept.st_gid):
        return (
            f"its owner differs from that of {kept_path}: a hard link would give it the kept file's owner; "
            "make them alike (chown), or use symlink or trash"
        )
    return None


def _frees(item: DuplicateFile) -> int:
    """The file's size, unless a link outside the library keeps it alive (then nothing is freed)."""
    copy_stat = _stat(item.path)
    if copy_stat is not None and copy_stat.st_nlink > len(item.paths):
        return 0
    return item.size


def apply_dedupe(
    library: Library,
    plan: DedupePlan,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> DedupeResult:
    """Carry out ``plan`` through the organize engine as one operation (one undo puts it all back).

    Trash: the sidecars the kept files lack move beside them first, then each copy goes to the trash
    with its other companions. Links: each copy is replaced by a link to the kept file; a symlink is no
    catalog row (a scan never makes one), so its row leaves in the same journal step, kept for the undo.
    Every step unites the copy's user data onto the kept row (and its undo takes it back).
    """
    if plan.is_empty:
        return DedupeResult(plan.mode, 0, 0, (), (), refused=plan.refusals)
    steps: list[NewStep] = []
    failed: list[tuple[str, str]] = []
    for group_plan in plan.groups:
        keep = group_plan.keep.asset_id
        if plan.mode == "trash":
            steps += _trash_steps(library, group_plan)
            continue
        mode: Literal["hardlink", "symlink"] = "symlink" if plan.mode == "symlink" else "hardlink"
        extra: dict[str, Any] = {"merge": {"keep": keep}, **({"drop_row": True} if mode == "symlink" else {})}
        for removal in group_plan.removals:
            try:
                steps.append(link_step(library, removal.asset_id, keep, mode=mode, detail=extra))
            except AtelierError as exc:
                failed.append((removal.path, user_message(exc)))
    if not steps:
        return DedupeResult(plan.mode, 0, 0, tuple(failed), (), refused=plan.refusals)
    result = run_operation(library, "dedupe", _label(plan), steps, progress=progress, cancel=cancel)
    removed = {r.asset_id for r in plan.removals}
    done_ids = [asset_id for asset_id in result.asset_ids if asset_id in removed]
    moved = {m.source for m in plan.sidecars}
    return DedupeResult(
        plan.mode,
        len(done_ids),
        _freed_by(plan.removals, done_ids),
        (*failed, *result.failed),
        (result.operation_id,),
        result.cancelled,
        plan.refusals,
        len([source for source, _target in result.moved if source in moved]),
    )


def _trash_steps(library: Library, group_plan: GroupPlan) -> list[NewStep]:
    """The sidecar moves, then each copy to the trash with the companions that do not move."""
    keep = group_plan.keep.asset_id
    moves = [
        NewStep("move", m.source, m.target, None, {"companions": [], "sha256": None})
        for m in group_plan.sidecars
    ]
    adopted: dict[int, dict[str, str]] = {}
    for m in group_plan.sidecars:
        adopted.setdefault(m.asset_id, {})[m.source] = m.target
    trash = delete_steps(library, [r.asset_id for r in group_plan.removals])
    moving = {m.source for m in group_plan.sidecars}
    steps = []
    for step in trash:
        detail = dict(step.detail)
        detail["companions"] = [c for c in detail.get("companions", ()) if c not in moving]
        detail["merge"] = {"keep": keep, "adopt": adopted.get(step.asset_id or 0, {})}
        steps.append(replace(step, detail=detail))
    return [*moves, *steps]


def _label(plan: DedupePlan) -> str:
    count = len(plan.removals)
    copies = f"{count} duplicate{'s' if count != 1 else ''}"
    return {
        "trash": f"Trash {copies}",
        "hardlink": f"Replace {copies} by hard links",
        "symlink": f"Replace {copies} by symbolic links",
    }[plan.mode]


def _freed_by(removals: Sequence[Removal], done_ids: Iterable[int]) -> int:
    """Bytes of the files whose every path was done (a file half-linked still holds its bytes)."""
    done = set(done_ids)
    return sum(r.frees for r in removals if done.issuperset(r.file_ids))
