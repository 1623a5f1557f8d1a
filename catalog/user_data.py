"""Writes of what the user says about an asset: names, notes, ratings, labels, covers.

Every field the user sets is remembered in ``assets.edited_fields``; sidecar import (a rescan) then leaves
that field alone even when the user emptied it on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from catalog.db import chunks, utc_now
from catalog.errors import InvalidValueError, NotFoundError
from catalog.labels import COLLECTIONS, TAGS, set_asset_labels
from catalog.normalize import clean_label, clean_text, unique_labels
from catalog.orm import Asset, Preview
from catalog.records import PreviewRecord, UserDataChanges


def require_asset(session: Session, asset_id: int) -> list[str]:
    """The asset's ``edited_fields``; raises NotFoundError when there is no such asset."""
    edited = session.scalar(select(Asset.edited_fields).where(Asset.id == asset_id))
    if edited is None:
        raise NotFoundError(f"No asset with id {asset_id} in the library (it may have been forgotten).")
    return list(edited)


def validate(changes: UserDataChanges) -> None:
    if changes.rating is not None and not 0 <= changes.rating <= 5:
        raise InvalidValueError(f"A rating goes from 0 (unrated) to 5 stars, not {changes.rating}.")
    if changes.preferred_weight is not None and not math.isfinite(changes.preferred_weight):
        raise InvalidValueError(f"The preferred weight must be a number, not {changes.preferred_weight}.")


def unique_words(words: Sequence[str]) -> list[str]:
    """Trigger words without blanks and case-insensitive repeats (CLIP lower-cases prompts anyway)."""
    return list(unique_labels(words))


def apply_user_changes(session: Session, asset_id: int, changes: UserDataChanges) -> None:
    """Write ``changes`` to one asset (the caller's transaction); None fields are left alone."""
    validate(changes)
    edited = require_asset(session, asset_id)
    values: dict[str, Any] = {}
    if changes.display_name is not None:
        values["display_name"] = clean_label(changes.display_name)
    if changes.notes is not None:
        values["notes"] = changes.notes.strip()
    if changes.rating is not None:
        values["rating"] = changes.rating
    if changes.favorite is not None:
        values["favorite"] = changes.favorite
    if changes.nsfw is not None:
        values["nsfw"] = changes.nsfw
    if changes.trigger_words is not None:
        values["trigger_words"] = unique_words(changes.trigger_words)
    if changes.preferred_weight is not None:
        values["preferred_weight"] = changes.preferred_weight
    if changes.base_model_label is not None:
        values["base_model_label"] = clean_text(changes.base_model_label)
    if changes.tags is not None:
        set_asset_labels(session, TAGS, asset_id, unique_labels(changes.tags))
    if changes.collections is not None:
        set_asset_labels(session, COLLECTIONS, asset_id, unique_labels(changes.collections))
    touched = set(values)
    touched.update(name for name in ("tags", "collections") if getattr(changes, name) is not None)
    values["edited_fields"] = sorted(set(edited) | touched)
    values["updated_at"] = utc_now()
    session.execute(update(Asset).where(Asset.id == asset_id).values(**values))


def add_preview(
    session: Session,
    asset_id: int,
    path: str,
    source: str,
    *,
    make_cover: bool,
    width: int | None,
    height: int | None,
) -> PreviewRecord:
    """Add (or update, when the asset already has this path) one preview; see ``Library.add_preview``."""
    require_asset(session, asset_id)
    insert_stmt = sqlite_insert(Preview).values(
        asset_id=asset_id,
        path=path,
        source=source,
        is_cover=False,
        width=width,
        height=height,
        added_at=utc_now(),
    )
    # The same picture added twice stays one preview; new dimensions fill in, unknown ones do not erase.
    stmt = insert_stmt.on_conflict_do_update(
        index_elements=["asset_id", "path"],
        set_={
            "width": func.coalesce(insert_stmt.excluded.width, Preview.width),
            "height": func.coalesce(insert_stmt.excluded.height, Preview.height),
        },
    ).returning(Preview.id)
    preview_id = session.execute(stmt).scalar_one()
    if make_cover:
        set_cover(session, asset_id, preview_id)
    else:
        ensure_covers(session, [asset_id])
    row = session.execute(
        select(Preview.path, Preview.source, Preview.is_cover, Preview.width, Preview.height).where(
            Preview.id == preview_id
        )
    ).one()
    return PreviewRecord(
        id=preview_id,
        path=row.path,
        source=row.source,
        is_cover=bool(row.is_cover),
        width=row.width,
        height=row.height,
    )


def set_cover(session: Session, asset_id: int, preview_id: int) -> None:
    owner = session.scalar(select(Preview.asset_id).where(Preview.id == preview_id))
    if owner != asset_id:
        raise NotFoundError(f"Preview {preview_id} is not a preview of asset {asset_id}.")
    # Clear first: a partial unique index allows one cover per asset at any moment.
    session.execute(
        update(Preview).where(Preview.asset_id == asset_id, Preview.is_cover).values(is_cover=False)
    )
    session.execute(update(Preview).where(Preview.id == preview_id).values(is_cover=True))
    session.execute(update(Asset).where(Asset.id == asset_id).values(updated_at=utc_now()))


def ensure_covers(session: Session, asset_ids: Sequence[int]) -> None:
    """Make the oldest preview the cover of each of ``asset_ids`` that has previews but no cover."""
    for chunk in chunks(sorted(set(asset_ids))):
        firsts = (
            select(func.min(Preview.id))
            .where(Preview.asset_id.in_(chunk))
            .group_by(Preview.asset_id)
            .having(func.max(Preview.is_cover) == 0)
        )
        session.execute(update(Preview).where(Preview.id.in_(firsts)).values(is_cover=True))
