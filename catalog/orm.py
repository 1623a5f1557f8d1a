"""SQLAlchemy models of the catalog (SQLAlchemy 2.0 typed declarative).

These classes describe the schema for the code in ``catalog/``; the schema itself is created by the Alembic
migrations in ``catalog/migrations/versions`` (a test compares the two). ORM instances never leave
``catalog/``: the Library converts rows to the frozen records of :mod:`catalog.records`.

Design notes:

* Enums are stored by their string value (``core.taxonomy`` promises the values never change), so the
  database stays readable with the ``sqlite3`` shell and needs no migration when a member is added.
* User data (display name, notes, rating...) are columns of ``assets``: it is 1:1 with the file, and when a
  moved file is recognised by its hash the old row is kept (see ``Library.set_hashes``), so user data never
  has to be copied between rows.
* ``edited_fields`` remembers which user fields the user has set, so sidecar import on a rescan never puts
  back a description or tag list the user deliberately cleared.
* ``sort_name`` is a generated column (display name, else file name, lower-cased) with an index, so
  sorting by name walks an index instead of sorting 100k rows.
* Asset ids use AUTOINCREMENT so an id is never reused: the GUI, renders and remote links may still hold the
  id of a forgotten asset and must not silently point at a different file.
* Hashes are stored upper-case (as Civitai shows them) and each one is indexed for ``find_by_hash``.
* ``identification`` keeps ``Identification.to_json()`` minus its ``metadata``, which lives in
  ``embedded_metadata`` (it is the bulky part and is read on its own); ``reasons``/``refusals`` are copied
  to their own columns so reading a record never parses the whole identification.
* ``sort_name`` is lower-cased by SQLite's ``lower()``, which folds ASCII only: names in other scripts still
  sort, by code point. Tags and collections compare with Python's full Unicode case folding (``key``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from catalog.path_text import from_stored, to_stored
from catalog.shared_path import SharedPath

# Sizes, byte counts, nanosecond times and inode/device numbers pass 2**31: BIGINT on PostgreSQL (as the
# migrations create them; an Integer column would bind them as int4 and overflow), INTEGER on SQLite, where
# every integer is 64-bit and the type name decides the row id alias.
BigInt = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The columns a search page's filters read while it walks a sort order (catalog.queries), carried by the
# sort orders' indexes on a server (migration 0016).
PAGE_FILTER_COLUMNS = ("id", "status", "hidden", "kind", "architecture", "rating", "favorite", "root_id")


def sort_index_include(*key: str) -> list[str]:
    """The page's filter columns an index keyed by ``key`` carries beside it on a server."""
    return [column for column in PAGE_FILTER_COLUMNS if column not in key]


# Expression of the generated ``assets.sort_name`` column; the migrations use the same text.
SORT_NAME_SQL = "lower(coalesce(nullif(display_name, ''), file_name))"
# The condition of the partial index of files still to hash. Queries name the index (INDEXED BY) and repeat
# the condition literally: without statistics SQLite would rather pick ix_assets_facets for "status = ?"
# and read every healthy row to find the few unhashed ones.
UNHASHED_SQL = "sha256 IS NULL AND status = 'ok'"
UNHASHED_FROM = f"assets INDEXED BY ix_assets_unhashed WHERE {UNHASHED_SQL}"


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC text and returned timezone-aware (UTC).

    SQLite has no timezone type; normalising on the way in means comparisons and ``ORDER BY`` in SQL are
    correct whatever zone a caller used, and callers always get aware values back.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class PathText(TypeDecorator[str]):
    """A file path as ``TEXT``: names that are not UTF-8 are stored through :mod:`catalog.path_text`.

    The database sees valid Unicode; Python gets back the exact ``str`` (lone surrogates included) that
    ``open()`` needs. ASCII paths are stored unchanged, so the schema and existing rows are untouched.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else to_stored(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else from_stored(value)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        # ``path LIKE 'folder/%'`` and ``path IN (...)`` bind through this type too.
        return self


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Root(Base):
    """A library folder the user added. ``path`` is canonical: the folder on the machine that added it;
    other machines reach it at their own path (``root_paths``, migration 0012, :mod:`catalog.machine_paths`).
    ``name`` is how every machine calls it (unique; always set by the catalog's writes)."""

    __tablename__ = "roots"
    __table_args__ = (Index("uq_roots_name", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(SharedPath, unique=True)
    layout: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str | None] = mapped_column(Text)


class MachineRow(Base):
    """A machine that maps library folders: its id (a UUID from its settings) and its host name."""

    __tablename__ = "machines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RootPath(Base):
    """Where one machine reaches a library folder. ``path`` is that machine's own text, never
    translated (PathText, not SharedPath): it is one side of the translation."""

    __tablename__ = "root_paths"
    __table_args__ = (UniqueConstraint("machine", "path"),)

    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"), primary_key=True)
    machine: Mapped[str] = mapped_column(String(36), primary_key=True)
    path: Mapped[str] = mapped_column(PathText)


class Asset(Base):
    """One model file (or diffusers folder): what the scanner found plus what the user said about it."""

    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint("status IN ('ok', 'corrupt', 'unsafe', 'missing', 'unreadable')", name="status"),
        CheckConstraint("rating BETWEEN 0 AND 5", name="rating"),
        Index("ix_assets_root_id_status", "root_id", "status"),
        # Covers the sidebar counts and filter-only counts, so they never read the (wide) table rows.
        Index(
            "ix_assets_facets", *("status", "kind", "architecture", "root_id", "favorite", "rating", "hidden")
        ),
        # The sort orders' indexes; on a server each carries the columns a page's filters read, so a
        # page walked in sort order reads the index alone (migration 0016).
        Index("ix_assets_sort_name", "sort_name", postgresql_include=sort_index_include("sort_name")),
        Index("ix_assets_added_at", "added_at", postgresql_include=sort_index_include("added_at")),
        Index("ix_assets_size", "size", postgresql_include=sort_index_include("size")),
        Index("ix_assets_kind_sort_name", "kind", "sort_name", postgresql_include=sort_index_include("kind")),
        Index(
            "ix_assets_architecture_sort_name",
            "architecture",
            "sort_name",
            postgresql_include=sort_index_include("architecture"),
        ),
        Index(
            "ix_assets_rating_sort_name",
            "rating",
            "sort_name",
            postgresql_include=sort_index_include("rating"),
        ),
        # A search page driven by a set of ids filters and sorts them here, never in the wide rows (0010).
        Index(
            "ix_assets_page",
            *("id", "status", "hidden", "kind", "architecture", "rating", "favorite", "root_id", "size"),
            *("added_at", "sort_name"),
        ),
        # (device, inode) names one file: hard links, symlinks and bind mounts of it are never duplicates.
        Index("ix_assets_device_inode", "device", "inode"),
        # The labelled files' base-model labels, so the labels the library holds are read without its
        # wide rows (catalog.queries.base_model_labels; migration 0019).
        Index(
            "ix_assets_base_model",
            *("base_model_label", "architecture", "status", "hidden"),
            sqlite_where=text("base_model_label IS NOT NULL"),
            postgresql_where=text("base_model_label IS NOT NULL"),
        ),
        # The few hidden files, so counts that leave them out subtract them instead of reading every row.
        Index("ix_assets_hidden", "kind", "architecture", "status", sqlite_where=text("hidden")),
        # The hashing queue: only rows still to hash are in this index, smallest first.
        Index(
            "ix_assets_unhashed",
            "size",
            "id",
            sqlite_where=text(UNHASHED_SQL),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(SharedPath, unique=True)
    # Indexed: A1111 prompts name LoRAs and embeddings by file name (<lora:name:0.8>).
    file_name: Mapped[str] = mapped_column(PathText, index=True)
    size: Mapped[int] = mapped_column(BigInt)
    mtime_ns: Mapped[int] = mapped_column(BigInt)
    inode: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    # st_dev of the file (0: not known yet, filled by the next scan); see ix_assets_device_inode.
    device: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    # Newest mtime of the sidecars read last time: a newer one means the sidecars must be read again.
    sidecar_mtime_ns: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    # The identification rules' version that read the file (core.identify.rules_version; 0: older ones).
    identified_with: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    format: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    architecture: Mapped[str] = mapped_column(String(32))
    network: Mapped[str | None] = mapped_column(String(16))
    variant: Mapped[str | None] = mapped_column(String(16))
    prediction: Mapped[str | None] = mapped_column(String(8))
    precision: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # The health status the file had before it went missing, restored when it is found again by relocate
    # (an unsafe pickle that moved must stay unsafe).
    prior_status: Mapped[str | None] = mapped_column(String(16))
    identification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    embedded_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))
    reasons: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    refusals: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))

    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    blake3: Mapped[str | None] = mapped_column(String(64), index=True)
    crc32: Mapped[str | None] = mapped_column(String(8), index=True)
    autov1: Mapped[str | None] = mapped_column(String(8), index=True)
    autov2: Mapped[str | None] = mapped_column(String(10), index=True)
    autov3: Mapped[str | None] = mapped_column(String(64), index=True)
    hashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    missing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    display_name: Mapped[str] = mapped_column(Text, server_default=text("''"))
    notes: Mapped[str] = mapped_column(Text, server_default=text("''"))
    rating: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    favorite: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    nsfw: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    preferred_weight: Mapped[float | None] = mapped_column(Float)
    base_model_label: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    trigger_words: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    edited_fields: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    # Hidden from the library views, not forgotten (migration 0007).
    hidden: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    # The user's word over the file's own identification (``kind``/``architecture`` stay as identified).
    kind_override: Mapped[str | None] = mapped_column(String(32))
    architecture_override: Mapped[str | None] = mapped_column(String(32))

    sort_name: Mapped[str] = mapped_column(Text, Computed(SORT_NAME_SQL, persisted=False))


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for hot paths (bulk writes, page reads) that should skip the ORM's
    per-row bookkeeping; statements over Core tables run straight on the connection."""
    return cast("Table", model.__table__)


ASSETS = table_of(Asset)


class Tag(Base):
    """A tag; ``key`` is the case-folded spelling that makes "Anime" and "anime" one tag."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text, unique=True)


class AssetTag(Base):
    """Tag membership; ``position`` keeps the order the user typed the tags in."""

    __tablename__ = "asset_tags"
    __table_args__ = (Index("ix_asset_tags_tag_id_asset_id", "tag_id", "asset_id"),)

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Collection(Base):
    """A user-named group of assets ("My SDXL styles"); ``key`` as for tags."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssetCollection(Base):
    __tablename__ = "asset_collections"
    __table_args__ = (Index("ix_asset_collections_collection_id_asset_id", "collection_id", "asset_id"),)

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Preview(Base):
    """A preview image of an asset; at most one per asset is the cover (a partial unique index)."""

    __tablename__ = "previews"
    __table_args__ = (
        UniqueConstraint("asset_id", "path"),
        Index("uq_previews_cover", "asset_id", unique=True, sqlite_where=text("is_cover = 1")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(SharedPath)
    source: Mapped[str] = mapped_column(String(16))
    is_cover: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RemoteLink(Base):
    """Where a file lives on Civitai or Hugging Face and what the site says about it (names, creator,
    description, tags, trigger words, example images), with the raw API payload kept for re-parsing.

    The FTS index (``asset_fts.remote``, migration 0006) follows these rows through triggers, so the model
    name, version name and creator find the file in a library search.
    """

    __tablename__ = "remote_links"
    __table_args__ = (
        Index("ix_remote_links_site_model_id", "site", "model_id"),
        Index("ix_remote_links_site_version_id", "site", "version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(Text)
    version_name: Mapped[str | None] = mapped_column(Text)
    base_model_label: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))
    # The site's own facts (migration 0006), never mixed into the user's fields of ``assets``.
    creator: Mapped[str | None] = mapped_column(Text)
    description_html: Mapped[str | None] = mapped_column(Text)
    description_text: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    trigger_words: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    nsfw: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    nsfw_level: Mapped[int | None] = mapped_column(Integer)
    # Example images in Civitai's shape ({url, type, width, height, nsfwLevel, meta}).
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default=text("'[]'"))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_found_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DownloadRow(Base):
    """One queued, running or finished download (schema: migration 0004)."""

    __tablename__ = "downloads"
    __table_args__ = (Index("ix_downloads_status", "status"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    remote_ids: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))
    target_dir: Mapped[str] = mapped_column(SharedPath)
    file_name: Mapped[str | None] = mapped_column(Text)
    suggested_name: Mapped[str | None] = mapped_column(Text)
    expected_size: Mapped[int | None] = mapped_column(BigInt)
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    bytes_done: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    total: Mapped[int | None] = mapped_column(BigInt)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_path: Mapped[str | None] = mapped_column(SharedPath)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, server_default=text("'{}'"))
    # ``metadata`` is reserved on declarative classes, hence the trailing underscore.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, server_default=text("'{}'"))


class Render(Base):
    """A stored render (one image, or one composed X/Y grid) with the recipe that made it (migration 0005).

    ``path`` is relative to the library's renders folder when the image lives there (so a data dir that
    moves keeps its renders), absolute otherwise. ``seed`` is text because A1111 seeds go up to 2**64 - 1,
    past SQLite's signed 64-bit integers.
    """

    __tablename__ = "renders"
    __table_args__ = (
        CheckConstraint("kind IN ('image', 'grid')", name="kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    path: Mapped[str] = mapped_column(SharedPath)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(20))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))
    infotext: Mapped[str] = mapped_column(Text, server_default=text("''"))
    elapsed: Mapped[float] = mapped_column(Float, server_default=text("0"))
    device: Mapped[str] = mapped_column(Text, server_default=text("''"))
    kind: Mapped[str] = mapped_column(String(8), server_default=text("'image'"))
    grid_axes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RenderAsset(Base):
    """Which assets a render used and how (role, weight); both sides cascade on delete."""

    __tablename__ = "render_assets"
    __table_args__ = (Index("ix_render_assets_asset_id_render_id", "asset_id", "render_id"),)

    render_id: Mapped[int] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    weight: Mapped[float | None] = mapped_column(Float)


RENDERS = table_of(Render)
RENDER_ASSETS = table_of(RenderAsset)


class OrganizeOperation(Base):
    """One user operation on files (move, rename, delete, organize, dedupe, convert, mirror, undo).

    ``state`` is ``applying`` from the moment its first step is written until every step is done (then
    ``done``) or undone on recovery (``rolled_back``); ``undone`` once an undo operation reversed it;
    ``failed`` when a step failed and the finished steps were kept (the summary says which).
    """

    __tablename__ = "organize_operations"
    __table_args__ = (
        CheckConstraint("state IN ('applying', 'done', 'rolled_back', 'failed', 'undone')", name="state"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(Text, server_default=text("''"))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undo_of: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))


class OrganizeStep(Base):
    """One step of an operation, written as intended *before* it touches the disk, marked done after.

    ``action`` says what the step does to ``source``/``target`` (e.g. move, copy, trash, hardlink,
    symlink, write); ``detail`` holds what recovery and undo need (the SHA256 to verify a copy, where the
    trash put a file, the catalog change to make).
    """

    __tablename__ = "organize_steps"
    __table_args__ = (UniqueConstraint("operation_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("organize_operations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(SharedPath)
    target: Mapped[str] = mapped_column(SharedPath, server_default=text("''"))
    asset_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))


class Mirror(Base):
    """A folder the library is shared into, in another UI's layout (``ui``: a1111, comfyui, invokeai), on
    the machine that made it."""

    __tablename__ = "mirrors"
    __table_args__ = (UniqueConstraint("machine", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ui: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(SharedPath)
    # The machine that made it (migration 0014): a mirror is a folder on one computer. None: made by a
    # catalog opened without a machine; the first machine that saves or syncs it takes it.
    machine: Mapped[str | None] = mapped_column(String(36))
    kinds: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    collections: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))


class MirrorEntry(Base):
    """A link or copy Atelier made in a mirror; only these are ever replaced or removed by a sync.

    ``size``/``mtime_ns``/``inode`` are what the entry was when made, so an entry the user replaced since
    is recognised as theirs and left alone.
    """

    __tablename__ = "mirror_entries"

    mirror_id: Mapped[int] = mapped_column(ForeignKey("mirrors.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(SharedPath, primary_key=True)
    source: Mapped[str] = mapped_column(SharedPath)
    asset_id: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    mtime_ns: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    inode: Mapped[int] = mapped_column(BigInt, server_default=text("0"))


class ModelUpdate(Base):
    """The newest version of one remote model seen by an update check, and the version the user ignores."""

    __tablename__ = "model_updates"
    __table_args__ = (UniqueConstraint("site", "model_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[str] = mapped_column(Text)
    latest_version_id: Mapped[str | None] = mapped_column(Text)
    latest_version_name: Mapped[str | None] = mapped_column(Text)
    latest_published_at: Mapped[str | None] = mapped_column(Text)
    ignored_version_id: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))


class DeletedFile(Base):
    """A file deleted on purpose, recognised by hash or Civitai version when it is offered again."""

    __tablename__ = "deleted_files"
    __table_args__ = (Index("ix_deleted_files_site_version_id", "site", "version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(SharedPath)
    file_name: Mapped[str] = mapped_column(PathText)
    kind: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInt, server_default=text("0"))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    site: Mapped[str | None] = mapped_column(String(16))
    model_id: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(Text)
    version_name: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HashClaim(Base):
    """A file a hashing job is about to hash (``catalog.hash_claims``), so that two machines sharing a
    catalog hash different files; the claim ends at ``expires_s`` (seconds, the catalog's clock)."""

    __tablename__ = "hash_claims"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    job: Mapped[str] = mapped_column(String(32), index=True)
    machine: Mapped[str] = mapped_column(String(36))
    expires_s: Mapped[int] = mapped_column(BigInt)
