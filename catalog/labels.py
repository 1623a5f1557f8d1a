"""Tags and collections: shared, case-insensitive names linked to assets.

Both are a name table (``tags`` / ``collections``, unique on the case-folded ``key``) and a link table
with a position. One generic implementation serves both so their rules cannot drift apart: a label keeps
the spelling it was first created with, an asset's labels keep the order the user gave, and a label that no
asset uses any more is deleted (there is no separate "create tag" action in the app, so an unused label is
only clutter in the sidebar).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from catalog.db import chunks, utc_now
from catalog.dialect_insert import insert_for
from catalog.normalize import label_key
from catalog.orm import AssetCollection, AssetTag, Collection, Tag


@dataclass(frozen=True, slots=True)
class LabelKind:
    """The tables and columns of one label family (tags or collections)."""

    label: type[Tag] | type[Collection]
    link: type[AssetTag] | type[AssetCollection]
    link_label_id: Any
    created_column: str | None = None  # set to the creation time of a new label


TAGS = LabelKind(Tag, AssetTag, AssetTag.tag_id)
COLLECTIONS = LabelKind(Collection, AssetCollection, AssetCollection.collection_id, "created_at")


def label_ids(session: Session, kind: LabelKind, names: Iterable[str]) -> dict[str, int]:
    """Ids of the labels named ``names`` (already cleaned), created when new; keyed by label key."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(label_key(name), name)
    if not wanted:
        return {}
    keys = list(wanted)
    found = _existing(session, kind, keys)
    missing = [key for key in keys if key not in found]
    if missing:
        stamp = {kind.created_column: utc_now()} if kind.created_column else {}
        rows = [{"name": wanted[key], "key": key, **stamp} for key in missing]
        session.execute(insert_for(session)(kind.label).on_conflict_do_nothing(index_elements=["key"]), rows)
        found.update(_existing(session, kind, missing))
    return found


def set_asset_labels(session: Session, kind: LabelKind, asset_id: int, names: Sequence[str]) -> None:
    """Replace the labels of one asset by ``names`` (already normalised), in that order.

    One statement deletes the links to labels no longer named, one inserts the new links and gives the
    kept ones their new position: a server catalog rebuilds the asset's search document once per
    statement that changes its labels, and not for a new order alone (migration 0013), so adding a tag
    to a file with 20 is one rebuild, not 41 (a delete of all, then an insert per row)."""
    previous = set(session.scalars(select(kind.link_label_id).where(kind.link.asset_id == asset_id)).all())
    ids = label_ids(session, kind, names)
    gone = previous - set(ids.values())
    if gone:
        session.execute(delete(kind.link).where(kind.link.asset_id == asset_id, kind.link_label_id.in_(gone)))
    rows = [
        {"asset_id": asset_id, kind.link_label_id.key: ids[label_key(name)], "position": position}
        for position, name in enumerate(names)
    ]
    if rows:
        links = insert_for(session)(kind.link).values(rows)
        session.execute(
            links.on_conflict_do_update(
                index_elements=[kind.link.asset_id, kind.link_label_id],
                set_={"position": links.excluded.position},
            )
        )
    prune(session, kind, gone)


def add_labels(session: Session, kind: LabelKind, names_by_asset: Mapping[int, Sequence[str]]) -> None:
    """Link each asset to its labels (appended after any it has); used by bulk imports."""
    ids = label_ids(session, kind, [name for names in names_by_asset.values() for name in names])
    rows = [
        {"asset_id": asset_id, kind.link_label_id.key: ids[label_key(name)], "position": position}
        for asset_id, names in names_by_asset.items()
        for position, name in enumerate(names)
    ]
    if rows:
        session.execute(insert_for(session)(kind.link).on_conflict_do_nothing(), rows)


def prune(session: Session, kind: LabelKind, label_ids_to_check: Iterable[int] | None = None) -> None:
    """Delete labels no asset uses; only ``label_ids_to_check`` when given (cheap after one edit)."""
    unused = ~exists().where(kind.link_label_id == kind.label.id)
    if label_ids_to_check is None:
        session.execute(delete(kind.label).where(unused))
        return
    for chunk in chunks(sorted(label_ids_to_check)):
        session.execute(delete(kind.label).where(kind.label.id.in_(chunk), unused))


def _existing(session: Session, kind: LabelKind, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        stmt = select(kind.label.key, kind.label.id).where(kind.label.key.in_(keys[start : start + 500]))
        found.update(dict(session.execute(stmt).all()))
    return found
