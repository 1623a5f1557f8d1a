"""Sidebar counts over the whole library, a handful of GROUP BY queries in one read transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from catalog.orm import Asset, AssetCollection, AssetTag, Collection, Tag
from catalog.records import Facets
from core.taxonomy import Architecture, AssetKind, FileStatus

_MISSING = FileStatus.MISSING.value
_PROBLEMS = (FileStatus.CORRUPT.value, FileStatus.UNSAFE.value, _MISSING)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def facets(session: Session) -> Facets:
    present = Asset.status != _MISSING
    total, favorites, problems, unhashed = session.execute(
        select(
            _count_if(present),
            _count_if(and_(present, Asset.favorite)),
            _count_if(Asset.status.in_(_PROBLEMS)),
            _count_if(and_(Asset.status == FileStatus.OK.value, Asset.sha256.is_(None))),
        )
    ).one()

    def grouped(column: Any) -> dict[Any, int]:
        stmt = select(column, func.count()).where(present).group_by(column)
        return {key: count for key, count in session.execute(stmt) if key is not None}

    tags = session.execute(
        select(Tag.name, func.count())
        .select_from(AssetTag)
        .join(Tag, Tag.id == AssetTag.tag_id)
        .join(Asset, Asset.id == AssetTag.asset_id)
        .where(present)
        .group_by(Tag.id)
        .order_by(Tag.key)
    )
    collections = session.execute(
        select(Collection.name, func.count(Asset.id))
        .select_from(Collection)
        .outerjoin(AssetCollection, AssetCollection.collection_id == Collection.id)
        .outerjoin(Asset, and_(Asset.id == AssetCollection.asset_id, present))
        .group_by(Collection.id)
        .order_by(Collection.key)
    )
    return Facets(
        total=total,
        by_kind={AssetKind(kind): count for kind, count in grouped(Asset.kind).items()},
        by_architecture={Architecture(arch): count for arch, count in grouped(Asset.architecture).items()},
        by_root=grouped(Asset.root_id),
        tags=dict(tags.all()),
        collections=dict(collections.all()),
        favorites=favorites,
        problems=problems,
        unhashed=unhashed,
    )
