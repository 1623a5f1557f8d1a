"""Share the library with other UIs: make, sync and remove mirrors (both front ends call these).

A mirror is a folder in A1111/Forge, ComfyUI or InvokeAI layout holding symlinks, hard links or copies of
the library's files with their sidecars and previews. ``core.organize.mirror_plan`` decides what goes
where and what a sync changes; this module looks at the disk, applies the plan and records each entry in
the catalog *before* making it, so that only entries Atelier made are ever replaced or removed.

Safety rules, each one a past failure of another tool:

* A mirror folder inside a library folder, holding one, or a link into one, is refused: the library
  would catalog its own mirror (every file doubled) or the mirror would write into the library.
* A folder inside the mirror that turns out to be a link into the library (the way Stability Matrix
  shares folders) is left alone: its files are already there, and deleting "our" entries through it
  would delete library files.
* Entries are made file by file inside real folders; a folder is never replaced by a link, and nothing
  that is not exactly what Atelier made is replaced or deleted.
* Links fall back where a file system refuses them (exFAT, FAT32, network shares): symlink, then hard
  link (same device only), then copy, and the report says so. Copies are written to a temporary name,
  checked by size and renamed into place.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from app.messages import user_message
from app.organize.mirror_fingerprint import mirror_fingerprint
from app.organize.mirror_reach import HeldFolders, entries_kept, out_of_reach, without_wrong_mappings
from catalog.library import Library
from catalog.mirrors import MirrorRecord, SharedFile
from catalog.records import RootRecord
from core.download_names import partial_path
from core.errors import AtelierError
from core.formats.sidecars import sidecar_stem
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.layouts import KIND_FOLDERS, folder_for
from core.organize.companions import companions_among
from core.organize.errors import OrganizeError
from core.organize.mirror_plan import (
    MISSING,
    DiskEntry,
    DiskKind,
    FileIdentity,
    MirrorLayout,
    MirrorMode,
    MirrorSource,
    MirrorUI,
    RecordedEntry,
    SyncAction,
    SyncPlan,
    SyncStep,
    plan_layout,
    plan_sync,
)
from core.taxonomy import Architecture, AssetKind, LibraryLayout
from core.wording import counted

_log = logging.getLogger(__name__)
LinkFunction = Callable[[Path, Path], None]  # (existing file, new entry)
PART_SUFFIX = ".atelier-part"
_BATCH = 256  # entries recorded per catalog transaction
_MODE_WORDS = {MirrorMode.SYMLINK: "symlinks", MirrorMode.HARDLINK: "hard links", MirrorMode.COPY: "copies"}
# Errors that mean "this disk cannot do that at all", not "this one file failed".
_NOT_FALLBACK = {errno.EEXIST, errno.ENOENT, errno.ENOSPC, errno.EROFS, errno.EACCES, errno.ENAMETOOLONG}


class MirrorError(OrganizeError):
    """A mirror that cannot be made or synced as asked (one line saying what to do instead)."""


@dataclass
class MirrorReport:
    """What one sync (or removal) of a mirror did, kept as the mirror's last report."""

    mirror_id: int
    target: Path
    ui: MirrorUI
    state: str = "ok"  # ok | refused | unreachable | cancelled | removed
    message: str = ""  # why a sync was refused or could not run
    added: int = 0
    updated: int = 0
    removed: int = 0
    kept: int = 0
    forgotten: int = 0
    not_ours: list[str] = field(default_factory=list)  # "path: reason", left alone
    clashes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    fallback: str = ""  # "symlinks not supported on /mnt/x: used copies"
    mode: str = ""  # the mode asked for
    used_mode: str = ""  # the weakest mode this sync had to use
    # The folders inside the mirror Atelier made for its entries (carried from sync to sync): only these
    # are removed with the mirror, and only when empty.
    created_folders: list[str] = field(default_factory=list)
    folders_removed: int = 0  # of those, left empty by this sync (or removal) and removed
    # Entries Atelier made that the user changed since (an edited copy, a replaced link): theirs now, kept
    # and no longer synced. Carried from sync to sync while they are there, so every sync says so, not
    # only the one that found them (often the silent sync after a rename).
    changed_kept: list[str] = field(default_factory=list)
    # The digest of what this sync read (``app.organize.mirror_fingerprint``), kept only when it found
    # nothing to do and nothing to report: the next sync with the same digest skips planning.
    fingerprint: str = ""
    # Library folders whose files this sync left as they are, out of reach here (app.organize.mirror_reach)
    held: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed + self.forgotten

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["target"] = str(self.target)
        data["ui"] = self.ui.value
        data["message"] = self.message or str(self)
        return data

    def __str__(self) -> str:
        head = f"{self.ui.label} mirror {self.target}"
        if self.state in ("refused", "unreachable"):
            return f"{head}: {self.message}"
        if self.state == "removed":
            parts = [f"{counted(self.removed, 'entry', 'entries')} removed"]
            if self.folders_removed:
                parts.append(f"{counted(self.folders_removed, 'empty folder')} removed")
        else:
            parts = [f"{self.added} added", f"{self.updated} updated", f"{self.removed} removed"]
            parts.append(f"{self.kept} up to date")
            if self.folders_removed:
                parts.append(f"{counted(self.folders_removed, 'empty folder')} removed")
            if self.changed_kept:
                parts.append(_changed_kept_words(self.changed_kept))
        if self.not_ours:
            parts.append(f"{len(self.not_ours)} not made by Atelier left alone")
        if self.clashes:
            parts.append(f"{counted(len(self.clashes), 'name clash', 'name clashes')} renamed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed ({self.failed[0]})")
        if self.fallback:
            parts.append(self.fallback)
        if self.held:
            parts.append(f"left as they were: the files of {'; the files of '.join(self.held)}")
        if self.state == "cancelled":
            parts.append("cancelled")
        return f"{head}: {', '.join(parts)}"


def _changed_kept_words(paths: Sequence[str]) -> str:
    """The report's words for entries the user changed: kept as theirs, no longer following the library."""
    if len(paths) == 1:
        return (
            f"kept {paths[0]} as yours: changed since Atelier made it, it no longer follows the library "
            "(delete it if you do not need it)"
        )
    return (
        f"kept {len(paths)} entries changed since Atelier made them as yours, no longer following the "
        f"library ({paths[0]}, …; delete those you do not need)"
    )


@dataclass
class MirrorsSummary:
    """The re-sync of every mirror at the end of a scan or an organize operation."""

    reports: list[MirrorReport] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(report.changed for report in self.reports)

    @property
    def failed(self) -> int:
        """Entries that could not be made or removed, plus mirrors refused or out of reach (an unplugged
        drive), so that the status bar and the scan command say so."""
        unusable = sum(1 for report in self.reports if report.state in ("refused", "unreachable"))
        return sum(len(report.failed) for report in self.reports) + unusable

    def __str__(self) -> str:
        if not self.reports:
            return "No mirrors"
        changed = [r for r in self.reports if r.changed or r.failed or r.held or r.state != "ok"]
        if not changed:
            return f"{len(self.reports)} mirror{'s' if len(self.reports) > 1 else ''} up to date"
        return "; ".join(str(report) for report in changed)


# -- checks on the mirror folder ---------------------------------------------------------------------


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _within(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _library_folders(library: Library) -> list[Path]:
    return [_real(Path(root.path)) for root in library.roots()]


# How each UI can use the library folder itself, for a mirror refused because it would sit inside it.
_USE_THE_LIBRARY = {
    MirrorUI.A1111: (
        "point A1111/Forge at it instead (--ckpt-dir, --lora-dir, --embeddings-dir… on its command line) "
        "or use the library folder as its install's models folder"
    ),
    MirrorUI.COMFYUI: (
        "show it to ComfyUI with an extra_model_paths.yaml entry instead "
        "(`atelier mirror --comfyui-yaml FILE`)"
    ),
    MirrorUI.INVOKEAI: "add it in InvokeAI's Model Manager with “Scan folder” instead (nothing copied)",
}


def refuse_target(target: Path, roots: Sequence[Path], ui: MirrorUI | None = None) -> str | None:
    """Why ``target`` cannot hold a mirror for ``ui`` of a library with ``roots`` (resolved), else None;
    a mirror inside the library gets the advice that fits the UI (its own way to read the library)."""
    try:
        real = target.resolve(strict=False)
    except (OSError, RuntimeError):
        return f"{target} is a link that loops: choose another folder"
    linked = " (through a link)" if real != target.absolute() else ""
    for root in roots:
        if _within(real, root):
            advice = f": {_USE_THE_LIBRARY[ui]}" if ui is not None else ""
            return (
                f"{target} is inside the library folder {root}{linked}: its files are already in the "
                f"library{advice}"
            )
        if _within(root, real):
            return f"{target} holds the library folder {root}: a mirror there would double every file"
    if target.exists() and not target.is_dir():
        return f"{target} is a file, not a folder"
    return None


def create_mirror(
    library: Library,
    ui: MirrorUI,
    mode: MirrorMode,
    target: Path,
    *,
    kinds: Sequence[AssetKind] = (),
    collections: Sequence[str] = (),
) -> MirrorRecord:
    """Make (or change) the mirror at ``target`` after checking the folder is safe; creates the folder."""
    target = target.expanduser().absolute()
    reason = refuse_target(target, _library_folders(library), ui)
    if reason is not None:
        raise MirrorError(reason)
    real = _real(target)
    for other in library.mirrors():
        if other.target == target:
            continue  # this mirror, changed
        other_real = _real(other.target)
        if _within(real, other_real) or _within(other_real, real):
            raise MirrorError(
                f"{target} overlaps the mirror in {other.target}: the models would show twice there "
                "(change or remove that mirror instead)"
            )
    known = {name.casefold() for name in library.all_collections()}
    unknown = [name for name in collections if name.casefold() not in known]
    if unknown:
        raise MirrorError(f"no collection named {unknown[0]!r} in the library")
    target.mkdir(parents=True, exist_ok=True)
    return library.save_mirror(ui=ui, mode=mode, target=target, kinds=kinds, collections=collections)


def find_mirror(library: Library, which: str | Path) -> MirrorRecord:
    """The mirror with id ``which`` or at folder ``which``."""
    text = str(which).strip()
    if text.isdigit() and not Path(text).exists():
        return library.mirror(int(text))
    record = library.mirror_at(Path(text).expanduser().absolute())
    if record is None:
        raise MirrorError(f"no mirror at {text} (see `atelier mirror --list`)")
    return record


# -- the applier -------------------------------------------------------------------------------------


def _symlink(source: Path, entry: Path) -> None:
    entry.symlink_to(source)


def _hardlink(source: Path, entry: Path) -> None:
    entry.hardlink_to(source)


class MirrorApplier:
    """Syncs mirrors of one library. ``symlink`` and ``hardlink`` make one entry (``os.symlink`` and
    ``os.link`` by default); a platform without them, or a test, passes its own."""

    def __init__(
        self,
        library: Library,
        *,
        symlink: LinkFunction | None = None,
        hardlink: LinkFunction | None = None,
    ) -> None:
        self._library = library
        self._symlink: LinkFunction = symlink or _symlink
        self._hardlink: LinkFunction = hardlink or _hardlink

    # -- one mirror --

    def sync(
        self,
        mirror: MirrorRecord,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> MirrorReport:
        report = MirrorReport(
            mirror.id, mirror.target, mirror.ui, mode=mirror.mode.value, created_folders=_made(mirror)
        )
        roots = _library_folders(self._library)
        reason = refuse_target(mirror.target, roots, mirror.ui)
        if reason is None and not mirror.target.is_dir():
            report.state, report.message = (
                "unreachable",
                f"the folder {mirror.target} is not there (unplugged?)",
            )
        elif reason is not None:
            report.state, report.message = "refused", reason
        if report.state != "ok":
            self._library.finish_mirror_sync(mirror.id, report.to_json())
            return report
        accepted = _accepted_modes(mirror)
        library_roots = self._library.roots()
        held = out_of_reach(library_roots)
        fingerprint = mirror_fingerprint(self._library, mirror, accepted)
        if not held and fingerprint == mirror.report.get("fingerprint"):
            unchanged = _unchanged(mirror, report, fingerprint)  # a verified empty plan, same inputs
            self._library.finish_mirror_sync(mirror.id, unchanged.to_json())
            return unchanged
        carried = _changed_kept(mirror)
        layout = self._layout(mirror, held, library_roots)
        recorded = entries_kept(held, self._library.mirror_entries(mirror.id))
        report.held = held.lines()
        folders = _Folders(mirror.target, roots)
        unsafe: dict[Path, str] = {}
        paths = {e.path for e in layout.entries} | {e.path for e in recorded}
        for parent in {os.path.dirname(path) for path in paths}:  # noqa: PTH120 (each folder once, as text)
            problem = folders.problem(Path(parent))
            if problem is not None:
                unsafe[problem[0]] = problem[1]
        disk = {path: _lstat(path) for path in paths}
        plan = plan_sync(layout, recorded, disk, accepted_modes=accepted, unsafe_folders=unsafe)
        self._apply(
            mirror,
            plan,
            report,
            carried=frozenset(carried),
            progress=progress,
            cancel=cancel or CancelToken(),
        )
        # Folders made for entries that moved or went (a renamed sub-folder, another UI's layout): removed
        # once empty; rmdir refuses one holding anything, so a file of the user's keeps its folder.
        report.folders_removed = _remove_empty(Path(f) for f in report.created_folders)
        report.created_folders = [f for f in dict.fromkeys(report.created_folders) if Path(f).is_dir()]
        stepped = {str(step.path) for step in plan.steps}  # a path the plan saw is reported by its step
        report.changed_kept.extend(path for path in carried if path not in stepped)
        # Trusted next time only when nothing depended on disk state the fingerprint does not cover: the
        # user's files where entries would go (those kept as theirs included: deleted, the entry is made
        # again), folders left alone, failures (skipping a kind the UI has no folder for, or a folder
        # model, depends on the catalog alone).
        in_the_way = any(step.action is SyncAction.NOT_OURS for step in plan.steps)
        settled = (
            not in_the_way
            and not report.not_ours
            and not report.failed
            and len(report.skipped) == len(layout.skipped)
        )
        if plan.changes == 0 and report.state == "ok" and settled and not held:
            report.fingerprint = fingerprint
        self._library.finish_mirror_sync(mirror.id, report.to_json())
        return report

    def remove(self, mirror: MirrorRecord) -> MirrorReport:
        """Remove the entries Atelier made (exactly as made), then the folders it made for them that are
        left empty, and forget the mirror. Everything else stays and is listed in ``not_ours``: entries
        changed since Atelier made them, and every file of the user's in the folders the mirror used (a
        folder holding one stays too)."""
        report = MirrorReport(mirror.id, mirror.target, mirror.ui, state="removed", mode=mirror.mode.value)
        folders = _Folders(mirror.target, _library_folders(self._library))
        entries = self._library.mirror_entries(mirror.id)
        for entry in entries:
            problem = folders.problem(entry.path.parent)
            if problem is not None:
                report.not_ours.append(f"{entry.path}: {problem[1]}")
                continue
            now = _lstat(entry.path)
            plan = plan_sync(MirrorLayout(()), [entry], {entry.path: now}, accepted_modes=frozenset())
            step = plan.steps[0]
            if step.action is SyncAction.REMOVE and self._unlink(entry, report, None):
                report.removed += 1
            elif step.action is SyncAction.NOT_OURS:
                report.not_ours.append(f"{entry.path}: {step.reason}")
        made = [Path(folder) for folder in _made(mirror)]
        report.folders_removed = _remove_empty(made)
        used = {entry.path.parent for entry in entries} | set(made)
        used |= {Path(path).parent for path in _changed_kept(mirror)}  # the user's now: listed as such
        listed = {line.split(": ", 1)[0] for line in report.not_ours}
        for folder in sorted(used, key=str):
            if folders.problem(folder) is None:
                report.not_ours.extend(
                    f"{path}: not made by Atelier" for path in _files_in(folder) if str(path) not in listed
                )
        self._library.delete_mirror(mirror.id)
        return report

    # -- what the mirror should hold --

    def _layout(self, mirror: MirrorRecord, held: HeldFolders, roots: Sequence[RootRecord]) -> MirrorLayout:
        shared = without_wrong_mappings(
            held, roots, self._library.mirror_shared_files(mirror.kinds, mirror.collections)
        )
        layout = mirror.ui.layout
        own_folders: dict[tuple[AssetKind, Architecture], Path | None] = {}

        def mirror_folder(kind: AssetKind, architecture: Architecture) -> Path | None:
            key = (kind, architecture)
            if key not in own_folders:
                has = bool(KIND_FOLDERS[layout].get(kind))
                own_folders[key] = (
                    folder_for(mirror.target, layout, kind, architecture=architecture) if has else None
                )
            return own_folders[key]

        sources = _Sources()
        return plan_layout((sources.source(item) for item in shared), mirror_folder)

    # -- applying --

    def _apply(
        self,
        mirror: MirrorRecord,
        plan: SyncPlan,
        report: MirrorReport,
        *,
        carried: frozenset[str],
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> None:
        """Apply the plan in batches: the links of a batch are recorded in one transaction before any is
        made, and the records of removed entries dropped in one after (a crash in between leaves records
        whose entries are missing, which the next sync makes again or forgets). ``carried`` holds the
        entries an earlier sync kept as the user's: still theirs where the layout wants that path."""
        report.clashes = [str(clash) for clash in plan.clashes]
        report.skipped = [str(item) for item in plan.skipped]
        attempts = _Attempts()
        work = [step for step in plan.steps if step.action is not SyncAction.KEEP]
        report.kept = len(plan.steps) - len(work)
        total = len(work)
        for start in range(0, total, _BATCH):
            if cancel.cancelled:
                report.state = "cancelled"
                break
            progress(Progress(start, total, f"Mirror {mirror.target}"))
            batch = work[start : start + _BATCH]
            records = _Batch(self._record_links(mirror, batch, attempts))
            for step in batch:
                self._apply_step(mirror, step, report, attempts, records, carried=carried)
            self._library.forget_mirror_entries(mirror.id, records.forget)
        progress(Progress(total, total, f"Mirror {mirror.target}"))
        self._say_fallback(mirror, report, attempts)

    def _apply_step(
        self,
        mirror: MirrorRecord,
        step: SyncStep,
        report: MirrorReport,
        attempts: _Attempts,
        records: _Batch,
        *,
        carried: frozenset[str],
    ) -> None:
        forget = records.forget
        if step.action is SyncAction.FORGET:
            forget.append(step.path)
            report.forgotten += 1
        elif step.action is SyncAction.NOT_OURS:
            if step.recorded is not None:  # one of ours the user changed: theirs now, no longer tracked
                report.changed_kept.append(str(step.path))
                forget.append(step.path)
            elif str(step.path) in carried:  # changed before an earlier sync: kept as theirs, not "not made"
                report.changed_kept.append(str(step.path))
            else:
                report.not_ours.append(f"{step.path}: {step.reason}")
        elif step.action is SyncAction.REMOVE:
            assert step.recorded is not None
            if self._unlink(step.recorded, report, forget):
                report.removed += 1
        else:
            if step.action is SyncAction.UPDATE:
                assert step.recorded is not None
                if not self._unlink(step.recorded, report, None):  # its record is rewritten below
                    self._library.record_mirror_entry(mirror.id, step.recorded)  # undo the batch's record
                    return
            made = self._make(mirror, step, attempts, report, records.links.get(step.path))
            if made is None:
                forget.append(step.path)
                return
            attempts.used.add(made)
            if step.action is SyncAction.UPDATE:
                report.updated += 1
            else:
                report.added += 1

    def _record_links(
        self, mirror: MirrorRecord, batch: Sequence[SyncStep], attempts: _Attempts
    ) -> dict[Path, RecordedEntry]:
        """Record, in one transaction, the link each add or update of ``batch`` is about to make (with the
        source's identity as the catalog knows it; checked again once the link exists)."""
        mode = attempts.first_mode(mirror.mode)
        if mode is MirrorMode.COPY:
            return {}  # a copy is recorded once written, with the copy's own inode
        entries = {
            step.path: RecordedEntry(
                step.path,
                step.source,
                step.asset_id,
                mode,
                step.identity.size,
                step.identity.mtime_ns,
                step.identity.inode,
            )
            for step in batch
            if step.action in (SyncAction.ADD, SyncAction.UPDATE)
            and step.source is not None
            and step.identity is not None
        }
        self._library.record_mirror_entries(mirror.id, list(entries.values()))
        return entries

    def _say_fallback(self, mirror: MirrorRecord, report: MirrorReport, attempts: _Attempts) -> None:
        used = attempts.used
        previous = mirror.report if mirror.report.get("mode") == mirror.mode.value else {}
        weakest = [m for m in MirrorMode if m in used or m.value == previous.get("used_mode")]
        report.used_mode = (weakest[-1] if weakest else mirror.mode).value
        if MirrorMode(report.used_mode) is mirror.mode:
            return
        used_words = _MODE_WORDS[MirrorMode(report.used_mode)]
        where = _mount_point(mirror.target)
        if attempts.crossed_drives and not attempts.refused:
            report.fallback = f"hard links cannot reach {where} from the library's drive: used {used_words}"
        else:
            report.fallback = f"{_MODE_WORDS[mirror.mode]} not supported on {where}: used {used_words}"
        previous_note = str(previous.get("fallback") or "")
        if not used and previous_note:
            report.fallback = previous_note  # nothing made this time: the last reason still holds

    def _unlink(self, entry: RecordedEntry, report: MirrorReport, forget: list[Path] | None) -> bool:
        """Delete an entry of ours, after checking again that it is exactly what was made; its record is
        added to ``forget`` (None: the caller rewrites it)."""
        now = _lstat(entry.path)
        if now.kind is not DiskKind.MISSING:
            probe = plan_sync(MirrorLayout(()), [entry], {entry.path: now}, accepted_modes=frozenset())
            through_library = _real(entry.path.parent) / entry.path.name == _real(entry.source)
            if probe.steps[0].action is not SyncAction.REMOVE or through_library:
                report.not_ours.append(f"{entry.path}: changed since Atelier made it")
                return False
            try:
                entry.path.unlink()
            except OSError as exc:
                report.failed.append(f"{entry.path}: {exc.strerror or exc}")
                return False
        if forget is not None:
            forget.append(entry.path)
        return True

    def _make(
        self,
        mirror: MirrorRecord,
        step: SyncStep,
        attempts: _Attempts,
        report: MirrorReport,
        recorded: RecordedEntry | None,
    ) -> MirrorMode | None:
        """Make one entry, falling back mode by mode; the mode used, or None when it failed (the caller
        then forgets its record)."""
        assert step.source is not None
        path, source = step.path, step.source
        try:
            _make_folder(path.parent, mirror.target, report)
            source_stat = source.stat()
            device = path.parent.stat().st_dev
        except OSError as exc:
            report.failed.append(f"{path}: {exc.strerror or exc}")
            return None
        if stat.S_ISDIR(source_stat.st_mode):
            report.skipped.append(f"{source}: a folder, not a file")
            return None
        for mode in mirror.mode.fallbacks:
            if mode in attempts.refused.get(device, []):
                continue
            if mode is MirrorMode.HARDLINK and source_stat.st_dev != device:
                attempts.crossed_drives = True  # a hard link cannot cross drives
                continue
            try:
                self._make_one(mirror.id, mode, step, source_stat, recorded)
            except OSError as exc:
                if exc.errno in _NOT_FALLBACK or mode is MirrorMode.COPY:
                    report.failed.append(f"{path}: {exc.strerror or exc}")
                    return None
                attempts.refused.setdefault(device, []).append(mode)
                continue
            return mode
        report.failed.append(f"{path}: no way to share the file there")
        return None

    def _make_one(
        self,
        mirror_id: int,
        mode: MirrorMode,
        step: SyncStep,
        source: os.stat_result,
        recorded: RecordedEntry | None,
    ) -> None:
        """Make the entry in ``mode``; its record is written before the entry exists (a crash leaves a
        record whose entry is missing, never an entry nobody owns)."""
        assert step.source is not None
        path = step.path
        entry = RecordedEntry(
            path, step.source, step.asset_id, mode, source.st_size, source.st_mtime_ns, source.st_ino
        )
        if mode in (MirrorMode.SYMLINK, MirrorMode.HARDLINK):
            if recorded is None or recorded.mode is not mode or recorded.inode != entry.inode:
                self._library.record_mirror_entry(mirror_id, entry)
            (self._symlink if mode is MirrorMode.SYMLINK else self._hardlink)(step.source, path)
            return
        part = partial_path(path, PART_SUFFIX, hidden=True)
        part.unlink(missing_ok=True)  # a copy of ours cut off by a crash
        try:
            shutil.copyfile(step.source, part)
            shutil.copystat(step.source, part)
            with part.open("rb+") as handle:
                os.fsync(handle.fileno())
            made = part.stat()
            if made.st_size != source.st_size:
                raise OSError(errno.EIO, f"the copy has {made.st_size} bytes, the file {source.st_size}")
            entry = RecordedEntry(
                path, step.source, step.asset_id, mode, made.st_size, made.st_mtime_ns, made.st_ino
            )
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "something appeared there meanwhile", str(path))
            self._library.record_mirror_entry(mirror_id, entry)
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)


@dataclass
class _Batch:
    """The links of one batch recorded ahead (by entry path), and the records to drop after it."""

    links: dict[Path, RecordedEntry]
    forget: list[Path] = field(default_factory=list)


@dataclass
class _Attempts:
    """What one sync learnt about the mirror's disk: the modes it refused (by device), and whether hard
    links were skipped because the library is on another drive."""

    refused: dict[int, list[MirrorMode]] = field(default_factory=dict)
    crossed_drives: bool = False
    used: set[MirrorMode] = field(default_factory=set)  # the modes entries were made in

    def first_mode(self, mode: MirrorMode) -> MirrorMode:
        """The first mode worth trying now: one no disk has refused yet in this sync."""
        refused = {m for modes in self.refused.values() for m in modes}
        return next((m for m in mode.fallbacks if m not in refused), MirrorMode.COPY)


def _unchanged(mirror: MirrorRecord, report: MirrorReport, fingerprint: str) -> MirrorReport:
    """The report of a sync that found the same inputs as the last one, which had nothing to do."""
    previous = mirror.report
    report.kept = mirror.entry_count
    report.clashes = list(previous.get("clashes") or [])
    report.skipped = list(previous.get("skipped") or [])
    report.fallback = str(previous.get("fallback") or "")
    report.used_mode = str(previous.get("used_mode") or mirror.mode.value)
    report.changed_kept = _changed_kept(mirror)
    report.fingerprint = fingerprint
    return report


def _changed_kept(mirror: MirrorRecord) -> list[str]:
    """The entries the user changed that the last report listed and that are still there."""
    return [path for path in mirror.report.get("changed_kept") or [] if os.path.lexists(path)]


def _made(mirror: MirrorRecord) -> list[str]:
    """The folders Atelier made in ``mirror``, as its last report lists them."""
    return [str(folder) for folder in mirror.report.get("created_folders") or []]


def _make_folder(folder: Path, target: Path, report: MirrorReport) -> None:
    """Make ``folder`` (and the folders above it, up to the mirror's), noting in ``report`` each one made."""
    if folder.is_dir():
        return
    missing: list[Path] = []
    current = folder
    while current != target and current.is_relative_to(target) and not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    report.created_folders.extend(str(made) for made in reversed(missing))


def _remove_empty(folders: Iterable[Path]) -> int:
    """Remove those of ``folders`` that are empty, the deepest first; ``rmdir`` itself refuses a folder
    holding anything (a file of the user's keeps its folder). Returns how many went."""
    removed = 0
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            continue  # not empty, gone already, or no longer a folder
        removed += 1
    return removed


def _files_in(folder: Path) -> list[Path]:
    """The files and links directly in ``folder`` (none when it is gone or unreadable)."""
    try:
        with os.scandir(folder) as listing:
            return sorted(Path(e.path) for e in listing if not e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _accepted_modes(mirror: MirrorRecord) -> frozenset[MirrorMode]:
    """The mirror's mode, and the fallbacks its disk needed last time (so they are not remade each sync)."""
    previous = mirror.report
    if previous.get("mode") != mirror.mode.value or not previous.get("used_mode"):
        return frozenset({mirror.mode})
    chain = mirror.mode.fallbacks
    used = MirrorMode(previous["used_mode"])
    return frozenset(chain[: chain.index(used) + 1]) if used in chain else frozenset({mirror.mode})


def _mount_point(path: Path) -> Path:
    """The mount point of the disk ``path`` is on (the words a user knows it by: /mnt/usb, D:)."""
    current = path.absolute()
    try:
        device = current.stat().st_dev
        while current.parent != current and current.parent.stat().st_dev == device:
            current = current.parent
    except OSError:
        return path
    return current


def _lstat(path: Path) -> DiskEntry:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return MISSING
    except OSError:
        return DiskEntry(DiskKind.OTHER)
    if stat.S_ISLNK(st.st_mode):
        try:
            target: str | None = str(path.readlink())
        except OSError:
            target = None
        return DiskEntry(DiskKind.SYMLINK, target, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
    if stat.S_ISREG(st.st_mode):
        return DiskEntry(DiskKind.FILE, None, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
    if stat.S_ISDIR(st.st_mode):
        return DiskEntry(DiskKind.FOLDER, None, 0, st.st_mtime_ns, st.st_dev, st.st_ino)
    return DiskEntry(DiskKind.OTHER)


class _Folders:
    """Checks the folders between the mirror and its entries: a folder that is a link into the library,
    a file where a folder should be, a link that loops. Each folder is looked at once per sync."""

    def __init__(self, target: Path, roots: Sequence[Path]) -> None:
        self._target = target
        self._roots = roots
        self._seen: dict[Path, tuple[Path, str] | None] = {}

    def problem(self, folder: Path) -> tuple[Path, str] | None:
        """(the folder at fault, why) for the first bad folder from the mirror down to ``folder``."""
        if folder in self._seen:
            return self._seen[folder]
        found: tuple[Path, str] | None = None
        if folder != self._target and folder.is_relative_to(self._target):
            found = self.problem(folder.parent)
        if found is None:
            found = self._check(folder)
        self._seen[folder] = found
        return found

    def _check(self, folder: Path) -> tuple[Path, str] | None:
        try:
            st = folder.lstat()
        except FileNotFoundError:
            return None  # made when needed
        except OSError as exc:
            return folder, f"{folder} cannot be read ({exc.strerror or exc})"
        if stat.S_ISLNK(st.st_mode):
            try:
                real = folder.resolve(strict=True)
            except (OSError, RuntimeError):
                return folder, f"{folder} is a link that loops or leads nowhere: left alone"
            for root in self._roots:
                if _within(real, root) or _within(root, real):
                    return folder, (
                        f"{folder} is a link into the library folder {root}: its files are already shared "
                        "there, nothing added or removed through it"
                    )
            if not real.is_dir():
                return folder, f"{folder} is a link to a file, not a folder: left alone"
            return None
        if not stat.S_ISDIR(st.st_mode):
            return folder, f"{folder} is a file where a folder should be: left alone"
        return None


class _Sources:
    """Turns the catalog's shared files into planner sources, listing each library folder once."""

    def __init__(self) -> None:
        self._names: dict[Path, list[str]] = {}
        self._kind_folders: dict[tuple[Path, LibraryLayout, AssetKind, Architecture], Path] = {}

    def source(self, item: SharedFile) -> MirrorSource:
        siblings = self._siblings(item.path)
        alone = siblings == [item.path.name]  # most files: nothing else starts with their stem
        companions = tuple(
            (path, identity)
            for path in ([] if alone else companions_among(item.path, siblings))
            if (identity := _identity(path)) is not None
        )
        cover = None
        if item.cover_path is not None and item.cover_path.parent != item.path.parent:
            identity = _identity(item.cover_path)
            cover = (item.cover_path, identity) if identity is not None else None
        return MirrorSource(
            asset_id=item.asset_id,
            kind=item.kind,
            architecture=item.architecture,
            path=item.path,
            # The file as it is now (a file replaced in place since the last scan has a new inode that a
            # hard link must follow), else as the catalog last saw it.
            identity=_identity(item.path) or item.identity,
            relative=self._relative(item),
            companions=companions,
            cover=cover,
            is_dir=item.is_dir,
        )

    def _siblings(self, model: Path) -> list[str]:
        """The names in ``model``'s folder that start with its stem: every companion (and every other model
        of the same stem) is among them, so a folder of thousands of files is not read once per file."""
        folder = model.parent
        if folder not in self._names:
            try:
                self._names[folder] = sorted(entry.name for entry in os.scandir(folder))
            except OSError:
                self._names[folder] = []
        names = self._names[folder]
        stem = sidecar_stem(model)
        found: list[str] = []
        for name in names[bisect_left(names, stem) :]:
            if not name.startswith(stem):
                break
            found.append(name)
        return found

    def _relative(self, item: SharedFile) -> PurePath:
        """The file's place under its kind's folder in its own library folder (sub-folders kept), else
        its name alone (a LoRA misfiled among checkpoints is shared as a LoRA, at the top)."""
        if item.root_path is None or item.root_layout is None:
            return PurePath(item.path.name)
        key = (item.root_path, item.root_layout, item.kind, item.architecture)
        if key not in self._kind_folders:
            self._kind_folders[key] = folder_for(
                item.root_path, item.root_layout, item.kind, architecture=item.architecture
            )
        folder = str(self._kind_folders[key]) + os.sep
        text = str(item.path)  # compared as text: a Path per file is what makes a check of thousands slow
        return PurePath(text[len(folder) :] if text.startswith(folder) else item.path.name)


def _identity(path: Path) -> FileIdentity | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return FileIdentity(st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)


# -- every mirror ------------------------------------------------------------------------------------


def sync_mirrors(
    library: Library,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    *,
    mirror_ids: Iterable[int] | None = None,
    applier: MirrorApplier | None = None,
) -> MirrorsSummary:
    """Bring every mirror (or ``mirror_ids``) up to date with the library; one query when there are none.

    Called at the end of every scan chain and organize operation, so a mirror follows renames, moves and
    deletes; a mirror already up to date costs one ``lstat`` per entry and one listing per library folder.
    """
    mirrors = library.mirrors()
    if mirror_ids is not None:
        wanted = set(mirror_ids)
        mirrors = [m for m in mirrors if m.id in wanted]
    summary = MirrorsSummary()
    applier = applier or MirrorApplier(library)
    for mirror in mirrors:
        if cancel is not None and cancel.cancelled:
            break
        summary.reports.append(applier.sync(mirror, progress, cancel))
    return summary


def follow_in_mirrors(library: Library, after: str) -> MirrorsSummary | None:
    """Sync every mirror after Atelier changed library files (``after``: "writing sidecars"), so that a
    sidecar or model rewritten by an atomic replace (a new inode) reaches hard links and copies at once. A
    mirror that cannot follow keeps its own report; this never fails the change that already happened."""
    try:
        return sync_mirrors(library)
    except (AtelierError, OSError) as exc:
        _log.warning("mirrors not synced after %s: %s", after, user_message(exc))
        return None
