"""The memory of files the user deleted on purpose (``deleted_files``, written by the delete operation).

Read here for the "Deleted files" view, for "forget" (the user no longer minds), and for the download
pipeline's one refusal rule: a download whose Civitai version or SHA256 matches a remembered deletion is
refused unless the user asks again.

On a catalog several machines share, a deletion's paths are stored canonical (``path`` is a
:class:`~catalog.shared_path.SharedPath` column, the journal step's detail goes through
:mod:`catalog.step_paths`), so each machine reads them at its own paths and can undo a delete another
machine made in a shared folder (``app.organize.shared_steps`` says what stands in the way).

A deletion stops counting while the file is back: when a library file that is not missing has the same
SHA256, or is linked to the same Civitai (or Hugging Face) version (a convert wrote the same bytes, an
undo brought it back, the user downloaded it again with ``--again``), the row is neither listed nor a
reason to refuse. The row itself is kept, so deleting that file once more is remembered as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from catalog import step_paths
from catalog.json_field import as_integer, json_field
from catalog.orm import Asset, DeletedFile, OrganizeOperation, OrganizeStep, RemoteLink
from catalog.records import DeletedFileRecord, DeletionOrigin
from core.taxonomy import AssetKind


def deleted_records(session: Session, limit: int | None = None) -> list[DeletedFileRecord]:
    """Remembered deletions of files that are not back in the library, newest first."""
    newest_first = (DeletedFile.deleted_at.desc(), DeletedFile.id.desc())
    stmt = select(DeletedFile).where(_not_back()).order_by(*newest_first)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_record(row) for row in session.scalars(stmt)]


def forget_deleted(session: Session, ids: Sequence[int]) -> int:
    """Drop remembered deletions; returns how many there were."""
    if not ids:
        return 0
    result = session.execute(delete(DeletedFile).where(DeletedFile.id.in_(list(ids))))
    return int(getattr(result, "rowcount", 0) or 0)


def matching_deletion(
    session: Session, *, sha256: str | None = None, site: str | None = None, version_id: str | None = None
) -> DeletedFileRecord | None:
    """The newest remembered deletion of the same bytes (SHA256) or the same remote version, if any."""
    conditions = []
    if sha256:
        conditions.append(DeletedFile.sha256 == sha256.upper())
    if site and version_id:
        conditions.append((DeletedFile.site == site) & (DeletedFile.version_id == str(version_id)))
    if not conditions:
        return None
    stmt = (
        select(DeletedFile)
        .where(or_(*conditions), _not_back())
        .order_by(DeletedFile.deleted_at.desc(), DeletedFile.id.desc())
        .limit(1)
    )
    row = session.scalars(stmt).first()
    return _record(row) if row is not None else None


def deletion_origins(session: Session, ids: Sequence[int]) -> dict[int, DeletionOrigin]:
    """The finished trash step (and its operation) behind each of these remembered deletions; a deletion
    made by another tool, or before the journal existed, has none."""
    if not ids:
        return {}
    deleted_id = as_integer(json_field(OrganizeStep.detail, "$.deleted_file_id"))
    rows = session.execute(
        select(
            OrganizeStep.detail, OrganizeStep.operation_id, OrganizeOperation.state, OrganizeOperation.label
        )
        .join(OrganizeOperation, OrganizeOperation.id == OrganizeStep.operation_id)
        .where(OrganizeStep.action == "trash", OrganizeStep.state == "done", deleted_id.in_(list(ids)))
    ).all()
    operations = {operation_id for _, operation_id, _, _ in rows}
    counted = session.execute(
        select(OrganizeStep.operation_id, func.count())
        .where(OrganizeStep.operation_id.in_(operations), OrganizeStep.action == "trash")
        .group_by(OrganizeStep.operation_id)
    ).all()
    counts = {int(row[0]): int(row[1]) for row in counted}
    origins: dict[int, DeletionOrigin] = {}
    for stored, operation_id, state, label in rows:
        detail = step_paths.local(stored)  # where this machine reaches the trashed files
        entries = detail.get("trashed") or []
        origins[int(detail["deleted_file_id"])] = DeletionOrigin(
            deleted_file_id=int(detail["deleted_file_id"]),
            operation_id=operation_id,
            operation_state=state,
            operation_label=label,
            files_in_operation=counts.get(operation_id, 1),
            trashed=tuple(str(entry.get("trashed") or "") for entry in entries if isinstance(entry, dict)),
        )
    return origins


def _not_back() -> ColumnElement[bool]:
    """True for a deletion whose bytes (SHA256) or remote version no present library file has."""
    present = Asset.status != "missing"
    same_bytes = exists().where(Asset.sha256 == DeletedFile.sha256, present)
    same_version = exists().where(
        RemoteLink.asset_id == Asset.id,
        RemoteLink.site == DeletedFile.site,
        RemoteLink.version_id == DeletedFile.version_id,
        present,
    )
    back = or_(
        and_(DeletedFile.sha256.is_not(None), same_bytes),
        and_(DeletedFile.site.is_not(None), DeletedFile.version_id.is_not(None), same_version),
    )
    return not_(back)


def _record(row: DeletedFile) -> DeletedFileRecord:
    kinds = {member.value: member for member in AssetKind}
    return DeletedFileRecord(
        id=row.id,
        path=row.path,
        file_name=row.file_name,
        kind=kinds.get(row.kind, AssetKind.UNKNOWN),
        size=row.size,
        sha256=row.sha256,
        site=row.site,
        model_id=row.model_id,
        version_id=row.version_id,
        model_name=row.model_name,
        version_name=row.version_name,
        deleted_at=row.deleted_at,
    )
