"""The operations journal: every change to the user's files, written before the disk is touched.

An operation (a move, a rename, a delete, an organize, an undo...) is one ``organize_operations`` row and
its steps are ``organize_steps`` rows. The rules that make a crash at any moment recoverable:

* :func:`begin_operation` writes the operation (state ``applying``) and all its steps (state ``pending``)
  in one committed transaction *before* any file moves;
* a step is marked ``done`` in the *same* transaction as the catalog change it implies
  (:func:`record_moved`, :func:`record_trashed`, :func:`record_restored`, :func:`record_linked`), so the
  catalog never says a file is where it is not, and never half-says it;
* :func:`applying_operation_ids` (the indexed ``state`` column) is how the next start finds what a crash
  left behind.

A trashed asset's row is removed, but everything about it (the row, tags, collections, previews, remote
links, render links) is kept in the step's ``detail["snapshot"]``, so an undo puts back the very same
asset, id and user data included, and a ``deleted_files`` row remembers the file (hash, Civitai ids and
names) for whoever offers it again. The paths a step's detail holds are stored canonical and read as this
machine's (:mod:`catalog.step_paths`), as its ``source`` and ``target`` columns are, so another machine
sharing the catalog can undo it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from catalog import step_paths
from catalog.db import chunks, utc_now
from catalog.duplicates import merge_user_data, unmerge_user_data
from catalog.labels import COLLECTIONS, TAGS, add_labels
from catalog.orm import (
    ASSETS,
    RENDER_ASSETS,
    RENDERS,
    AssetCollection,
    AssetTag,
    Collection,
    DeletedFile,
    OrganizeOperation,
    OrganizeStep,
    Preview,
    RemoteLink,
    Root,
    Tag,
    UTCDateTime,
    table_of,
)
from catalog.scan_writes import CLEARED_HASHES, remove_assets, root_for_path
from catalog.stat_match import same_mtime
from core.taxonomy import FileStatus

APPLYING = "applying"
DONE = "done"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
UNDONE = "undone"

PENDING = "pending"
SKIPPED = "skipped"

PREVIEWS = table_of(Preview)
REMOTE_LINKS = table_of(RemoteLink)
_SNAPSHOT_TABLES: dict[str, Table] = {
    "previews": PREVIEWS,
    "remote_links": REMOTE_LINKS,
    "render_assets": RENDER_ASSETS,
}


@dataclass(frozen=True, slots=True)
class NewStep:
    """A step as planned: ``action`` (move, trash, restore, hardlink, symlink...) on source/target."""

    action: str
    source: str
    target: str = ""
    asset_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepRecord:
    id: int
    operation_id: int
    seq: int
    action: str
    source: str
    target: str
    asset_id: int | None
    state: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OperationRecord:
    id: int
    kind: str
    label: str
    state: str
    created_at: datetime
    finished_at: datetime | None
    undo_of: int | None
    summary: Mapping[str, Any]
    step_count: int = 0
    done_count: int = 0


@dataclass(frozen=True, slots=True)
class FileState:
    """What a file is after a step, as the catalog stores it (``size`` None: a folder, size unchanged)."""

    path: str
    size: int | None
    mtime_ns: int
    inode: int
    device: int


def begin_operation(
    session: Session, kind: str, label: str, steps: Sequence[NewStep], *, undo_of: int | None = None
) -> tuple[int, list[StepRecord]]:
    """Write an operation in state ``applying`` with its steps ``pending``; returns its id and steps."""
    operation = OrganizeOperation(
        kind=kind, label=label, state=APPLYING, created_at=utc_now(), undo_of=undo_of, summary={}
    )
    session.add(operation)
    session.flush()
    if steps:
        session.execute(
            insert(OrganizeStep),
            [
                {
                    "operation_id": operation.id,
                    "seq": seq,
                    "action": step.action,
                    "source": step.source,
                    "target": step.target,
                    "asset_id": step.asset_id,
                    "state": PENDING,
                    "detail": step_paths.shared(step.detail),
                }
                for seq, step in enumerate(steps)
            ],
        )
    return operation.id, step_records(session, operation.id)


def step_records(session: Session, operation_id: int) -> list[StepRecord]:
    rows = session.scalars(
        select(OrganizeStep).where(OrganizeStep.operation_id == operation_id).order_by(OrganizeStep.seq)
    )
    return [
        StepRecord(
            id=row.id,
            operation_id=row.operation_id,
            seq=row.seq,
            action=row.action,
            source=row.source,
            target=row.target,
            asset_id=row.asset_id,
            state=row.state,
            detail=step_paths.local(row.detail or {}),
        )
        for row in rows
    ]


def set_step(session: Session, step_id: int, state: str, detail: Mapping[str, Any] | None = None) -> None:
    """Change a step's state; ``detail`` entries are merged into what the step already holds."""
    values: dict[str, Any] = {"state": state}
    if detail:
        current = session.scalar(select(OrganizeStep.detail).where(OrganizeStep.id == step_id)) or {}
        values["detail"] = {**current, **step_paths.shared(detail)}
    session.execute(update(OrganizeStep).where(OrganizeStep.id == step_id).values(**values))


@dataclass(frozen=True, slots=True)
class MovedStep:
    """A move step whose files are in place: what the catalog must now say (``reverses``: the step of an
    earlier operation this one undid, marked ``undone`` in the same transaction)."""

    step_id: int
    asset_id: int | None
    moved: FileState
    files: tuple[tuple[str, str], ...]
    reverses: int | None = None


def set_steps(session: Session, step_ids: Sequence[int], state: str) -> None:
    """Change many steps' state at once (the steps a cancel left undone become ``skipped``)."""
    for chunk in chunks(list(step_ids)):
        session.execute(update(OrganizeStep).where(OrganizeStep.id.in_(chunk)).values(state=state))


def record_moved(
    session: Session,
    step_id: int,
    asset_id: int | None,
    moved: FileState,
    *,
    files: Sequence[tuple[str, str]],
    detail: Mapping[str, Any] | None = None,
) -> None:
    """A step's files moved: the asset follows (path, name, root, stat), previews follow their files."""
    record_moves(session, [MovedStep(step_id, asset_id, moved, tuple(files))])
    if detail:
        set_step(session, step_id, DONE, detail)


def record_moves(session: Session, items: Sequence[MovedStep]) -> None:
    """:func:`record_moved` for many steps in one transaction (a batch of a large move): the roots are
    read once, previews and step states are written with one statement each."""
    if not items:
        return
    now = utc_now()
    roots = [(root_id, PurePath(path)) for root_id, path in session.execute(select(Root.id, Root.path))]
    previews = [
        {"b_asset": item.asset_id, "b_old": old, "b_new": new}
        for item in items
        if item.asset_id is not None
        for old, new in item.files
    ]
    if previews:
        session.execute(
            update(PREVIEWS)
            .where(PREVIEWS.c.asset_id == bindparam("b_asset"), PREVIEWS.c.path == bindparam("b_old"))
            .values(path=bindparam("b_new")),
            previews,
        )
    rows = {
        row.id: row
        for chunk in chunks([item.asset_id for item in items if item.asset_id is not None])
        for row in session.execute(
            select(
                ASSETS.c.id,
                ASSETS.c.root_id,
                ASSETS.c.status,
                ASSETS.c.prior_status,
                ASSETS.c.size,
                ASSETS.c.mtime_ns,
                ASSETS.c.inode,
                ASSETS.c.device,
            ).where(ASSETS.c.id.in_(chunk))
        )
    }
    plain: list[dict[str, Any]] = []
    for item in items:
        row = rows.get(item.asset_id) if item.asset_id is not None else None
        if row is None:
            continue
        moved = item.moved
        as_read = same_reading(row.size, row.mtime_ns, moved)
        kept = moved if as_read else FileState(moved.path, row.size, row.mtime_ns, row.inode, row.device)
        values: dict[str, Any] = {
            "b_id": row.id,
            "b_path": moved.path,
            "b_name": PurePath(moved.path).name,
            "b_root": _innermost_root(roots, moved.path, default=row.root_id),
            "b_mtime": kept.mtime_ns,
            "b_inode": kept.inode,
            "b_device": kept.device,
            "b_now": now,
        }
        extra: dict[str, Any] = {}
        if row.status == FileStatus.MISSING.value:
            extra.update(
                status=row.prior_status or FileStatus.OK.value, prior_status=None, missing_since=None
            )
        if not as_read:
            extra.update(CLEARED_HASHES)  # other bytes than the catalog read: the next scan reads them
        plain.append(values)
        if extra:  # rare: a file found again, or other bytes than the catalog read
            session.execute(update(ASSETS).where(ASSETS.c.id == row.id).values(**extra))
    if plain:  # one statement for the batch (executemany): the common case of a large move
        session.execute(_MOVE_ASSET, plain)
    states = [{"b_id": item.step_id, "b_state": DONE} for item in items]
    states += [{"b_id": item.reverses, "b_state": UNDONE} for item in items if item.reverses is not None]
    session.execute(
        update(table_of(OrganizeStep))
        .where(table_of(OrganizeStep).c.id == bindparam("b_id"))
        .values(state=bindparam("b_state")),
        states,
    )


_MOVE_ASSET = (
    update(ASSETS)
    .where(ASSETS.c.id == bindparam("b_id"))
    .values(
        path=bindparam("b_path"),
        file_name=bindparam("b_name"),
        root_id=bindparam("b_root"),
        mtime_ns=bindparam("b_mtime"),
        inode=bindparam("b_inode"),
        device=bindparam("b_device"),
        updated_at=bindparam("b_now"),
    )
)


def same_reading(size: int | None, mtime_ns: int | None, now: FileState) -> bool:
    """Whether a file a step moved or brought back is still the one the catalog read: its size and
    modification time as recorded (what a scan compares, :func:`catalog.stat_match.same_mtime`).

    When it is not (another model copied over it, bytes appended, since the last scan), the step writes
    the new path but keeps the recorded size, time and inode, and clears the hashes: the next scan sees
    a changed file and reads it again (kind, architecture, status). Writing the new stat instead would
    make that scan take the changed file for unchanged, and the catalog would describe the old bytes for
    ever. A folder (``now.size`` None) is compared by its time alone."""
    if now.size is not None and size != now.size:
        return False
    return mtime_ns is not None and same_mtime(mtime_ns, now.mtime_ns)


def _innermost_root(roots: Sequence[tuple[int, PurePath]], path: str, *, default: int | None) -> int | None:
    candidate = PurePath(path)
    best: tuple[int, int] | None = None
    for root_id, root_path in roots:
        if candidate.is_relative_to(root_path) and (best is None or len(root_path.parts) > best[0]):
            best = (len(root_path.parts), root_id)
    return best[1] if best else default


def record_linked(
    session: Session,
    step_id: int,
    asset_id: int | None,
    state: FileState,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """A copy became a link (or a link a copy again): same path and bytes, another file identity.

    A duplicate's step (app.organize.dedupe) also carries, in its detail, ``merge`` (its user data goes
    to the kept row; what changed is kept as ``merged``) and ``drop_row`` (a symlink is no catalog row:
    the row goes, its snapshot kept); the undo's step puts the row back from that snapshot (same id)
    and takes the merged data back from the kept row."""
    extra: dict[str, Any] = dict(detail or {})
    if asset_id is not None:
        own = _step_detail(session, step_id)
        snapshot = own.get("snapshot")
        present = session.scalar(select(ASSETS.c.id).where(ASSETS.c.id == asset_id)) is not None
        if not present and isinstance(snapshot, Mapping) and _asset_at(session, state.path) is None:
            _insert_snapshot(session, snapshot, state)
        else:
            session.execute(
                update(ASSETS)
                .where(ASSETS.c.id == asset_id)
                .values(mtime_ns=state.mtime_ns, inode=state.inode, device=state.device, updated_at=utc_now())
            )
        _merge_step(session, own, asset_id, extra)
        _unmerge_step(session, own)
        if own.get("drop_row") and (dropped := asset_snapshot(session, asset_id)) is not None:
            extra["snapshot"] = dropped
            remove_assets(session, [asset_id])
    set_step(session, step_id, DONE, extra)


def _step_detail(session: Session, step_id: int) -> dict[str, Any]:
    return dict(session.scalar(select(OrganizeStep.detail).where(OrganizeStep.id == step_id)) or {})


def _merge_step(session: Session, own: Mapping[str, Any], asset_id: int, extra: dict[str, Any]) -> None:
    """A duplicate's step (``merge`` in its detail): its user data goes to the kept row in the
    transaction that marks the step done; what that changed is kept as ``merged``, for the undo."""
    merge = own.get("merge")
    if isinstance(merge, Mapping) and isinstance(merge.get("keep"), int):
        adopt = merge.get("adopt")
        extra["merged"] = merge_user_data(
            session, merge["keep"], [asset_id], adopt=adopt if isinstance(adopt, Mapping) else None
        )


def _unmerge_step(session: Session, own: Mapping[str, Any]) -> None:
    """The undo of a duplicate's step (``merged`` carried into its detail): the kept row gives back
    what the merge gave it, in the transaction that marks the undo's step done."""
    merged = own.get("merged")
    if isinstance(merged, Mapping) and "merge" not in own:
        unmerge_user_data(session, merged)


def record_trashed(
    session: Session, step_id: int, asset_id: int | None, detail: Mapping[str, Any] | None = None
) -> None:
    """A step's files went to the trash: the row goes, its snapshot stays in the step, the file is
    remembered in ``deleted_files``."""
    extra: dict[str, Any] = dict(detail or {})
    if asset_id is not None:
        own = _step_detail(session, step_id)
        _merge_step(session, own, asset_id, extra)  # a duplicate trashed: its user data to the kept row
        snapshot = asset_snapshot(session, asset_id)
        if snapshot is not None and "merge" in own:
            extra["snapshot"] = snapshot  # a duplicate: its bytes stay in the library, no deleted version
            remove_assets(session, [asset_id])
        elif snapshot is not None:
            # Inside the snapshot too, so an undo (which carries the snapshot) forgets the memory again.
            snapshot["deleted_file_id"] = extra["deleted_file_id"] = _remember_deleted(session, snapshot)
            extra["snapshot"] = snapshot
            remove_assets(session, [asset_id])
    set_step(session, step_id, DONE, extra)


def record_restored(
    session: Session,
    step_id: int,
    snapshot: Mapping[str, Any] | None,
    restored: FileState,
    detail: Mapping[str, Any] | None = None,
) -> int | None:
    """A trashed file is back: its asset returns as it was (same id, user data, links); returns the id.

    The file's stat replaces the remembered one; a size that differs clears the hashes (rehashed later).
    Nothing is inserted when a row already holds the path (a rescan found the file first).
    """
    asset_id: int | None = None
    if snapshot is not None and _asset_at(session, restored.path) is None:
        recorded = snapshot["asset"]
        as_read = same_reading(recorded.get("size"), recorded.get("mtime_ns"), restored)
        if not as_read:  # changed before it was deleted: the next scan reads it again (see same_reading)
            restored = FileState(
                restored.path,
                recorded.get("size"),
                recorded["mtime_ns"],
                recorded.get("inode") or 0,
                recorded.get("device") or 0,
            )
        asset_id = _insert_snapshot(session, snapshot, restored, clear_hashes=not as_read)
        deleted_id = snapshot.get("deleted_file_id")
        if isinstance(deleted_id, int):
            session.execute(delete(DeletedFile).where(DeletedFile.id == deleted_id))
    _unmerge_step(session, _step_detail(session, step_id))  # the undo of a duplicate's trashing
    set_step(session, step_id, DONE, detail)
    return asset_id


def finish_operation(session: Session, operation_id: int, state: str, summary: Mapping[str, Any]) -> None:
    session.execute(
        update(OrganizeOperation)
        .where(OrganizeOperation.id == operation_id)
        .values(state=state, summary=dict(summary), finished_at=utc_now())
    )


def set_operation_state(session: Session, operation_id: int, state: str) -> None:
    session.execute(update(OrganizeOperation).where(OrganizeOperation.id == operation_id).values(state=state))


def applying_operation_ids(session: Session) -> list[int]:
    """Operations a crash left unfinished (walks the ``state`` index: cheap when there are none)."""
    stmt = (
        select(OrganizeOperation.id).where(OrganizeOperation.state == APPLYING).order_by(OrganizeOperation.id)
    )
    return list(session.scalars(stmt))


def operation_records(
    session: Session, *, limit: int | None = 20, operation_id: int | None = None
) -> list[OperationRecord]:
    """Operations newest first (or the one ``operation_id``), with their step counts."""
    done = func.sum(case((OrganizeStep.state == DONE, 1), else_=0))
    counts = (
        select(OrganizeStep.operation_id, func.count().label("steps"), done.label("done"))
        .group_by(OrganizeStep.operation_id)
        .subquery()
    )
    stmt = (
        select(OrganizeOperation, counts.c.steps, counts.c.done)
        .outerjoin(counts, counts.c.operation_id == OrganizeOperation.id)
        .order_by(OrganizeOperation.id.desc())
    )
    if operation_id is not None:
        stmt = stmt.where(OrganizeOperation.id == operation_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        OperationRecord(
            id=op.id,
            kind=op.kind,
            label=op.label,
            state=op.state,
            created_at=op.created_at,
            finished_at=op.finished_at,
            undo_of=op.undo_of,
            summary=dict(op.summary or {}),
            step_count=int(steps or 0),
            done_count=int(done_count or 0),
        )
        for op, steps, done_count in session.execute(stmt)
    ]


def asset_at(session: Session, path: str) -> int | None:
    """The id of the row stored at exactly ``path`` (present or missing), if any."""
    return _asset_at(session, path)


def assets_at(session: Session, paths: Sequence[str]) -> dict[str, int]:
    """The ids of the rows stored at any of ``paths`` (present or missing), by path."""
    found: dict[str, int] = {}
    for chunk in chunks(list(paths)):
        rows = session.execute(select(ASSETS.c.path, ASSETS.c.id).where(ASSETS.c.path.in_(chunk)))
        found.update((path, asset_id) for path, asset_id in rows)
    return found


def root_containing(session: Session, path: str) -> int | None:
    """The innermost library folder that contains ``path``, or None."""
    return root_for_path(session, path, default=None)


# snapshots --------------------------------------------------------------------------------------------
def asset_snapshot(session: Session, asset_id: int) -> dict[str, Any] | None:
    """Everything the catalog knows about one asset, as JSON-safe data (see :func:`_insert_snapshot`)."""
    row = session.execute(select(ASSETS).where(ASSETS.c.id == asset_id)).mappings().one_or_none()
    if row is None:
        return None
    snapshot: dict[str, Any] = {"asset": _to_json(ASSETS, row)}
    for name, table in _SNAPSHOT_TABLES.items():
        rows = session.execute(select(table).where(table.c.asset_id == asset_id)).mappings().all()
        snapshot[name] = [_to_json(table, item) for item in rows]
    snapshot["tags"] = list(
        session.scalars(
            select(Tag.name)
            .join(AssetTag, AssetTag.tag_id == Tag.id)
            .where(AssetTag.asset_id == asset_id)
            .order_by(AssetTag.position)
        )
    )
    snapshot["collections"] = list(
        session.scalars(
            select(Collection.name)
            .join(AssetCollection, AssetCollection.collection_id == Collection.id)
            .where(AssetCollection.asset_id == asset_id)
            .order_by(AssetCollection.position)
        )
    )
    return snapshot


def _insert_snapshot(
    session: Session, snapshot: Mapping[str, Any], restored: FileState, *, clear_hashes: bool = False
) -> int:
    asset = _from_json(ASSETS, snapshot["asset"])
    asset_id = int(asset["id"])
    same_size = not clear_hashes and (restored.size is None or asset.get("size") == restored.size)
    asset.update(
        path=restored.path,
        file_name=PurePath(restored.path).name,
        size=asset.get("size") if restored.size is None else restored.size,
        mtime_ns=restored.mtime_ns,
        inode=restored.inode,
        device=restored.device,
        root_id=root_for_path(session, restored.path, default=None),
        updated_at=utc_now(),
    )
    if not same_size:
        asset.update(CLEARED_HASHES)
    session.execute(insert(ASSETS), [asset])
    add_labels(session, TAGS, {asset_id: list(snapshot.get("tags", ()))})
    add_labels(session, COLLECTIONS, {asset_id: list(snapshot.get("collections", ()))})
    for name, table in _SNAPSHOT_TABLES.items():
        rows = [_from_json(table, item) for item in snapshot.get(name, ())]
        if name == "render_assets":  # a render deleted meanwhile stays deleted
            alive = set(
                session.scalars(select(RENDERS.c.id).where(RENDERS.c.id.in_([r["render_id"] for r in rows])))
            )
            rows = [r for r in rows if r["render_id"] in alive]
        if rows:
            session.execute(insert(table), rows)
    return asset_id


def _remember_deleted(session: Session, snapshot: Mapping[str, Any]) -> int:
    asset = snapshot["asset"]
    link = next(
        (
            item
            for item in snapshot.get("remote_links", ())
            if item.get("site") == "civitai" and item.get("version_id")
        ),
        None,
    )
    row = DeletedFile(
        path=asset["path"],
        file_name=asset["file_name"],
        kind=asset["kind"],
        size=asset["size"] or 0,
        sha256=asset.get("sha256"),
        site=link["site"] if link else None,
        model_id=link.get("model_id") if link else None,
        version_id=link.get("version_id") if link else None,
        model_name=link.get("model_name") if link else None,
        version_name=link.get("version_name") if link else None,
        deleted_at=utc_now(),
    )
    session.add(row)
    session.flush()
    return row.id


def _asset_at(session: Session, path: str) -> int | None:
    found: int | None = session.scalar(select(ASSETS.c.id).where(ASSETS.c.path == path))
    return found


def _writable_columns(table: Table) -> list[str]:
    return [column.name for column in table.columns if column.computed is None]


def _to_json(table: Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in _writable_columns(table):
        value = row[name]
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def _from_json(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _writable_columns(table):
        if name not in data:
            continue
        value = data[name]
        if isinstance(table.c[name].type, UTCDateTime) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        values[name] = value
    return values
