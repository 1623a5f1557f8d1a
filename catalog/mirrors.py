"""The catalog's side of mirrors: the mirrors the user made, the entries Atelier put in them, and the
library files a mirror shares.

``mirror_entries`` is the only proof that an entry in a mirror folder is Atelier's: a sync replaces or
removes nothing that has no row here (see ``core.organize.mirror_plan.is_ours``). A row is written
*before* the entry is created on disk (with the identity the entry will have), so a crash in between
leaves a row whose entry is missing, which the next sync makes again, never an entry nobody owns.

A mirror is a folder on one computer, so it belongs to the machine that made it (``mirrors.machine``,
migration 0014): on a catalog several machines share, each lists, finds, changes and syncs only its own
mirrors (``machine_id`` below: this machine; None, a catalog opened without a machine: every mirror). A
mirror without a machine (made by a catalog opened without one) is listed by every machine and taken by
the first one that saves or syncs it. Two machines may each have a mirror at the same path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, true, update
from sqlalchemy.orm import Session

from catalog import shared_roots
from catalog.db import utc_now
from catalog.errors import NotFoundError
from catalog.machine_paths import Machine
from catalog.normalize import label_key
from catalog.orm import ASSETS, AssetCollection, Collection, MachineRow, Mirror, MirrorEntry, Preview, Root
from core.organize.mirror_plan import FileIdentity, MirrorMode, MirrorUI, RecordedEntry
from core.taxonomy import Architecture, AssetKind, LibraryLayout


@dataclass(frozen=True, slots=True)
class MirrorRecord:
    """A mirror: where, for which UI, how, of what (empty ``kinds``/``collections``: everything)."""

    id: int
    ui: MirrorUI
    mode: MirrorMode
    target: Path
    kinds: tuple[AssetKind, ...]
    collections: tuple[str, ...]
    created_at: datetime
    synced_at: datetime | None
    report: dict[str, Any] = field(default_factory=dict)
    entry_count: int = 0


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A library file a mirror may share, with what the planner needs to know about it."""

    asset_id: int
    path: Path
    kind: AssetKind
    architecture: Architecture
    identity: FileIdentity
    is_dir: bool
    root_path: Path | None
    root_layout: LibraryLayout | None
    cover_path: Path | None


def _record(row: Mirror, entry_count: int) -> MirrorRecord:
    return MirrorRecord(
        id=row.id,
        ui=MirrorUI(row.ui),
        mode=MirrorMode(row.mode),
        target=Path(row.target),
        kinds=tuple(AssetKind(k) for k in row.kinds),
        collections=tuple(row.collections),
        created_at=row.created_at,
        synced_at=row.synced_at,
        report=dict(row.report or {}),
        entry_count=entry_count,
    )


def _counts(session: Session) -> dict[int, int]:
    stmt = select(MirrorEntry.mirror_id, func.count()).group_by(MirrorEntry.mirror_id)
    return {int(row[0]): int(row[1]) for row in session.execute(stmt).all()}


def _mine(machine_id: str | None) -> ColumnElement[bool]:
    """The mirrors ``machine_id`` may see: its own and those no machine took yet (all without a machine)."""
    if machine_id is None:
        return true()
    return or_(Mirror.machine == machine_id, Mirror.machine.is_(None))


def mirrors(session: Session, machine_id: str | None) -> list[MirrorRecord]:
    counts = _counts(session)
    rows = session.scalars(select(Mirror).where(_mine(machine_id)).order_by(Mirror.id))
    return [_record(row, counts.get(row.id, 0)) for row in rows]


def elsewhere(session: Session, machine_id: str | None) -> list[tuple[str, int]]:
    """How many mirrors each other machine sharing the catalog has, by its name (none without a machine):
    a listing says they exist, since they are not this machine's to list."""
    if machine_id is None:
        return []
    name = func.coalesce(MachineRow.name, Mirror.machine)
    stmt = (
        select(name, func.count())
        .select_from(Mirror)
        .outerjoin(MachineRow, MachineRow.id == Mirror.machine)
        .where(Mirror.machine.is_not(None), Mirror.machine != machine_id)
        .group_by(name)
        .order_by(name)
    )
    return [(str(row[0]), int(row[1])) for row in session.execute(stmt).all()]


def mirror(session: Session, mirror_id: int, machine_id: str | None) -> MirrorRecord:
    """The mirror ``mirror_id`` of this machine; NotFoundError names the machine a mirror of another
    machine is on (its folder is there, not here)."""
    row = session.get(Mirror, mirror_id)
    if row is None:
        raise NotFoundError(f"no mirror with id {mirror_id} (see `atelier mirror --list`)")
    if machine_id is not None and row.machine not in (None, machine_id):
        owner = session.scalar(select(MachineRow.name).where(MachineRow.id == row.machine))
        raise NotFoundError(
            f"mirror {mirror_id} is a folder on another computer ({owner or 'another machine'}): only that "
            "machine lists, syncs or removes it (see `atelier mirror --list` for this machine's mirrors)"
        )
    return _record(row, _counts(session).get(mirror_id, 0))


def _row_at(session: Session, target: Path, machine_id: str | None) -> Mirror | None:
    """This machine's mirror at ``target`` (its own before one no machine took)."""
    stmt = select(Mirror).where(Mirror.target == str(target), _mine(machine_id))
    return session.scalars(stmt.order_by(Mirror.machine.is_(None), Mirror.id)).first()


def mirror_at(session: Session, target: Path, machine_id: str | None) -> MirrorRecord | None:
    row = _row_at(session, target, machine_id)
    return None if row is None else _record(row, _counts(session).get(row.id, 0))


def save_mirror(
    session: Session,
    *,
    ui: MirrorUI,
    mode: MirrorMode,
    target: Path,
    kinds: Sequence[AssetKind],
    collections: Sequence[str],
    machine: Machine | None,
) -> MirrorRecord:
    """Create this machine's mirror at ``target``, or change the UI, mode and selection of the one there
    (a mirror no machine took becomes this machine's). The machine is recorded by name too, so another
    machine's refusal says where the mirror is."""
    machine_id = machine.id if machine is not None else None
    if machine is not None:
        shared_roots.register(session, machine)
    row = _row_at(session, target, machine_id)
    values: dict[str, Any] = {
        "ui": ui.value,
        "mode": mode.value,
        "kinds": [k.value for k in kinds],
        "collections": list(collections),
    }
    if row is None:
        row = Mirror(target=str(target), created_at=utc_now(), machine=machine_id, **values)
        session.add(row)
        session.flush()
    else:
        if row.machine is None:
            values["machine"] = machine_id
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
    return _record(row, _counts(session).get(row.id, 0))


def delete_mirror(session: Session, mirror_id: int, machine_id: str | None) -> None:
    mirror(session, mirror_id, machine_id)  # another machine's mirror is refused, not deleted
    session.execute(delete(MirrorEntry).where(MirrorEntry.mirror_id == mirror_id))
    session.execute(delete(Mirror).where(Mirror.id == mirror_id))


def finish_sync(session: Session, mirror_id: int, report: dict[str, Any], machine_id: str | None) -> None:
    """Keep the report of a sync; a mirror no machine took becomes the syncing machine's."""
    owner = func.coalesce(Mirror.machine, machine_id) if machine_id is not None else Mirror.machine
    session.execute(
        update(Mirror)
        .where(Mirror.id == mirror_id, _mine(machine_id))
        .values(synced_at=utc_now(), report=report, machine=owner)
    )


# -- entries -------------------------------------------------------------------------------------------


def _entries_statement(mirror_id: int) -> Select[str, str, int | None, str, int, int, int]:
    """A mirror's recorded entries, in path order: read whole by a sync and compared by the quick check."""
    return (
        select(
            MirrorEntry.path,
            MirrorEntry.source,
            MirrorEntry.asset_id,
            MirrorEntry.mode,
            MirrorEntry.size,
            MirrorEntry.mtime_ns,
            MirrorEntry.inode,
        )
        .where(MirrorEntry.mirror_id == mirror_id)
        .order_by(MirrorEntry.path)
    )


def entries(session: Session, mirror_id: int) -> list[RecordedEntry]:
    """Read as plain rows, not ORM objects: every sync reads all of them (thousands), most of the time to
    find nothing changed."""
    stmt = _entries_statement(mirror_id)
    modes = {mode.value: mode for mode in MirrorMode}
    return [
        RecordedEntry(Path(path), Path(source), asset_id, modes[mode], size, mtime_ns, inode)
        for path, source, asset_id, mode, size, mtime_ns, inode in session.execute(stmt).all()
    ]


def state_rows(
    session: Session, mirror_id: int, kinds: Sequence[AssetKind], collections: Sequence[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The catalog's side of a mirror as plain rows, for a cheap "nothing changed" check: the files it
    shares (as :func:`shared_files` reads them), the entries recorded in it, and the library folders."""
    shared = [tuple(row) for row in session.execute(_shared_statement(kinds, collections)).all()]
    stmt = _entries_statement(mirror_id)
    recorded = [tuple(row) for row in session.execute(stmt).all()]
    roots = [tuple(row) for row in session.execute(select(Root.path, Root.layout).order_by(Root.path)).all()]
    return shared, recorded, roots


def record_entry(session: Session, mirror_id: int, entry: RecordedEntry) -> None:
    """Write (or overwrite) the row of the entry at ``entry.path``."""
    row = session.get(MirrorEntry, (mirror_id, str(entry.path)))
    values = {
        "source": str(entry.source),
        "asset_id": entry.asset_id,
        "mode": entry.mode.value,
        "size": entry.size,
        "mtime_ns": entry.mtime_ns,
        "inode": entry.inode,
    }
    if row is None:
        session.add(MirrorEntry(mirror_id=mirror_id, path=str(entry.path), **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)


def record_entries(session: Session, mirror_id: int, entries: Sequence[RecordedEntry]) -> None:
    """Write the rows of many entries at once (a batch of links about to be made)."""
    for entry in entries:
        record_entry(session, mirror_id, entry)


def forget_entries(session: Session, mirror_id: int, paths: Sequence[Path]) -> None:
    if paths:
        session.execute(
            delete(MirrorEntry).where(
                MirrorEntry.mirror_id == mirror_id, MirrorEntry.path.in_([str(p) for p in paths])
            )
        )


# -- what a mirror shares --------------------------------------------------------------------------------


def _shared_statement(kinds: Sequence[AssetKind], collections: Sequence[str]) -> Select[Any]:
    """Healthy files present on disk (not corrupt, unsafe or missing), the user's kind override applied,
    limited to ``kinds`` and to members of ``collections`` (case-insensitive) when given."""
    kind = func.coalesce(ASSETS.c.kind_override, ASSETS.c.kind)
    architecture = func.coalesce(ASSETS.c.architecture_override, ASSETS.c.architecture)
    cover_of = (
        select(Preview.path)
        .where(Preview.asset_id == ASSETS.c.id, Preview.is_cover.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            ASSETS.c.id,
            ASSETS.c.path,
            kind,
            architecture,
            ASSETS.c.size,
            ASSETS.c.mtime_ns,
            ASSETS.c.device,
            ASSETS.c.inode,
            ASSETS.c.format,
            Root.path,
            Root.layout,
            cover_of,
        )
        .select_from(ASSETS.outerjoin(Root, Root.id == ASSETS.c.root_id))
        .where(ASSETS.c.status == "ok")
        .order_by(ASSETS.c.id)
    )
    if kinds:
        stmt = stmt.where(kind.in_([k.value for k in kinds]))
    if collections:
        keys = [label_key(name) for name in collections]
        members = (
            select(AssetCollection.asset_id)
            .join(Collection, Collection.id == AssetCollection.collection_id)
            .where(Collection.key.in_(keys))
        )
        stmt = stmt.where(ASSETS.c.id.in_(members))
    return stmt


def shared_files(
    session: Session, kinds: Sequence[AssetKind], collections: Sequence[str]
) -> list[SharedFile]:
    """The files a mirror of ``kinds`` and ``collections`` shares (see :func:`_shared_statement`)."""
    found: list[SharedFile] = []
    roots: dict[str, Path] = {}  # a few library folders for thousands of rows: one Path each
    for row in session.execute(_shared_statement(kinds, collections)).all():
        (
            asset_id,
            path,
            kind_value,
            arch_value,
            size,
            mtime_ns,
            device,
            inode,
            fmt,
            root,
            layout,
            cover,
        ) = row
        found.append(
            SharedFile(
                asset_id=asset_id,
                path=Path(path),
                kind=_enum(AssetKind, kind_value, AssetKind.UNKNOWN),
                architecture=_enum(Architecture, arch_value, Architecture.UNKNOWN),
                identity=FileIdentity(size, mtime_ns, device, inode),
                is_dir=fmt == "diffusers",
                root_path=(roots.get(root) or roots.setdefault(root, Path(root))) if root else None,
                root_layout=_enum(LibraryLayout, layout, LibraryLayout.FLAT) if layout else None,
                cover_path=Path(cover) if cover else None,
            )
        )
    return found


_E = TypeVar("_E", AssetKind, Architecture, LibraryLayout)


def _enum(enum: type[_E], value: str, default: _E) -> _E:
    try:
        return enum(value)
    except ValueError:
        return default
