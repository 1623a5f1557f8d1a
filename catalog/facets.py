"""Sidebar counts over the whole library.

Every count is read from an index, never from the asset rows (which carry descriptions and metadata and are
wide): one GROUP BY over ``ix_assets_facets`` (status, kind, architecture, root, favorite) gives the totals
in index order without sorting, the partial index of hidden files gives what to subtract (hidden files are
not shown), the partial index of unhashed files gives that count, and label counts are "all links" minus
"links of missing assets" (few), both read from the link tables' indexes. The base-model labels per
architecture (the filter bar's choices) come from their own partial index
(:func:`catalog.queries.base_model_labels`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from catalog.db import driver_connection
from catalog.labels import COLLECTIONS, TAGS, LabelKind
from catalog.orm import ASSETS, UNHASHED_FROM, table_of
from catalog.queries import base_model_labels
from catalog.records import Facets
from core.taxonomy import Architecture, AssetKind, FileStatus

_MISSING = FileStatus.MISSING.value
_PROBLEMS = {FileStatus.CORRUPT.value, FileStatus.UNSAFE.value, FileStatus.UNREADABLE.value, _MISSING}
_A = ASSETS.c
# The hidden files' groups, from their partial index (named: SQLite, knowing nothing of how few they are,
# would rather walk ix_assets_facets in GROUP BY order and test every row: 78 ms on 100k assets).
_GROUPED = "status, kind, architecture, root_id, favorite"
_HIDDEN_GROUPS = (
    f"SELECT {_GROUPED}, count(*) FROM assets INDEXED BY ix_assets_hidden WHERE hidden GROUP BY {_GROUPED}"
)


def facets(session: Session) -> Facets:
    """Counts of the files the library views show: hidden files are left out (their groups, read from the
    partial index ``ix_assets_hidden``, are subtracted), problems count whether hidden or not."""
    columns = (_A.status, _A.kind, _A.architecture, _A.root_id, _A.favorite)
    groups = session.execute(select(*columns, func.count()).group_by(*columns)).all()
    hidden = session.execute(text(_HIDDEN_GROUPS)).all()
    total = favorites = problems = 0
    by_kind: Counter[AssetKind] = Counter()
    by_architecture: Counter[Architecture] = Counter()
    by_root: Counter[int] = Counter()
    rows = [(*group[:-1], group[-1], False) for group in groups]
    rows += [(*group[:-1], -group[-1], True) for group in hidden]
    for status, kind, architecture, root_id, favorite, count, subtracted in rows:
        if status in _PROBLEMS and not subtracted:
            problems += count
        if status == _MISSING:
            continue
        total += count
        by_kind[AssetKind(kind)] += count
        by_architecture[Architecture(architecture)] += count
        if root_id is not None:
            by_root[root_id] += count
        if favorite:
            favorites += count
    unhashed = session.scalar(text(f"SELECT count(*) FROM {UNHASHED_FROM}")) or 0
    tags = {name: count for name, count in _label_counts(session, TAGS).items() if count}
    return Facets(
        total=total,
        by_kind=dict(by_kind),
        by_architecture=dict(by_architecture),
        by_root=dict(by_root),
        tags=tags,
        collections=_label_counts(session, COLLECTIONS),
        favorites=favorites,
        problems=problems,
        unhashed=unhashed,
        base_models=base_model_labels(driver_connection(session)),
    )


def _label_counts(session: Session, kind: LabelKind) -> dict[str, int]:
    """Present assets per label, alphabetically; labels whose assets are all missing count 0."""
    link: Table = table_of(kind.link)
    label: Table = table_of(kind.label)
    label_id: Any = link.c[kind.link_label_id.key]
    every: dict[int, int] = dict(session.execute(select(label_id, func.count()).group_by(label_id)).all())
    missing_ids = select(_A.id).where(_A.status == _MISSING)
    missing: dict[int, int] = dict(
        session.execute(
            select(label_id, func.count()).where(link.c.asset_id.in_(missing_ids)).group_by(label_id)
        ).all()
    )
    names = session.execute(select(label.c.id, label.c.name).order_by(label.c.key)).all()
    return {name: every.get(label_key, 0) - missing.get(label_key, 0) for label_key, name in names}
