"""Turning catalog rows into the frozen records of :mod:`catalog.records`.

Asset reads are Core selects (no ORM identity map or per-row bookkeeping: a page of 200 records is built in
a few milliseconds) plus one query each for the tags, collections and covers of the whole page, so a page
costs four queries however many tags each asset has. Id lists travel as one JSON parameter
(``IN (SELECT value FROM json_each(?))``) instead of hundreds of bound parameters.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Text, bindparam, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session

from catalog.labels import COLLECTIONS, TAGS, LabelKind
from catalog.orm import ASSETS, Preview, RemoteLink, Root, table_of
from catalog.records import AssetRecord, AssetRow, PreviewRecord, RemoteLinkRecord, RootRecord
from core.file_hashes import FileHashes
from core.sources.civitai_records import CivitaiImage, RecordError, parse_image
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    FileStatus,
    LibraryLayout,
    NetworkType,
    Precision,
    Prediction,
    Variant,
)
from core.text import html_to_text

_COLUMN_NAMES = (
    "id",
    "root_id",
    "path",
    "file_name",
    "size",
    "mtime_ns",
    "kind",
    "architecture",
    "format",
    "status",
    "network",
    "variant",
    "prediction",
    "precision",
    "status_reason",
    "reasons",
    "refusals",
    "sha256",
    "blake3",
    "crc32",
    "autov1",
    "autov2",
    "autov3",
    "display_name",
    "notes",
    "rating",
    "favorite",
    "nsfw",
    "trigger_words",
    "preferred_weight",
    "base_model_label",
    "description",
    "embedded_metadata",
    "added_at",
    "updated_at",
    "missing_since",
    "hidden",
    "device",
    "kind_override",
    "architecture_override",
)
# JSON and timestamp columns are read as their stored text and parsed here: SQLAlchemy's generic
# processors (a regex per timestamp, a decoder call per "[]") cost more than the rest of a page.
_RAW_COLUMNS = {
    "reasons",
    "refusals",
    "trigger_words",
    "embedded_metadata",
    "added_at",
    "updated_at",
    "missing_since",
    "favorite",
    "nsfw",
    "hidden",
}


ASSET_COLUMNS = tuple(
    type_coerce(ASSETS.c[name], Text).label(name) if name in _RAW_COLUMNS else ASSETS.c[name]
    for name in _COLUMN_NAMES
)

# Enum lookups by stored value (a dict lookup is several times cheaper than calling the enum).
_KINDS = {member.value: member for member in AssetKind}
_ARCHITECTURES = {member.value: member for member in Architecture}
_FORMATS = {member.value: member for member in FileFormat}
_STATUSES = {member.value: member for member in FileStatus}
_NETWORKS = {member.value: member for member in NetworkType}
_VARIANTS = {member.value: member for member in Variant}
_PREDICTIONS = {member.value: member for member in Prediction}
_PRECISIONS = {member.value: member for member in Precision}


def in_id_list(column: Any) -> ColumnElement[bool]:
    """``column IN (<ids>)``, the ids bound as one JSON array in parameter ``ids`` (see :func:`id_list`)."""
    values = func.json_each(bindparam("ids", type_=Text)).table_valued("value")
    return column.in_(select(values.c.value))  # type: ignore[no-any-return]


def id_list(ids: Sequence[int]) -> dict[str, str]:
    """The parameters for a statement built with :func:`in_id_list`."""
    return {"ids": json.dumps(list(ids))}


def select_assets() -> Select[Any]:
    """The column select every asset read starts from; callers add WHERE / ORDER BY / LIMIT."""
    return select(*ASSET_COLUMNS)


def _label_names(kind: LabelKind) -> Select[Any]:
    link, label = table_of(kind.link), table_of(kind.label)
    return (
        select(link.c.asset_id, label.c.name)
        .select_from(link.join(label, label.c.id == link.c[kind.link_label_id.key]))
        .where(in_id_list(link.c.asset_id))
        .order_by(link.c.asset_id, link.c.position, label.c.key)
    )


# Hot statements are built once: SQLAlchemy then reuses their cache keys and compiled SQL, which matters
# more than the SQL itself for a one-asset read (0.3 ms of Python per freshly built statement).
_PREVIEWS = table_of(Preview)
_TAG_NAMES = _label_names(TAGS)
_COLLECTION_NAMES = _label_names(COLLECTIONS)
_COVERS = select(_PREVIEWS.c.asset_id, _PREVIEWS.c.path).where(
    _PREVIEWS.c.is_cover, in_id_list(_PREVIEWS.c.asset_id)
)
_LINKS = table_of(RemoteLink)
# The sites' names and trigger words of a page's assets (real matches only, not remembered misses).
_REMOTE_FACTS = (
    select(_LINKS.c.asset_id, _LINKS.c.model_name, type_coerce(_LINKS.c.trigger_words, Text))
    .where(in_id_list(_LINKS.c.asset_id), _LINKS.c.version_id.is_not(None))
    .order_by(_LINKS.c.asset_id, _LINKS.c.site, _LINKS.c.id)
)
_ASSETS_BY_IDS = select_assets().where(in_id_list(ASSETS.c.id))
_ASSET_BY_ID = select_assets().where(ASSETS.c.id == bindparam("asset_id"))


def assets_from_rows(session: Session, rows: Sequence[Row[Any]]) -> list[AssetRecord]:
    """Records for ``rows`` (from :func:`select_assets`), in the same order."""
    if not rows:
        return []
    ids = id_list([row.id for row in rows])
    tags = _names_by_asset(session, _TAG_NAMES, ids)
    collections = _names_by_asset(session, _COLLECTION_NAMES, ids)
    covers = dict(session.execute(_COVERS, ids).all())
    remote = _remote_facts(session, ids)
    identified = _identified(session, rows)
    return [
        _asset_record(
            tuple(row),
            tags.get(row.id, ()),
            collections.get(row.id, ()),
            covers.get(row.id),
            remote.get(row.id, _NO_REMOTE),
            identified=identified.get(row.id),
        )
        for row in rows
    ]


# The file's own kind and architecture, from the stored identification (no identification: unknown).
_IDENTIFIED = select(
    ASSETS.c.id,
    func.coalesce(func.json_extract(ASSETS.c.identification, "$.kind"), "unknown"),
    func.coalesce(func.json_extract(ASSETS.c.identification, "$.architecture"), "unknown"),
).where(in_id_list(ASSETS.c.id))


def _identified(session: Session, rows: Sequence[Row[Any]]) -> dict[int, tuple[str, str]]:
    """What the files the user overrode say they are (``kind`` / ``architecture`` hold the user's word);
    one query, and only when the page has such a file (they are rare)."""
    overridden = [
        row.id for row in rows if row.kind_override is not None or row.architecture_override is not None
    ]
    if not overridden:
        return {}
    return {
        asset_id: (kind, arch) for asset_id, kind, arch in session.execute(_IDENTIFIED, id_list(overridden))
    }


_NO_REMOTE: tuple[str | None, tuple[str, ...]] = (None, ())


def _remote_facts(session: Session, ids: dict[str, str]) -> dict[int, tuple[str | None, tuple[str, ...]]]:
    """(model name, trigger words) the sites give for each asset of a page, in one query."""
    names: dict[int, str | None] = {}
    words: dict[int, list[str]] = defaultdict(list)
    for asset_id, model_name, raw in session.execute(_REMOTE_FACTS, ids).all():
        names.setdefault(asset_id, model_name)
        for word in _strings(raw):
            if word not in words[asset_id]:
                words[asset_id].append(word)
    return {asset_id: (names[asset_id], tuple(words[asset_id])) for asset_id in names}


def assets_by_ids(session: Session, ids: Sequence[int]) -> list[AssetRecord]:
    """Records for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    found = {row.id: row for row in session.execute(_ASSETS_BY_IDS, id_list(ids))}
    return assets_from_rows(session, [found[asset_id] for asset_id in ids if asset_id in found])


def asset_by_id(session: Session, asset_id: int) -> AssetRecord | None:
    rows = session.execute(_ASSET_BY_ID, {"asset_id": asset_id}).all()
    records = assets_from_rows(session, rows)
    return records[0] if records else None


# -- light rows: what a page shows (grid, table, a listing) --------------------------------------------

# One statement per page: the shown columns and the cover path (a lookup in the partial unique index
# ``uq_previews_cover``, hence the literal ``is_cover = 1``), with no tags, collections or remote facts.
_ROW_COVER = (
    select(_PREVIEWS.c.path)
    .where(_PREVIEWS.c.asset_id == ASSETS.c.id, _PREVIEWS.c.is_cover == literal_column("1"))
    .limit(1)
    .scalar_subquery()
)
_ROW_COLUMN_NAMES = (
    "id",
    "root_id",
    "path",
    "file_name",
    "size",
    "kind",
    "architecture",
    "format",
    "status",
    "network",
    "status_reason",
    "missing_since",
    "display_name",
    "rating",
    "favorite",
    "nsfw",
    "base_model_label",
    "added_at",
    "hidden",
    "kind_override",
    "architecture_override",
)
ROW_COLUMNS = (
    *(
        type_coerce(ASSETS.c[name], Text).label(name) if name in _RAW_COLUMNS else ASSETS.c[name]
        for name in _ROW_COLUMN_NAMES
    ),
    _ROW_COVER.label("cover_path"),
)
_ROWS_BY_IDS = select(*ROW_COLUMNS).where(in_id_list(ASSETS.c.id))


def select_rows() -> Select[Any]:
    """The column select of :class:`AssetRow` reads; callers add WHERE / ORDER BY / LIMIT."""
    return select(*ROW_COLUMNS)


def asset_rows_from(session: Session, rows: Sequence[Row[Any]]) -> list[AssetRow]:
    """Light rows for ``rows`` (from :func:`select_rows`), in the same order."""
    identified = _identified(session, rows)
    return [_asset_row(tuple(row), identified.get(row.id)) for row in rows]


def asset_rows_by_ids(session: Session, ids: Sequence[int]) -> list[AssetRow]:
    """Light rows for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    found = {row.id: row for row in session.execute(_ROWS_BY_IDS, id_list(ids))}
    return asset_rows_from(session, [found[asset_id] for asset_id in ids if asset_id in found])


def _asset_row(row: tuple[Any, ...], identified: tuple[str, str] | None) -> AssetRow:
    (
        asset_id, root_id, path, file_name, size, kind, architecture, file_format, status, network,
        status_reason, missing_since, display_name, rating, favorite, nsfw, base_model_label, added_at,
        hidden, kind_override, architecture_override, cover_path,
    ) = row  # fmt: skip
    return AssetRow(
        id=asset_id,
        root_id=root_id,
        path=path,
        file_name=file_name,
        size=size,
        kind=_KINDS[kind],
        architecture=_ARCHITECTURES[architecture],
        format=_FORMATS[file_format],
        status=_STATUSES[status],
        network=_NETWORKS[network] if network else None,
        status_reason=_status_reason(status, status_reason, _timestamp(missing_since)),
        display_name=display_name,
        rating=rating,
        favorite=bool(favorite),
        nsfw=bool(nsfw),
        base_model_label=base_model_label,
        cover_path=cover_path,
        added_at=_timestamp(added_at),
        hidden=bool(hidden),
        kind_override=_KINDS.get(kind_override) if kind_override else None,
        architecture_override=_ARCHITECTURES.get(architecture_override) if architecture_override else None,
        identified_kind=_KINDS.get(identified[0], AssetKind.UNKNOWN) if identified else None,
        identified_architecture=_ARCHITECTURES.get(identified[1], Architecture.UNKNOWN)
        if identified
        else None,
    )


def root_records(session: Session, root_id: int | None = None) -> list[RootRecord]:
    """Roots with their number of present (non-missing) files, ordered by path."""
    roots = select(Root.id, Root.path, Root.layout, Root.added_at).order_by(Root.path)
    # Counted from the (root_id, status) index alone.
    counts = select(ASSETS.c.root_id, func.count()).where(ASSETS.c.status != FileStatus.MISSING.value)
    if root_id is not None:
        roots = roots.where(Root.id == root_id)
        counts = counts.where(ASSETS.c.root_id == root_id)
    present: dict[int, int] = dict(session.execute(counts.group_by(ASSETS.c.root_id)).all())
    return [
        RootRecord(
            id=rid, path=path, layout=LibraryLayout(layout), added_at=added_at, file_count=present.get(rid, 0)
        )
        for rid, path, layout, added_at in session.execute(roots)
    ]


def preview_records(session: Session, asset_id: int) -> list[PreviewRecord]:
    stmt = (
        select(Preview.id, Preview.path, Preview.source, Preview.is_cover, Preview.width, Preview.height)
        .where(Preview.asset_id == asset_id)
        .order_by(Preview.is_cover.desc(), Preview.id)
    )
    return [
        PreviewRecord(id=pid, path=path, source=source, is_cover=bool(cover), width=width, height=height)
        for pid, path, source, cover, width, height in session.execute(stmt)
    ]


def remote_link_records(session: Session, asset_id: int) -> list[RemoteLinkRecord]:
    """The asset's links, real matches first (a remembered "not found" last), each site in id order."""
    stmt = (
        select(RemoteLink)
        .where(RemoteLink.asset_id == asset_id)
        .order_by(RemoteLink.site, RemoteLink.version_id.is_(None), RemoteLink.id)
    )
    return [_link_record(link) for link in session.scalars(stmt)]


def _link_record(link: RemoteLink) -> RemoteLinkRecord:
    return RemoteLinkRecord(
        id=link.id,
        site=link.site,
        model_id=link.model_id,
        version_id=link.version_id,
        file_id=link.file_id,
        model_name=link.model_name,
        version_name=link.version_name,
        base_model_label=link.base_model_label,
        fetched_at=link.fetched_at,
        payload=link.payload or {},
        not_found_at=link.not_found_at,
        creator=link.creator,
        description_html=link.description_html,
        # Rows from before migration 0006 kept only the HTML: render it now.
        description_text=link.description_text or html_to_text(link.description_html),
        tags=_string_tuple(link.tags),
        trigger_words=_string_tuple(link.trigger_words),
        nsfw=bool(link.nsfw),
        nsfw_level=link.nsfw_level,
        examples=_examples(link.examples),
    )


def _string_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def _examples(value: object) -> tuple[CivitaiImage, ...]:
    """Stored example images back as records; a malformed entry is skipped, never fatal."""
    if not isinstance(value, list):
        return ()
    images = []
    for item in value:
        try:
            image = parse_image(item)
        except RecordError:
            continue
        if image.url:
            images.append(image)
    return tuple(images)


def _names_by_asset(session: Session, stmt: Select[Any], ids: dict[str, str]) -> dict[int, tuple[str, ...]]:
    """Tag (or collection) names of each asset, in the user's order."""
    names: dict[int, list[str]] = defaultdict(list)
    for asset_id, name in session.execute(stmt, ids).all():
        names[asset_id].append(name)
    return {asset_id: tuple(values) for asset_id, values in names.items()}


def _status_reason(status: str, reason: str | None, missing_since: datetime | None) -> str | None:
    """The reason shown for a status; a missing row says since when (the column keeps its health reason
    for when the file is found again)."""
    if status == FileStatus.MISSING.value:
        since = f" since {missing_since:%Y-%m-%d}" if missing_since else ""
        return f"The file is no longer at this path (missing{since})."
    return reason


# Decoded values are immutable, and the same texts repeat across a page (identification reasons, the
# timestamps of one scan batch), so decoding is memoised.
@lru_cache(maxsize=4096)
def _strings(raw: str | None) -> tuple[str, ...]:
    return tuple(json.loads(raw)) if raw and raw != "[]" else ()


def _mapping(raw: str | None) -> dict[str, Any]:
    if not raw or raw in ("{}", "null"):
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


@lru_cache(maxsize=4096)
def _timestamp(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw).replace(tzinfo=UTC) if raw else None


def _asset_record(
    row: tuple[Any, ...],
    tags: tuple[str, ...],
    collections: tuple[str, ...],
    cover: str | None,
    remote: tuple[str | None, tuple[str, ...]] = _NO_REMOTE,
    *,
    identified: tuple[str, str] | None = None,
) -> AssetRecord:
    (
        asset_id, root_id, path, file_name, size, mtime_ns, kind, architecture, file_format, status,
        network, variant, prediction, precision, status_reason, reasons, refusals,
        sha256, blake3, crc32, autov1, autov2, autov3,
        display_name, notes, rating, favorite, nsfw, trigger_words, preferred_weight, base_model_label,
        description, embedded_metadata, added_at, updated_at, missing_since,
        hidden, device, kind_override, architecture_override,
    ) = row  # fmt: skip
    hashes = None
    if sha256 and blake3 and crc32 and autov2:
        hashes = FileHashes(
            sha256=sha256, blake3=blake3, crc32=crc32, autov1=autov1, autov2=autov2, autov3=autov3
        )
    # ``kind`` / ``architecture`` hold the effective values (the user's override when set).
    user_kind = _KINDS.get(kind_override) if kind_override else None
    user_architecture = _ARCHITECTURES.get(architecture_override) if architecture_override else None
    return AssetRecord(
        id=asset_id,
        root_id=root_id,
        path=path,
        file_name=file_name,
        size=size,
        mtime_ns=mtime_ns,
        kind=_KINDS[kind],
        architecture=_ARCHITECTURES[architecture],
        format=_FORMATS[file_format],
        status=_STATUSES[status],
        network=_NETWORKS[network] if network else None,
        variant=_VARIANTS[variant] if variant else None,
        prediction=_PREDICTIONS[prediction] if prediction else None,
        precision=_PRECISIONS[precision] if precision else None,
        status_reason=_status_reason(status, status_reason, _timestamp(missing_since)),
        reasons=_strings(reasons),
        refusals=_strings(refusals),
        hashes=hashes,
        display_name=display_name,
        notes=notes,
        rating=rating,
        favorite=bool(favorite),
        nsfw=bool(nsfw),
        tags=tags,
        collections=collections,
        trigger_words=_strings(trigger_words),
        preferred_weight=preferred_weight,
        base_model_label=base_model_label,
        description=description,
        embedded_metadata=_mapping(embedded_metadata),
        cover_path=cover,
        added_at=_timestamp(added_at),
        updated_at=_timestamp(updated_at),
        remote_model_name=remote[0],
        remote_trigger_words=remote[1],
        hidden=bool(hidden),
        device=device or 0,
        kind_override=user_kind,
        architecture_override=user_architecture,
        # The file's own identification, read only where the user overrode it (else it is ``kind``).
        identified_kind=_KINDS.get(identified[0], AssetKind.UNKNOWN) if identified else None,
        identified_architecture=_ARCHITECTURES.get(identified[1], Architecture.UNKNOWN)
        if identified
        else None,
    )
