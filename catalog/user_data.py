"""Writes of what the user says about an asset: names, notes, ratings, labels, covers, overrides.

Every field the user sets is remembered in ``assets.edited_fields``; sidecar import (a rescan) then leaves
that field alone even when the user emptied it on purpose. A bulk edit (:func:`apply_bulk_edit`) is the
same writes over many assets in the caller's one transaction; overrides (:func:`set_overrides`) keep the
file's own identification in ``kind`` / ``architecture`` and the user's word beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from catalog.db import chunks, utc_now
from catalog.dialect_insert import insert_for
from catalog.errors import InvalidValueError, NotFoundError
from catalog.json_field import json_field
from catalog.labels import COLLECTIONS, TAGS, set_asset_labels
from catalog.normalize import clean_label, clean_text, label_key, unique_labels
from catalog.orm import Asset, Preview
from catalog.reading import assets_by_ids
from catalog.records import BulkEdit, Overrides, PreviewRecord, UserDataChanges


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
    if changes.description is not None:
        values["description"] = clean_text(changes.description)
    if changes.hidden is not None:
        values["hidden"] = changes.hidden
    if changes.tags is not None:
        set_asset_labels(session, TAGS, asset_id, unique_labels(changes.tags))
    if changes.collections is not None:
        set_asset_labels(session, COLLECTIONS, asset_id, unique_labels(changes.collections))
    touched = set(values)
    touched.update(name for name in ("tags", "collections") if getattr(changes, name) is not None)
    values["edited_fields"] = sorted(set(edited) | touched)
    values["updated_at"] = utc_now()
    session.execute(update(Asset).where(Asset.id == asset_id).values(**values))


_FLAG_FIELDS = ("rating", "favorite", "nsfw", "hidden")


def apply_bulk_edit(session: Session, asset_ids: Sequence[int], edit: BulkEdit) -> list[int]:
    """Apply ``edit`` to every one of ``asset_ids`` (the caller's one transaction); returns the ids changed.

    Labels are merged into each asset's own, in its order (added ones appended, removed ones dropped,
    case-insensitively); a field the edit leaves ``None`` keeps each asset's own value. Unknown ids raise
    NotFoundError before anything is written.
    """
    if edit.rating is not None and not 0 <= edit.rating <= 5:
        raise InvalidValueError(f"A rating goes from 0 (unrated) to 5 stars, not {edit.rating}.")
    records = assets_by_ids(session, list(dict.fromkeys(asset_ids)))
    known = {record.id for record in records}
    unknown = [asset_id for asset_id in asset_ids if asset_id not in known]
    if unknown:
        raise NotFoundError(f"No asset with id {unknown[0]} in the library (it may have been forgotten).")
    flags = {name: getattr(edit, name) for name in _FLAG_FIELDS if getattr(edit, name) is not None}
    changed: list[int] = []
    for record in records:
        values: dict[str, Any] = {
            name: value for name, value in flags.items() if getattr(record, name) != value
        }
        base_tags = edit.set_tags if edit.set_tags is not None else record.tags
        tags = merged_labels(base_tags, edit.add_tags, edit.remove_tags)
        if tags != record.tags:
            set_asset_labels(session, TAGS, record.id, tags)
            values.setdefault("edited_fields", set()).add("tags")
        collections = merged_labels(record.collections, edit.add_collections, edit.remove_collections)
        if collections != record.collections:
            set_asset_labels(session, COLLECTIONS, record.id, collections)
            values.setdefault("edited_fields", set()).add("collections")
        if not values:
            continue
        touched = set(values.pop("edited_fields", set())) | set(values)
        edited = require_asset(session, record.id)
        values["edited_fields"] = sorted(set(edited) | touched)
        values["updated_at"] = utc_now()
        session.execute(update(Asset).where(Asset.id == record.id).values(**values))
        changed.append(record.id)
    return changed


def merged_labels(current: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> tuple[str, ...]:
    """``current`` with ``add`` appended and ``remove`` taken out, each label once ignoring case."""
    removed = {label_key(name) for name in unique_labels(remove)}
    kept = [name for name in unique_labels(current) if label_key(name) not in removed]
    have = {label_key(name) for name in kept}
    for name in unique_labels(add):
        if label_key(name) not in have and label_key(name) not in removed:
            have.add(label_key(name))
            kept.append(name)
    return tuple(kept)


def set_overrides(session: Session, asset_id: int, overrides: Overrides) -> None:
    """Write the user's kind / architecture over the file's identification (``reset`` clears both first).

    ``kind`` / ``architecture`` hold the effective value (so every filter, count and sidebar facet keeps
    using its index, see :mod:`catalog.search`), ``kind_override`` / ``architecture_override`` the user's
    word, and the stored ``identification`` the file's own, which a reset puts back. An override equal to
    what the file says is stored as no override: the user agrees with the file.
    """
    require_asset(session, asset_id)
    identified = session.execute(
        select(
            func.coalesce(json_field(Asset.identification, "$.kind"), "unknown"),
            func.coalesce(json_field(Asset.identification, "$.architecture"), "unknown"),
            Asset.kind_override,
            Asset.architecture_override,
        ).where(Asset.id == asset_id)
    ).one()
    file_kind, file_architecture, kind_override, architecture_override = identified
    if overrides.reset:
        kind_override = architecture_override = None
    if overrides.kind is not None:
        kind_override = None if overrides.kind.value == file_kind else overrides.kind.value
    if overrides.architecture is not None:
        same = overrides.architecture.value == file_architecture
        architecture_override = None if same else overrides.architecture.value
    session.execute(
        update(Asset)
        .where(Asset.id == asset_id)
        .values(
            kind_override=kind_override,
            architecture_override=architecture_override,
            kind=kind_override or file_kind,
            architecture=architecture_override or file_architecture,
            updated_at=utc_now(),
        )
    )


def reapply_overrides(session: Session, asset_ids: Sequence[int]) -> None:
    """Put the user's overrides back into ``kind`` / ``architecture`` after a write that copied the file's
    identification there (a rescan of a changed file, a moved file merged into its old row)."""
    for chunk in chunks(sorted(set(asset_ids))):
        session.execute(
            update(Asset)
            .where(
                Asset.id.in_(chunk),
                (Asset.kind_override.is_not(None)) | (Asset.architecture_override.is_not(None)),
            )
            .values(
                kind=func.coalesce(Asset.kind_override, Asset.kind),
                architecture=func.coalesce(Asset.architecture_override, Asset.architecture),
            )
        )


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
    insert_stmt = insert_for(session)(Preview).values(
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
            .having(func.max(case((Preview.is_cover, 1), else_=0)) == 0)
        )
        session.execute(update(Preview).where(Preview.id.in_(firsts)).values(is_cover=True))
