"""Update checks in the catalog: the newest version of each linked Civitai model, and which files it updates.

One ``model_updates`` row per Civitai model holds what the last check saw (the newest version's id, name
and date, and every version in :class:`core.sources.civitai_updates.ModelVersions`'s JSON form, so the
update section works offline) and the version the user chose to ignore.

A file **has an update** when its Civitai link names a version of a model whose newest version *for the
file's base model* (its Civitai ``baseModel`` label, :mod:`catalog.updates_bases`: a sibling version for
another base is no update)

* is another version than the file's,
* is in no file of the library (no present asset is linked to that version id), and
* is not the version the user ignored for that model (a still newer version is not ignored: the badge
  comes back).

The rule is one SQL condition (:func:`has_update`) over indexed columns, so the "has update" filter is a
probe per row or a small set of ids (:func:`assets_with_updates`), never a scan of every payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from catalog.json_field import json_field
from catalog.orm import Asset, ModelUpdate, RemoteLink
from catalog.updates_bases import NEWEST_BY_BASE, base_key_sql, newest_by_base, update_of
from core.sources.civitai_updates import ModelVersions, VersionInfo, model_versions_from_json
from core.taxonomy import FileStatus

CIVITAI = "civitai"

_OTHER_LINK = aliased(RemoteLink)
_OTHER_ASSET = aliased(Asset)


@dataclass(frozen=True, slots=True)
class AssetUpdate:
    """A library file with a newer version on Civitai: what it is now, and what is new since."""

    asset_id: int
    path: str
    file_name: str
    model_id: int
    model_name: str
    current_version_id: int
    current_version_name: str | None
    newest: VersionInfo
    newer: tuple[VersionInfo, ...]  # newest first: the versions for its base published after the file's
    checked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ModelUpdateState:
    """One model's row: the newest version seen and the version the user ignores."""

    model_id: int
    latest_version_id: int | None
    ignored_version_id: int | None
    checked_at: datetime | None
    versions: ModelVersions | None


def _in_library(version_id: Any) -> ColumnElement[bool]:
    """A present file of the library is linked to ``version_id``."""
    return exists().where(
        _OTHER_LINK.site == CIVITAI,
        _OTHER_LINK.version_id == version_id,
        _OTHER_ASSET.id == _OTHER_LINK.asset_id,
        _OTHER_ASSET.status != FileStatus.MISSING.value,
    )


def _same_model() -> ColumnElement[bool]:
    """A ``ModelUpdate`` row is the one of a ``RemoteLink``'s model (both indexed on site + model id)."""
    return and_(ModelUpdate.site == RemoteLink.site, ModelUpdate.model_id == RemoteLink.model_id)


def _latest_for_link() -> ColumnElement[Any]:
    """The newest version of the link's model for the link's base model (``catalog.updates_bases``); the
    model's newest for a link of no base, or from a check stored before the bases were kept."""
    by_base = json_field(ModelUpdate.payload, f"$.{NEWEST_BY_BASE}")
    return case(
        (
            or_(
                RemoteLink.base_model_label.is_(None),
                RemoteLink.base_model_label == "",
                by_base.is_(None),
            ),
            ModelUpdate.latest_version_id,
        ),
        else_=json_field(
            ModelUpdate.payload,
            literal(f"$.{NEWEST_BY_BASE}.") + base_key_sql(RemoteLink.base_model_label),
        ),
    )


def _update_pending() -> list[ColumnElement[bool]]:
    """The conditions on a (``RemoteLink``, ``ModelUpdate``) pair of one model that make it an update
    (``catalog.queries._UPDATE_PENDING`` says the same in its SQL)."""
    latest = _latest_for_link()
    return [
        RemoteLink.site == CIVITAI,
        RemoteLink.version_id.is_not(None),
        _same_model(),
        latest.is_not(None),
        latest != RemoteLink.version_id,
        or_(ModelUpdate.ignored_version_id.is_(None), ModelUpdate.ignored_version_id != latest),
        ~_in_library(latest),
    ]


def assets_with_updates() -> Select[Any]:
    """The ids of the assets that have an update (a set to drive or probe a library search)."""
    return select(RemoteLink.asset_id).join(ModelUpdate, _same_model()).where(*_update_pending())


def has_update(asset_id: Any) -> ColumnElement[bool]:
    """The asset whose id column is ``asset_id`` has an update (one lookup per row)."""
    return exists().where(RemoteLink.asset_id == asset_id, *_update_pending())


def linked_model_ids(session: Session) -> list[int]:
    """The Civitai models that present files of the library are linked to, each once."""
    stmt = (
        select(RemoteLink.model_id)
        .join(Asset, Asset.id == RemoteLink.asset_id)
        .where(
            RemoteLink.site == CIVITAI,
            RemoteLink.version_id.is_not(None),
            RemoteLink.model_id.is_not(None),
            Asset.status != FileStatus.MISSING.value,
        )
        .distinct()
    )
    return sorted({int(value) for value in session.scalars(stmt) if value and value.isdigit()})


def record_check(session: Session, found: Sequence[ModelVersions], now: datetime) -> None:
    """Store what a check saw of each model; the version the user ignored stays as it was."""
    for model in found:
        newest = model.newest
        values: dict[str, Any] = {
            "latest_version_id": str(newest.id) if newest else None,
            "latest_version_name": newest.name if newest else None,
            "latest_published_at": newest.published_at.isoformat()
            if newest and newest.published_at
            else None,
            "checked_at": now,
            "payload": {**model.to_json(), NEWEST_BY_BASE: newest_by_base(model.versions)},
        }
        row_id = session.scalar(
            select(ModelUpdate.id).where(
                ModelUpdate.site == CIVITAI, ModelUpdate.model_id == str(model.model_id)
            )
        )
        if row_id is None:
            session.add(ModelUpdate(site=CIVITAI, model_id=str(model.model_id), **values))
        else:
            session.execute(update(ModelUpdate).where(ModelUpdate.id == row_id).values(**values))


def last_checked(session: Session) -> datetime | None:
    """When the last update check stored anything (None: never)."""
    return session.scalar(select(func.max(ModelUpdate.checked_at)).where(ModelUpdate.site == CIVITAI))


def model_state(session: Session, model_id: int) -> ModelUpdateState | None:
    row = session.scalars(
        select(ModelUpdate).where(ModelUpdate.site == CIVITAI, ModelUpdate.model_id == str(model_id))
    ).first()
    if row is None:
        return None
    return ModelUpdateState(
        model_id=model_id,
        latest_version_id=_to_int(row.latest_version_id),
        ignored_version_id=_to_int(row.ignored_version_id),
        checked_at=row.checked_at,
        versions=model_versions_from_json(row.payload or {}),
    )


def ignore(session: Session, model_id: int, version_id: int) -> bool:
    """Remember that the user ignores ``version_id`` of ``model_id``; False for a model never checked."""
    result = session.execute(
        update(ModelUpdate)
        .where(ModelUpdate.site == CIVITAI, ModelUpdate.model_id == str(model_id))
        .values(ignored_version_id=str(version_id))
    )
    return bool(getattr(result, "rowcount", 0))


def asset_updates(session: Session, asset_ids: Sequence[int] | None = None) -> list[AssetUpdate]:
    """The files with an update (only among ``asset_ids`` when given), in path order."""
    stmt = (
        select(
            Asset.id,
            Asset.path,
            Asset.file_name,
            RemoteLink.model_id,
            RemoteLink.model_name,
            RemoteLink.version_id,
            RemoteLink.version_name,
            RemoteLink.base_model_label,
            ModelUpdate.payload,
            ModelUpdate.checked_at,
        )
        .join(RemoteLink, RemoteLink.asset_id == Asset.id)
        .join(ModelUpdate, _same_model())
        .where(*_update_pending(), Asset.status != FileStatus.MISSING.value)
        .order_by(Asset.path, Asset.id)
    )
    if asset_ids is not None:
        stmt = stmt.where(Asset.id.in_(list(asset_ids)))
    updates: dict[int, AssetUpdate] = {}
    for row in session.execute(stmt):
        payload = row.payload or {}
        versions = model_versions_from_json(payload)
        current = _to_int(row.version_id)
        if versions is None or current is None or row.id in updates:
            continue
        # The same choice as the SQL's: the newest for the file's base, once the check kept the bases.
        label = row.base_model_label if NEWEST_BY_BASE in payload else None
        newest = update_of(versions.versions, label)
        if newest is None:
            continue
        newer = tuple(v for v in versions.newer_than(current) if update_of((v,), label) is not None)
        updates[row.id] = AssetUpdate(
            asset_id=row.id,
            path=row.path,
            file_name=row.file_name,
            model_id=versions.model_id,
            model_name=row.model_name or versions.model_name,
            current_version_id=current,
            current_version_name=row.version_name,
            newest=newest,
            newer=newer,
            checked_at=row.checked_at,
        )
    return list(updates.values())


def _to_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
