"""Resolving duplicate groups: keep one file, and trash the others or replace them with links.

The plan comes first, as data both front ends show before anything is touched: which file of each group
is kept, what happens to every other path, what is refused and why, and the bytes freed. Then
:func:`apply_dedupe` carries it out through the organize engine only (``delete_assets``,
``replace_with_link``), after uniting the user's data of the removed rows onto the kept row
(``Library.merge_duplicate_user_data``): nothing the user typed is lost.

Which file is kept by default (the user can choose any other):

1. a file lying in the folder for its kind (a LoRA under ``models/Lora``, a checkpoint under
   ``models/Stable-diffusion``…) before one that is misfiled or loose;
2. then the file the user put the most into (rating, favorite, notes, tags, collections, edits);
3. then the oldest in the library (added first).

Bytes freed: a copy frees its size when every path to it goes (all its hard links in the catalog) and no
link outside the library keeps it alive. A hard link or symlink frees it at once; the trash frees it once
the trash is emptied. A hard link cannot join two disks: such a copy is refused with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.messages import user_message
from app.organize.engine import delete_assets, replace_with_link
from catalog.duplicates import DuplicateFile, DuplicateGroup
from catalog.library import Library
from core.errors import AtelierError
from core.jobs import CancelToken, Progress, ProgressCallback
from core.layouts import kind_hint_for
from core.organize.errors import OrganizeError
from core.sizes import human_size
from core.taxonomy import AssetKind, LibraryLayout

Mode = Literal["trash", "hardlink", "symlink"]
MODES: tuple[Mode, ...] = ("trash", "hardlink", "symlink")
KEEP_RULE = "in the folder for its kind, then most user data, then oldest in the library"


@dataclass(frozen=True, slots=True)
class Removal:
    """One catalog path that goes (trash) or becomes a link to the kept file."""

    asset_id: int
    path: str
    frees: int  # bytes this path's file frees (counted once per file: on its last path)
    file_ids: tuple[int, ...]  # every path of the same file: the bytes go only when all of them go


@dataclass(frozen=True, slots=True)
class Refusal:
    asset_id: int
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class GroupPlan:
    group: DuplicateGroup
    keep: DuplicateFile
    removals: tuple[Removal, ...]
    refusals: tuple[Refusal, ...]

    @property
    def freed_bytes(self) -> int:
        return sum(r.frees for r in self.removals)


@dataclass(frozen=True, slots=True)
class DedupePlan:
    mode: Mode
    groups: tuple[GroupPlan, ...]

    @property
    def freed_bytes(self) -> int:
        return sum(g.freed_bytes for g in self.groups)

    @property
    def removals(self) -> tuple[Removal, ...]:
        return tuple(r for g in self.groups for r in g.removals)

    @property
    def refusals(self) -> tuple[Refusal, ...]:
        return tuple(r for g in self.groups for r in g.refusals)

    @property
    def is_empty(self) -> bool:
        return not self.removals

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
        freed = human_size(self.freed_bytes)
        if self.mode == "trash":
            return f"{files} {what}: frees {freed} once the trash is emptied"
        return f"{files} {what}: frees {freed}"


@dataclass(frozen=True)
class DedupeResult:
    mode: Mode
    done: int
    freed_bytes: int
    failed: tuple[tuple[str, str], ...]
    operation_ids: tuple[int, ...]
    cancelled: bool = False
    refused: tuple[Refusal, ...] = field(default=())


def default_keep(group: DuplicateGroup) -> DuplicateFile:
    """The file kept unless the user chooses another (the rule in the module docstring)."""

    def rank(item: DuplicateFile) -> tuple[int, int, str, int]:
        return (
            0 if any(_in_kind_folder(p.path, p.root_path, p.root_layout, p.kind) for p in item.paths) else 1,
            -sum(p.user_data for p in item.paths),
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
    stat to refuse hard links across disks and to count bytes honestly."""
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
                Removal(p.asset_id, p.path, frees if index == last else 0, item.asset_ids)
                for index, p in enumerate(item.paths)
            )
        plans.append(GroupPlan(group, kept, tuple(removals), tuple(refusals)))
    return DedupePlan(mode, tuple(plans))


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
    """Carry out ``plan`` through the organize engine, user data merged onto each kept row first.

    Trash: one operation for the whole plan (one undo puts every file back). Links: one operation per
    replaced path (the engine links one copy at a time). A path replaced by a symlink leaves the catalog,
    as a scan would (a symlink into the library is never a second row); its data is on the kept row.
    """
    for group_plan in plan.groups:
        if group_plan.removals:
            library.merge_duplicate_user_data(
                group_plan.keep.asset_id, [r.asset_id for r in group_plan.removals]
            )
    if plan.is_empty:
        return DedupeResult(plan.mode, 0, 0, (), (), refused=plan.refusals)
    if plan.mode == "trash":
        result = delete_assets(
            library,
            [r.asset_id for r in plan.removals],
            label=f"Trash {len(plan.removals)} duplicate{'s' if len(plan.removals) != 1 else ''}",
            progress=progress,
            cancel=cancel,
        )
        return DedupeResult(
            plan.mode,
            result.done,
            _freed_by(plan.removals, result.asset_ids),
            result.failed,
            (result.operation_id,),
            result.cancelled,
            plan.refusals,
        )
    return _link_all(library, plan, progress, cancel)


def _freed_by(removals: Sequence[Removal], done_ids: Iterable[int]) -> int:
    """Bytes of the files whose every path was done (a file half-linked still holds its bytes)."""
    done = set(done_ids)
    return sum(r.frees for r in removals if done.issuperset(r.file_ids))


def _link_all(
    library: Library, plan: DedupePlan, progress: ProgressCallback | None, cancel: CancelToken | None
) -> DedupeResult:
    total = len(plan.removals)
    done = 0
    failed: list[tuple[str, str]] = []
    operations: list[int] = []
    done_ids: list[int] = []
    linked: list[int] = []
    cancelled = False
    index = 0
    for group_plan in plan.groups:
        for removal in group_plan.removals:
            if cancel is not None and cancel.cancelled:
                cancelled = True
                break
            if progress is not None:
                progress(Progress(index, total, f"Linking {Path(removal.path).name}"))
            index += 1
            mode: Literal["hardlink", "symlink"] = "symlink" if plan.mode == "symlink" else "hardlink"
            try:
                result = replace_with_link(library, removal.asset_id, group_plan.keep.asset_id, mode=mode)
            except (AtelierError, OSError) as exc:
                failed.append((removal.path, user_message(exc)))
                continue
            operations.append(result.operation_id)
            if result.failed:
                failed.extend(result.failed)
                continue
            done += 1
            done_ids.append(removal.asset_id)
            if mode == "symlink":
                linked.append(removal.asset_id)
    if linked:
        library.remove_assets(linked)
    if progress is not None:
        progress(Progress(total, total, "Done"))
    freed = _freed_by(plan.removals, done_ids)
    return DedupeResult(plan.mode, done, freed, tuple(failed), tuple(operations), cancelled, plan.refusals)
