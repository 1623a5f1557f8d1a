"""Where each library file goes in a mirror for another UI, and what a sync of that mirror must do.

A mirror is a folder laid out the way A1111/Forge, ComfyUI or InvokeAI expect (``core.layouts`` says
where each kind lives), filled with symlinks, hard links or copies of the library's files and of their
sidecars and previews, so the other UI finds the models with their covers and notes.

Two pure steps, both data in, data out (the app gathers the facts from the catalog and the disk):

* :func:`plan_layout` — every wanted entry ``target <- source``; two library files that want one name in
  one folder are a *clash*: the file with the lowest asset id keeps the name, the others get
  ``<stem>-<asset id>``, so the outcome never depends on the order of a query and stays put across syncs.
* :func:`plan_sync` — against the entries Atelier recorded and what is on disk now: add, update (the
  source changed or the entry was made in a mode no longer wanted), remove, keep, forget (an entry of ours
  that vanished). Anything Atelier did not make, or that changed since it made it, is *not ours*: it is
  never replaced nor removed, only reported. "Ours" is strict: a symlink whose target is still the source
  it was made for, or a file with the very inode it had when made (plus its size and time for a copy,
  so a copy the user edited is theirs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePath

from core.formats.sidecars import sidecar_stem
from core.organize.companions import companion_target
from core.taxonomy import Architecture, AssetKind, LibraryLayout


class MirrorUI(StrEnum):
    """The UIs a mirror can be laid out for."""

    A1111 = "a1111"
    COMFYUI = "comfyui"
    INVOKEAI = "invokeai"

    @property
    def layout(self) -> LibraryLayout:
        return LibraryLayout(self.value)

    @property
    def label(self) -> str:
        return {"a1111": "A1111 / Forge", "comfyui": "ComfyUI", "invokeai": "InvokeAI"}[self.value]


class MirrorMode(StrEnum):
    """How an entry is made; each mode falls back to the next ones where a file system refuses it."""

    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    COPY = "copy"

    @property
    def fallbacks(self) -> tuple[MirrorMode, ...]:
        """This mode, then the ones to try when it is refused (a symlink, a hard link, a copy)."""
        order = list(MirrorMode)
        return tuple(order[order.index(self) :])


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What a file is on disk: enough to tell whether it changed or was replaced."""

    size: int
    mtime_ns: int
    device: int = 0
    inode: int = 0


@dataclass(frozen=True, slots=True)
class MirrorSource:
    """One library file to share, with the files that travel with it.

    ``relative`` is where it goes under the kind's folder of the mirror (sub-folders the user made in the
    library are kept; the last part is the file name). ``companions`` are its sidecars and previews beside
    it; ``cover`` is the library's cover image, shared as ``<stem>.preview.<ext>`` when no preview lies
    beside the file, so the other UI shows the same picture.
    """

    asset_id: int
    kind: AssetKind
    architecture: Architecture
    path: Path
    identity: FileIdentity
    relative: PurePath
    companions: tuple[tuple[Path, FileIdentity], ...] = ()
    cover: tuple[Path, FileIdentity] | None = None
    is_dir: bool = False


@dataclass(frozen=True, slots=True)
class WantedEntry:
    """One entry the mirror should hold: ``path`` made from ``source`` (a model, or a companion of the
    model entry at ``companion_of``)."""

    path: Path
    source: Path
    asset_id: int
    identity: FileIdentity
    companion_of: Path | None = None


@dataclass(frozen=True, slots=True)
class Clash:
    """Several library files wanted ``name`` in ``folder``; ``kept`` got it, the others were renamed."""

    folder: Path
    name: str
    kept: Path
    renamed: tuple[tuple[Path, Path], ...]  # (library file, its entry in the mirror)

    def __str__(self) -> str:
        others = ", ".join(f"{source} as {target.name}" for source, target in self.renamed)
        count = len(self.renamed) + 1
        return f"{count} files are named {self.name} in {self.folder}: {self.kept} keeps it; {others}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A library file the mirror cannot hold, and why."""

    source: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True, slots=True)
class MirrorLayout:
    """Every entry the mirror should hold, the clashes that were resolved, and what was left out."""

    entries: tuple[WantedEntry, ...]
    clashes: tuple[Clash, ...] = ()
    skipped: tuple[Skipped, ...] = ()


FolderFor = Callable[[AssetKind, Architecture], Path | None]


def plan_layout(sources: Iterable[MirrorSource], folder_for: FolderFor) -> MirrorLayout:
    """Where each source (and its companions) goes; ``folder_for`` gives the mirror's folder of a kind
    (None where the UI has no folder for it, e.g. hypernetworks in InvokeAI)."""
    skipped: list[Skipped] = []
    claims: dict[tuple[Path, str], list[tuple[MirrorSource, Path]]] = {}
    for source in sorted(sources, key=lambda s: (s.asset_id, str(s.path))):
        if source.is_dir:
            skipped.append(Skipped(source.path, "a folder model (diffusers): mirrors hold model files only"))
            continue
        folder = folder_for(source.kind, source.architecture)
        if folder is None:
            skipped.append(Skipped(source.path, f"this UI has no folder for {source.kind.value} files"))
            continue
        target = folder.joinpath(*source.relative.parts)
        claims.setdefault((target.parent, target.name.casefold()), []).append((source, target))

    taken = set(claims)
    entries: list[WantedEntry] = []
    clashes: list[Clash] = []
    for (parent, _), claimants in claims.items():
        first_source, first_target = claimants[0]
        entries.extend(_with_companions(first_source, first_target))
        renamed: list[tuple[Path, Path]] = []
        for source, target in claimants[1:]:
            new_target = _free_name(target, source.asset_id, taken)
            taken.add((parent, new_target.name.casefold()))
            renamed.append((source.path, new_target))
            entries.extend(_with_companions(source, new_target))
        if renamed:
            clashes.append(Clash(parent, first_target.name, first_source.path, tuple(renamed)))
    return MirrorLayout(tuple(entries), tuple(clashes), tuple(skipped))


def _free_name(target: Path, asset_id: int, taken: set[tuple[Path, str]]) -> Path:
    """``<stem>-<asset id><suffix>`` (then ``-2``, ``-3``... should that be taken too)."""
    stem, suffix = target.stem, target.suffix
    candidate = target.with_name(f"{stem}-{asset_id}{suffix}")
    number = 2
    while (target.parent, candidate.name.casefold()) in taken:
        candidate = target.with_name(f"{stem}-{asset_id}-{number}{suffix}")
        number += 1
    return candidate


def _with_companions(source: MirrorSource, target: Path) -> list[WantedEntry]:
    entries = [WantedEntry(target, source.path, source.asset_id, source.identity)]
    has_preview = False
    for companion, identity in source.companions:
        entry_path = companion_target(companion, source.path, target)
        has_preview = has_preview or _is_preview(companion, source.path)
        entries.append(WantedEntry(entry_path, companion, source.asset_id, identity, target))
    if source.cover is not None and not has_preview:
        cover, identity = source.cover
        suffix = cover.suffix.lower() or ".png"
        entries.append(
            WantedEntry(
                target.with_name(f"{sidecar_stem(target)}.preview{suffix}"),
                cover,
                source.asset_id,
                identity,
                target,
            )
        )
    return entries


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def _is_preview(companion: Path, model: Path) -> bool:
    return companion.suffix.lower() in _IMAGE_SUFFIXES and companion.name.startswith(sidecar_stem(model))


# -- the sync plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedEntry:
    """An entry Atelier made, as it was when made (``mirror_entries``)."""

    path: Path
    source: Path
    asset_id: int | None
    mode: MirrorMode
    size: int
    mtime_ns: int
    inode: int


class DiskKind(StrEnum):
    MISSING = "missing"
    SYMLINK = "symlink"
    FILE = "file"
    FOLDER = "folder"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DiskEntry:
    """What stands at a path now, from ``lstat`` (links are not followed)."""

    kind: DiskKind
    link_target: str | None = None
    size: int = 0
    mtime_ns: int = 0
    device: int = 0
    inode: int = 0


MISSING = DiskEntry(DiskKind.MISSING)


class SyncAction(StrEnum):
    ADD = "add"
    UPDATE = "update"
    REMOVE = "remove"
    KEEP = "keep"
    FORGET = "forget"  # an entry of ours that is gone from disk: only its record goes
    NOT_OURS = "not_ours"  # left alone, reported


@dataclass(frozen=True, slots=True)
class SyncStep:
    action: SyncAction
    path: Path
    source: Path | None = None
    asset_id: int | None = None
    identity: FileIdentity | None = None  # the source's, for adds and updates
    recorded: RecordedEntry | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """Every path of the mirror Atelier cares about, with what to do there."""

    steps: tuple[SyncStep, ...]
    clashes: tuple[Clash, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    counts: Mapping[SyncAction, int] = field(default_factory=dict)

    def of(self, action: SyncAction) -> tuple[SyncStep, ...]:
        return tuple(step for step in self.steps if step.action is action)

    @property
    def changes(self) -> int:
        """How many steps touch the disk or the records (0: the mirror is up to date)."""
        return sum(1 for step in self.steps if step.action not in (SyncAction.KEEP, SyncAction.NOT_OURS))


def is_ours(recorded: RecordedEntry, disk: DiskEntry) -> bool:
    """Whether ``disk`` is still exactly the entry Atelier made (only then may it be replaced or removed)."""
    if recorded.mode is MirrorMode.SYMLINK:
        return disk.kind is DiskKind.SYMLINK and disk.link_target == str(recorded.source)
    if disk.kind is not DiskKind.FILE or recorded.inode == 0 or disk.inode != recorded.inode:
        return False
    if recorded.mode is MirrorMode.COPY:
        return disk.size == recorded.size and disk.mtime_ns == recorded.mtime_ns
    return True  # a hard link: the same inode, whatever was written into the shared file since


def _up_to_date(recorded: RecordedEntry, wanted: WantedEntry, disk: DiskEntry) -> bool:
    """Whether our entry still shows the source as it is now."""
    if recorded.source != wanted.source:
        return False
    if recorded.mode is MirrorMode.SYMLINK:
        return True  # a symlink always shows the file as it is
    if recorded.mode is MirrorMode.HARDLINK:
        return wanted.identity.inode in (0, disk.inode)
    return recorded.size == wanted.identity.size and recorded.mtime_ns == wanted.identity.mtime_ns


def plan_sync(
    layout: MirrorLayout,
    recorded: Iterable[RecordedEntry],
    disk: Mapping[Path, DiskEntry],
    *,
    accepted_modes: frozenset[MirrorMode],
    unsafe_folders: Mapping[Path, str] = {},
) -> SyncPlan:
    """What a sync does at each path of ``layout`` and of ``recorded``.

    ``disk`` has an entry for every such path (absent: missing). An entry made in a mode outside
    ``accepted_modes`` (the mirror's mode, plus the fallbacks its file system needed) is made again.
    Paths inside ``unsafe_folders`` (a folder that turned out to be a link into the library, a file where
    a folder should be...) are left alone whatever the records say: deleting there could hit the library.
    """
    records = {entry.path: entry for entry in recorded}
    wanted = {entry.path: entry for entry in layout.entries}
    skipped = list(layout.skipped)
    # A model blocked by a file of the user's does not get its sidecars put beside that file.
    blocked = {
        entry.path
        for entry in layout.entries
        if entry.companion_of is None and _blocked(records.get(entry.path), disk.get(entry.path, MISSING))
    }
    steps: list[SyncStep] = []
    for path in sorted(set(records) | set(wanted), key=str):
        want = wanted.get(path)
        record = records.get(path)
        if want is not None and want.companion_of in blocked:
            if record is None:
                skipped.append(Skipped(want.source, f"{want.companion_of} is a file Atelier did not make"))
                continue
            want = None
        unsafe = _unsafe_reason(path, unsafe_folders)
        if unsafe is not None:
            if want is not None:
                skipped.append(Skipped(want.source, unsafe))
            if record is not None:
                steps.append(
                    SyncStep(SyncAction.NOT_OURS, path, record.source, record.asset_id, reason=unsafe)
                )
            continue
        now = disk.get(path, MISSING)
        steps.append(_step(path, want, record, now, accepted_modes))
    counts: dict[SyncAction, int] = {}
    for step in steps:
        counts[step.action] = counts.get(step.action, 0) + 1
    return SyncPlan(tuple(steps), layout.clashes, tuple(skipped), counts)


def _blocked(record: RecordedEntry | None, now: DiskEntry) -> bool:
    """Whether something not ours stands where an entry should be."""
    if now.kind is DiskKind.MISSING:
        return False
    return record is None or not is_ours(record, now)


def _step(
    path: Path,
    want: WantedEntry | None,
    record: RecordedEntry | None,
    now: DiskEntry,
    accepted_modes: frozenset[MirrorMode],
) -> SyncStep:
    if record is None:
        assert want is not None
        if now.kind is DiskKind.MISSING:
            return SyncStep(SyncAction.ADD, path, want.source, want.asset_id, want.identity)
        return SyncStep(
            SyncAction.NOT_OURS,
            path,
            want.source,
            want.asset_id,
            reason=f"a {now.kind.value} Atelier did not make",
        )
    if now.kind is DiskKind.MISSING:
        if want is None:
            return SyncStep(SyncAction.FORGET, path, record.source, record.asset_id, recorded=record)
        return SyncStep(SyncAction.ADD, path, want.source, want.asset_id, want.identity, recorded=record)
    if not is_ours(record, now):
        return SyncStep(
            SyncAction.NOT_OURS,
            path,
            record.source,
            record.asset_id,
            recorded=record,
            reason="changed since Atelier made it",
        )
    if want is None:
        return SyncStep(SyncAction.REMOVE, path, record.source, record.asset_id, recorded=record)
    if record.mode in accepted_modes and _up_to_date(record, want, now):
        return SyncStep(SyncAction.KEEP, path, want.source, want.asset_id, recorded=record)
    return SyncStep(SyncAction.UPDATE, path, want.source, want.asset_id, want.identity, recorded=record)


def _unsafe_reason(path: Path, unsafe_folders: Mapping[Path, str]) -> str | None:
    if not unsafe_folders:
        return None  # the usual case: no folder to look up, for each of thousands of paths
    for folder in (path.parent, *path.parent.parents):
        reason = unsafe_folders.get(folder)
        if reason is not None:
            return reason
    return None
