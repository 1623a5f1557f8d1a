"""The scanner's writes: batches of found files, missing files, moved files.

``apply_scan_batch`` is the hot path of a first scan (thousands of files), so it works in bulk: one SELECT
for the batch's known paths, one executemany INSERT for new files (ids allocated up front), one executemany
UPDATE for changed ones, then bulk inserts for tags, previews and remote links. New rows are indexed for
search by one statement per batch (:func:`_insert_indexed`); updates follow through the index's triggers.

Sidecar data (and trigger words from the file's own metadata) only ever fill user fields that are empty
and that the user never edited: a rescan must not undo a user's work. What a sidecar copied from Civitai
(names, creator, description, trained words, examples) becomes a Civitai link stored exactly as a lookup
stores it (``catalog.remote.link_values``), never the user's description or trigger words.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import PurePath
from typing import Any
from weakref import WeakKeyDictionary

import msgspec
from sqlalchemy import JSON, Dialect, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from catalog.db import chunks, utc_now
from catalog.dialect_insert import insert_for
from catalog.errors import NotFoundError
from catalog.labels import COLLECTIONS, TAGS, add_labels, prune
from catalog.machine_paths import active, read_path
from catalog.normalize import clean_text, unique_labels
from catalog.orm import ASSETS, UNHASHED_FROM, Asset, AssetTag, Preview, RemoteLink, Root, UTCDateTime
from catalog.records import ScannedFile
from catalog.remote import CIVITAI, complete_families, link_values, match_from_facts
from catalog.scan_catalog import BatchWritten
from catalog.user_data import ensure_covers, reapply_overrides, unique_words
from core.formats.sidecar_info import SidecarInfo
from core.identify.result import Identification
from core.identify.rules_version import RULES_VERSION
from core.sources.civitai_facts import CivitaiFacts
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    FileStatus,
    NetworkType,
    Precision,
    Prediction,
    Variant,
)

HASH_COLUMNS = ("sha256", "blake3", "crc32", "autov1", "autov2", "autov3")
CLEARED_HASHES: dict[str, Any] = {**dict.fromkeys(HASH_COLUMNS), "hashed_at": None}
_EMPTY_SIDECAR = SidecarInfo()


@dataclass(frozen=True, slots=True)
class _Known:
    """What the batch needs to know about a row that already exists for a scanned path."""

    id: int
    size: int
    mtime_ns: int
    description: str | None
    notes: str
    trigger_words: list[str]
    preferred_weight: float | None
    nsfw: bool
    base_model_label: str | None
    edited: frozenset[str]


def require_root(session: Session, root_id: int) -> None:
    if session.scalar(select(Root.id).where(Root.id == root_id)) is None:
        raise NotFoundError(f"No library folder with id {root_id} (it may have been removed).")


def apply_scan_batch(session: Session, root_id: int, files: Sequence[ScannedFile]) -> list[int]:
    """Insert or update ``files`` under ``root_id``; returns their asset ids in input order."""
    return write_scan_batch(session, root_id, files).ids


def write_scan_batch(session: Session, root_id: int, files: Sequence[ScannedFile]) -> BatchWritten:
    """Insert or update ``files`` under ``root_id``: :func:`apply_scan_batch`, saying which were there."""
    require_root(session, root_id)
    now = utc_now()
    latest: dict[str, ScannedFile] = {}
    for scanned in files:  # a path listed twice: the later finding wins
        latest[scanned.path] = scanned
    known = _known_rows(session, list(latest))
    new_files = [scanned for path, scanned in latest.items() if path not in known]
    ids = _allocate_ids(session, [scanned.path for scanned in new_files])

    # Sidecar tags of new assets are linked *before* the asset rows exist (foreign keys are checked at
    # commit): the FTS trigger of each asset insert then indexes its tags at once, instead of the tag
    # trigger re-indexing the asset once per tag, which made first scans three times slower.
    new_tags = {
        ids[scanned.path]: unique_labels(scanned.sidecars.tags)
        for scanned in new_files
        if scanned.sidecars and scanned.sidecars.tags
    }
    on_server = session.get_bind().dialect.name == "postgresql"
    if not on_server:  # PostgreSQL checks foreign keys at once: its tags are linked after the rows
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        add_labels(session, TAGS, new_tags)
    if new_files:
        rows = [
            {
                "id": ids[scanned.path],
                **_scan_values(scanned, now),
                **_user_fill(None, scanned),
                "root_id": root_id,
                "added_at": now,
            }
            for scanned in new_files
        ]
        _insert_indexed(session, rows)
    if on_server:
        add_labels(session, TAGS, new_tags)

    changed_rows = []
    for path, scanned in latest.items():
        row = known.get(path)
        if row is None:
            continue
        ids[path] = row.id
        values = {"id": row.id, **_scan_values(scanned, now), **_user_fill(row, scanned), "root_id": root_id}
        if row.size != scanned.size or row.mtime_ns != scanned.mtime_ns:
            values.update(CLEARED_HASHES)  # new content: the old hashes describe another file
        changed_rows.append(values)
    if changed_rows:
        _update_assets(session, changed_rows)
        rewritten = [values["id"] for values in changed_rows]
        reapply_overrides(session, rewritten)  # the user's word stays
        complete_families(session, rewritten)  # and a Civitai lookup's label where it decided a family

    _import_sidecar_links(session, latest, ids, known)
    return BatchWritten([ids[scanned.path] for scanned in files], frozenset(known))


# The columns of ``asset_fts`` and of the view ``asset_fts_document`` that builds them (migration 0009).
FTS_COLUMNS = "rowid, display_name, file_name, tags, trigger_words, notes, description, remote"
_PAUSE_INDEXING = text("INSERT INTO asset_fts_paused (one) VALUES (1)")
_RESUME_INDEXING = text("DELETE FROM asset_fts_paused")
_INDEX_ID_RANGE = text(
    f"INSERT INTO asset_fts ({FTS_COLUMNS}) SELECT {FTS_COLUMNS} FROM asset_fts_document "
    "WHERE rowid BETWEEN :first AND :last"
)
# PostgreSQL's index rows carry their words and tsvector too: built by its refresh function (0002, 0009).
_INDEX_ID_RANGE_PG = text(
    "SELECT asset_fts_refresh(ARRAY(SELECT id FROM assets WHERE id BETWEEN :first AND :last))"
)


def _insert_indexed(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new rows (ids allocated in one run, see :func:`_allocate_ids`) and index them for search.

    The search index's insert trigger is paused for the batch and the batch indexed by one statement:
    a trigger program per row cost more than the rest of the row's write (migration 0009). The pause
    lives inside this write transaction only; every other path that inserts assets keeps the trigger.
    """
    ids = [row["id"] for row in rows]
    session.execute(_PAUSE_INDEXING)
    _insert_assets(session, rows)
    index = _INDEX_ID_RANGE_PG if session.get_bind().dialect.name == "postgresql" else _INDEX_ID_RANGE
    session.execute(index, {"first": min(ids), "last": max(ids)})
    session.execute(_RESUME_INDEXING)


def _insert_assets(session: Session, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` of the rows (all with the same columns) as plain tuples.

    Values are converted by the columns' own bind processors (JSON, paths, datetimes), so what is stored
    is exactly what a Core insert stores; skipping the statement compiler and its per-row parameter
    dictionaries halves the Python cost of a first scan's writes.
    """
    columns = tuple(rows[0])
    placeholders = ", ".join([_placeholder(session)] * len(columns))
    sql = f"INSERT INTO assets ({', '.join(columns)}) VALUES ({placeholders})"
    session.connection().exec_driver_sql(sql, _tuples(session, columns, rows))


def _update_assets(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update rows by ``id``, one ``executemany`` per set of columns (see :func:`_insert_assets`)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(name for name in row if name != "id"), []).append(row)
    for columns, group in groups.items():
        mark = _placeholder(session)
        sql = f"UPDATE assets SET {', '.join(f'{name} = {mark}' for name in columns)} WHERE id = {mark}"
        session.connection().exec_driver_sql(sql, _tuples(session, (*columns, "id"), group))


def _placeholder(session: Session) -> str:
    """The driver's positional parameter: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "%s" if session.get_bind().dialect.name == "postgresql" else "?"


def _tuples(session: Session, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row's values in ``columns`` order, converted where the column has a bind processor.

    The values are taken at C speed (one ``itemgetter`` per row) and only the columns that convert
    (about half: paths, JSON, times, booleans) go through Python, instead of every column of every row.
    """
    dialect = session.get_bind().dialect
    convert = [
        (index, _per_batch(name, process))
        for index, name in enumerate(columns)
        if (process := _bind_processor(dialect, name)) is not None
    ]
    take = operator.itemgetter(*columns)
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = take(row)
        if len(columns) == 1:
            values = (values,)
        if convert:
            changed = list(values)
            for index, process in convert:
                changed[index] = process(changed[index])
            values = tuple(changed)
        out.append(values)
    return out


def _per_batch(name: str, process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process``, run once per distinct value for a time column: every row of a batch carries the
    same ``now`` (two or three conversions per row otherwise)."""
    if not isinstance(ASSETS.c[name].type, UTCDateTime):
        return process
    last_in: Any = object()
    last_out: Any = None

    def convert(value: Any) -> Any:
        nonlocal last_in, last_out
        if value is not last_in:  # the reference kept in ``last_in`` keeps the identity test sound
            last_in, last_out = value, process(value)
        return last_out

    return convert


_PROCESSORS: WeakKeyDictionary[Dialect, dict[str, Any]] = WeakKeyDictionary()


def _bind_processor(dialect: Dialect, name: str) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of column ``name`` before the driver sees it (None: nothing).

    JSON columns are encoded by msgspec instead of ``json.dumps``: the same JSON values (``None`` is
    ``null``, as SQLAlchemy stores it), compact and in UTF-8, at a seventh of the cost - five JSON
    columns per file were a fifth of a first scan's writes.
    """
    known = _PROCESSORS.setdefault(dialect, {})
    if name not in known:
        column_type = ASSETS.c[name].type
        if isinstance(column_type, JSON) and not column_type.none_as_null:
            known[name] = _encode_json
        else:
            known[name] = column_type.dialect_impl(dialect).bind_processor(dialect)
    return known[name]  # type: ignore[no-any-return]


_JSON_ENCODER = msgspec.json.Encoder()


def _encode_json(value: Any) -> str:
    return _JSON_ENCODER.encode(value).decode()


# The larger of the AUTOINCREMENT high-water mark and the current largest id (both O(1) lookups).
_LAST_ASSET_ID = text(
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'assets'), 0), "
    "coalesce((SELECT max(id) FROM assets), 0))"
)
_NEXT_ASSET_IDS = text("SELECT nextval(pg_get_serial_sequence('assets', 'id')) FROM generate_series(1, :n)")


def _allocate_ids(session: Session, paths: Sequence[str]) -> dict[str, int]:
    """Ids for new rows, chosen up front so that their tags can be linked first (see above).

    Safe because scan batches run in a write transaction (``BEGIN IMMEDIATE``): no other connection can
    insert assets until we commit. ``sqlite_sequence`` holds the largest id ever used (AUTOINCREMENT), so
    ids of forgotten assets are not reused.
    """
    if not paths:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        # The serial's sequence, asked for the whole run at once (one writer at a time: see catalog.db).
        taken = session.scalars(_NEXT_ASSET_IDS, {"n": len(paths)}).all()
        return dict(zip(paths, sorted(taken), strict=True))
    last: int = session.scalar(_LAST_ASSET_ID) or 0
    return {path: last + offset for offset, path in enumerate(paths, start=1)}


def mark_missing(session: Session, asset_ids: Sequence[int]) -> None:
    """Flag rows whose file is gone; the health status is kept in ``prior_status`` for a later relocate."""
    now = utc_now()
    for chunk in chunks(list(asset_ids)):
        session.execute(
            update(Asset)
            .where(Asset.id.in_(chunk), Asset.status != FileStatus.MISSING.value)
            .values(
                prior_status=Asset.status,
                status=FileStatus.MISSING.value,
                missing_since=now,
                updated_at=now,
            )
        )


def relocate(
    session: Session, asset_id: int, new_path: str, *, size: int, mtime_ns: int, inode: int, device: int = 0
) -> None:
    """Point an existing row at the file's new location; user data stays because the row stays."""
    row = session.execute(
        select(Asset.size, Asset.mtime_ns, Asset.status, Asset.prior_status, Asset.root_id).where(
            Asset.id == asset_id
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"No asset with id {asset_id} in the library (it may have been forgotten).")
    values: dict[str, Any] = {
        "path": new_path,
        "file_name": PurePath(new_path).name,
        "size": size,
        "mtime_ns": mtime_ns,
        "inode": inode,
        "device": device,
        "root_id": root_for_path(session, new_path, default=row.root_id),
        "updated_at": utc_now(),
    }
    if row.status == FileStatus.MISSING.value:
        values.update(status=row.prior_status or FileStatus.OK.value, prior_status=None, missing_since=None)
    if row.size != size or row.mtime_ns != mtime_ns:
        values.update(CLEARED_HASHES)
    session.execute(update(Asset).where(Asset.id == asset_id).values(**values))


def set_devices(session: Session, devices: Sequence[tuple[int, int]]) -> None:
    """Store the st_dev of unchanged files (rows cataloged before devices were, or a remounted disk)."""
    session.connection().execute(
        update(ASSETS).where(ASSETS.c.id == bindparam("asset_id")).values(device=bindparam("new_device")),
        [{"asset_id": asset_id, "new_device": device} for asset_id, device in devices],
    )


def unhashed(session: Session, limit: int | None) -> list[tuple[int, str, int]]:
    # Walks the small partial index of unhashed files, already in size order (see orm.UNHASHED_FROM).
    stmt = text(f"SELECT id, path, size, root_id FROM {UNHASHED_FROM} ORDER BY size, id LIMIT :limit")
    rows = session.execute(stmt, {"limit": -1 if limit is None else limit})
    # A folder another machine added and this one never placed: its stored path may hold other files here.
    unplaced = active().unplaced
    return [
        (asset_id, read_path(path), size) for asset_id, path, size, root_id in rows if root_id not in unplaced
    ]


def remove_assets(session: Session, asset_ids: Sequence[int]) -> None:
    for chunk in chunks(list(asset_ids)):
        session.execute(delete(Asset).where(Asset.id.in_(chunk)))
    prune(session, TAGS)
    prune(session, COLLECTIONS)


def root_for_path(session: Session, path: str, *, default: int | None) -> int | None:
    """The innermost library folder containing ``path``, else ``default``."""
    candidate = PurePath(path)
    best: tuple[int, int] | None = None
    for root_id, root_path in session.execute(select(Root.id, Root.path)):
        if candidate.is_relative_to(root_path):
            depth = len(PurePath(root_path).parts)
            if best is None or depth > best[0]:
                best = (depth, root_id)
    return best[1] if best else default


def _scan_values(scanned: ScannedFile, now: datetime) -> dict[str, Any]:
    ident = scanned.identification
    missing = scanned.status is FileStatus.MISSING
    value = _VALUES.__getitem__  # an enum member's text (``.value`` is a Python-level property)
    return {
        "path": scanned.path,
        "file_name": os.path.basename(scanned.path),  # noqa: PTH119 - no Path per row in a first scan
        "size": scanned.size,
        "mtime_ns": scanned.mtime_ns,
        "inode": scanned.inode,
        "device": scanned.device,
        "sidecar_mtime_ns": scanned.sidecar_mtime_ns,
        "identified_with": RULES_VERSION,  # what these rules made of it (a corrupt file too: not read again)
        "format": value(scanned.format),
        "kind": value(ident.kind if ident else AssetKind.UNKNOWN),
        "architecture": value(ident.architecture if ident else Architecture.UNKNOWN),
        "network": value(ident.network) if ident and ident.network else None,
        "variant": value(ident.variant) if ident and ident.variant else None,
        "prediction": value(ident.prediction) if ident and ident.prediction else None,
        "precision": value(ident.precision) if ident and ident.precision else None,
        "status": value(scanned.status),
        "status_reason": scanned.status_reason,
        "prior_status": None,
        "missing_since": now if missing else None,
        "identification": identification_json(ident),
        "embedded_metadata": dict(ident.metadata) if ident else {},
        "reasons": list(ident.reasons) if ident else [],
        "refusals": list(ident.refusals) if ident else [],
        "updated_at": now,
    }


# Every member of the enums a scanned row stores, with its text.
_VALUES: dict[StrEnum, str] = {
    member: member.value
    for enum in (FileFormat, FileStatus, AssetKind, Architecture, NetworkType, Variant, Prediction, Precision)
    for member in enum
}


def identification_json(ident: Identification | None) -> dict[str, Any] | None:
    """``Identification.to_json()`` without ``metadata``, which has its own column (it is the bulky part):
    the same keys in the same order, built without copying the metadata only to drop it."""
    if ident is None:
        return None
    value = _VALUES.__getitem__
    return {
        "kind": value(ident.kind),
        "architecture": value(ident.architecture),
        "network": value(ident.network) if ident.network else None,
        "variant": value(ident.variant) if ident.variant else None,
        "prediction": value(ident.prediction) if ident.prediction else None,
        "format": value(ident.format),
        "precision": value(ident.precision) if ident.precision else None,
        "reasons": list(ident.reasons),
        "refusals": list(ident.refusals),
        "trigger_words": list(ident.trigger_words),
    }


def _user_fill(row: _Known | None, scanned: ScannedFile) -> dict[str, Any]:
    """User fields after importing sidecar data into the empty, never-edited ones."""
    sidecar = scanned.sidecars or _EMPTY_SIDECAR
    edited = row.edited if row else frozenset()
    ident_words = scanned.identification.trigger_words if scanned.identification else ()
    civitai_label = sidecar.civitai.base_model if sidecar.civitai else None

    def fill(field: str, current: Any, candidate: Any) -> Any:
        if field in edited or current or not candidate:
            return current
        return candidate

    return {
        "description": fill("description", row.description if row else None, clean_text(sidecar.description)),
        "notes": fill("notes", row.notes if row else "", (sidecar.notes or "").strip()),
        "trigger_words": fill(
            "trigger_words",
            row.trigger_words if row else [],
            unique_words([*sidecar.trigger_words, *ident_words]),
        ),
        "preferred_weight": fill(
            "preferred_weight", row.preferred_weight if row else None, sidecar.preferred_weight
        ),
        "nsfw": fill("nsfw", row.nsfw if row else False, bool(sidecar.nsfw)),
        "base_model_label": fill(
            "base_model_label",
            row.base_model_label if row else None,
            clean_text(sidecar.base_model_label) or clean_text(civitai_label),
        ),
    }


def _known_rows(session: Session, paths: Sequence[str]) -> dict[str, _Known]:
    known: dict[str, _Known] = {}
    for start in range(0, len(paths), 500):
        stmt = select(
            Asset.id,
            Asset.path,
            Asset.size,
            Asset.mtime_ns,
            Asset.description,
            Asset.notes,
            Asset.trigger_words,
            Asset.preferred_weight,
            Asset.nsfw,
            Asset.base_model_label,
            Asset.edited_fields,
        ).where(Asset.path.in_(paths[start : start + 500]))
        for row in session.execute(stmt):
            known[row.path] = _Known(
                id=row.id,
                size=row.size,
                mtime_ns=row.mtime_ns,
                description=row.description,
                notes=row.notes,
                trigger_words=list(row.trigger_words or ()),
                preferred_weight=row.preferred_weight,
                nsfw=bool(row.nsfw),
                base_model_label=row.base_model_label,
                edited=frozenset(row.edited_fields or ()),
            )
    return known


def _import_sidecar_links(
    session: Session, latest: dict[str, ScannedFile], ids: dict[str, int], known: dict[str, _Known]
) -> None:
    """Tags, previews and Civitai links from sidecars: tags for assets without any, links for assets
    without a looked-up one (a link that came from a sidecar is refreshed with the sidecar)."""
    with_sidecars = {ids[path]: scanned.sidecars for path, scanned in latest.items() if scanned.sidecars}
    if not with_sidecars:
        return
    existing = [known[path].id for path, scanned in latest.items() if scanned.sidecars and path in known]
    tagged = _ids_having(session, existing, select(AssetTag.asset_id).distinct(), AssetTag.asset_id)
    # A remembered "not found" does not hide what a sidecar knows; a link a lookup fetched is fresher than
    # any sidecar and stays; a link that came from a sidecar follows the sidecar when it changes.
    linked = _ids_having(
        session,
        existing,
        select(RemoteLink.asset_id)
        .where(
            RemoteLink.site == CIVITAI, RemoteLink.version_id.is_not(None), RemoteLink.fetched_at.is_not(None)
        )
        .distinct(),
        RemoteLink.asset_id,
    )
    from_sidecars = {
        asset_id: link_id
        for chunk in chunks(existing)
        for asset_id, link_id in session.execute(
            select(RemoteLink.asset_id, RemoteLink.id).where(
                RemoteLink.asset_id.in_(chunk),
                RemoteLink.site == CIVITAI,
                RemoteLink.version_id.is_not(None),
                RemoteLink.fetched_at.is_(None),
            )
        )
    }
    edited_tags = {row.id for row in known.values() if "tags" in row.edited}
    now = utc_now()

    new_tags: dict[int, tuple[str, ...]] = {}
    previews: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    existing_ids = set(existing)
    for asset_id, sidecar in with_sidecars.items():
        # New assets had their sidecar tags linked before their rows were inserted.
        if sidecar.tags and asset_id in existing_ids and asset_id not in tagged | edited_tags:
            new_tags[asset_id] = unique_labels(sidecar.tags)
        previews.extend(
            {
                "asset_id": asset_id,
                "path": str(preview),
                "source": "sidecar",
                "is_cover": False,
                "width": None,
                "height": None,
                "added_at": now,
            }
            for preview in sidecar.previews
        )
        if sidecar.civitai is not None and asset_id in from_sidecars:
            refreshed.append(
                {"id": from_sidecars[asset_id], **civitai_link_values(asset_id, sidecar.civitai)}
            )
        elif sidecar.civitai is not None and asset_id not in linked:
            links.append(civitai_link_values(asset_id, sidecar.civitai))
    add_labels(session, TAGS, new_tags)
    if previews:
        session.execute(insert_for(session)(Preview).on_conflict_do_nothing(), previews)
        ensure_covers(session, list({row["asset_id"] for row in previews}))
    if links:
        session.execute(insert(RemoteLink), links)
    if refreshed:
        session.execute(update(RemoteLink), refreshed)


def civitai_link_values(asset_id: int, facts: CivitaiFacts) -> dict[str, Any]:
    """A ``remote_links`` row for what a sidecar says, the same columns a lookup writes (not fetched)."""
    return {
        "asset_id": asset_id,
        "site": CIVITAI,
        **link_values(match_from_facts(facts)),
        "fetched_at": None,
        "not_found_at": None,
    }


def _ids_having(session: Session, ids: Sequence[int], stmt: Any, column: Any) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(list(ids)):
        found.update(session.scalars(stmt.where(column.in_(chunk))))
    return found
