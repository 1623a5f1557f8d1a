"""Storing hashes, and recognising a moved file by its content.

When a file is moved outside the app, the scanner first sees a missing row (old path) and a new row (new
path). Once the new row is hashed, its SHA256 tells us both are one file. The *old* row survives, because
other tables and the user's selection refer to its id; the new row's location, stat and identification move
onto it and the new row is deleted. Whatever the new row had gained meanwhile (sidecar previews found next
to the new location, a rating given before hashing finished) fills what the old row lacks, never replacing
the user's own data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from catalog.db import utc_now
from catalog.errors import NotFoundError
from catalog.labels import COLLECTIONS, TAGS, prune
from catalog.orm import Asset, AssetCollection, AssetTag, Preview, RemoteLink
from catalog.remote import complete_families
from catalog.user_data import ensure_covers, reapply_overrides
from core.file_hashes import FileHashes
from core.taxonomy import FileStatus

# Columns describing the file on disk: they follow the file from the new row to the surviving row.
_FILE_COLUMNS = (
    "root_id",
    "path",
    "file_name",
    "size",
    "mtime_ns",
    "inode",
    "format",
    "kind",
    "architecture",
    "network",
    "variant",
    "prediction",
    "precision",
    "status",
    "status_reason",
    "identification",
    "embedded_metadata",
    "reasons",
    "refusals",
)
# User columns: the surviving row keeps its values; an empty, never-edited one takes the new row's value.
_USER_COLUMNS = (
    "display_name",
    "notes",
    "rating",
    "favorite",
    "nsfw",
    "preferred_weight",
    "base_model_label",
    "description",
    "trigger_words",
)


def hash_values(hashes: FileHashes) -> dict[str, Any]:
    """Column values for ``hashes``: upper-case, as Civitai prints them."""
    return {
        "sha256": hashes.sha256.upper(),
        "blake3": hashes.blake3.upper(),
        "crc32": hashes.crc32.upper(),
        "autov1": hashes.autov1.upper() if hashes.autov1 else None,
        "autov2": hashes.autov2.upper(),
        "autov3": hashes.autov3.upper() if hashes.autov3 else None,
        "hashed_at": utc_now(),
    }


def set_hashes(session: Session, asset_id: int, hashes: FileHashes) -> int:
    """Store hashes; merge into a missing row with the same SHA256 if there is one. Returns the row kept."""
    status = session.scalar(select(Asset.status).where(Asset.id == asset_id))
    if status is None:
        raise NotFoundError(f"No asset with id {asset_id} in the library (it may have been forgotten).")
    values = hash_values(hashes)
    twin = None
    if status != FileStatus.MISSING.value:
        twin = session.scalar(
            select(Asset.id)
            .where(
                Asset.sha256 == values["sha256"],
                Asset.status == FileStatus.MISSING.value,
                Asset.id != asset_id,
            )
            .order_by(Asset.missing_since.desc(), Asset.id.desc())
            .limit(1)
        )
    if twin is None:
        session.execute(update(Asset).where(Asset.id == asset_id).values(**values, updated_at=utc_now()))
        return asset_id
    _merge(session, keep=twin, drop=asset_id, hashes=values)
    return twin


def _merge(session: Session, *, keep: int, drop: int, hashes: dict[str, Any]) -> None:
    columns = [getattr(Asset, name) for name in (*_FILE_COLUMNS, *_USER_COLUMNS, "edited_fields")]
    new = session.execute(select(*columns).where(Asset.id == drop)).one()._asdict()
    old = session.execute(select(*columns).where(Asset.id == keep)).one()._asdict()
    edited = set(old["edited_fields"] or ())

    values: dict[str, Any] = {name: new[name] for name in _FILE_COLUMNS}
    for name in _USER_COLUMNS:
        if name not in edited and not old[name] and new[name]:
            values[name] = new[name]
    values.update(
        hashes,
        edited_fields=sorted(edited | set(new["edited_fields"] or ())),
        prior_status=None,
        missing_since=None,
        updated_at=utc_now(),
    )

    _move_children(session, keep=keep, drop=drop, take_tags="tags" not in edited)
    # The new row goes first: it holds the path the surviving row is about to take (paths are unique).
    session.execute(delete(Asset).where(Asset.id == drop))
    session.execute(update(Asset).where(Asset.id == keep).values(**values))
    reapply_overrides(session, [keep])  # the surviving row keeps the user's kind / architecture
    complete_families(session, [keep])  # and its Civitai match's label where it decided a family
    prune(session, TAGS)
    prune(session, COLLECTIONS)


def _move_children(session: Session, *, keep: int, drop: int, take_tags: bool) -> None:
    """Give ``keep`` the previews, links, collections (and tags if it has none) that only ``drop`` has."""
    keep_has_cover = session.scalar(select(exists().where(Preview.asset_id == keep, Preview.is_cover)))
    moved_preview: dict[str, Any] = {"asset_id": keep}
    if keep_has_cover:
        moved_preview["is_cover"] = False
    session.execute(
        update(Preview)
        .where(
            Preview.asset_id == drop,
            Preview.path.not_in(select(Preview.path).where(Preview.asset_id == keep)),
        )
        .values(**moved_preview)
    )
    session.execute(
        update(RemoteLink)
        .where(
            RemoteLink.asset_id == drop,
            RemoteLink.site.not_in(select(RemoteLink.site).where(RemoteLink.asset_id == keep)),
        )
        .values(asset_id=keep)
    )
    session.execute(
        update(AssetCollection)
        .where(
            AssetCollection.asset_id == drop,
            AssetCollection.collection_id.not_in(
                select(AssetCollection.collection_id).where(AssetCollection.asset_id == keep)
            ),
        )
        .values(asset_id=keep)
    )
    keep_has_tags = session.scalar(select(exists().where(AssetTag.asset_id == keep)))
    if take_tags and not keep_has_tags:
        session.execute(update(AssetTag).where(AssetTag.asset_id == drop).values(asset_id=keep))
    ensure_covers(session, [keep])
