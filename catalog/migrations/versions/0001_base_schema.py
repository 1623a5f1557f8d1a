"""Base schema: roots, assets (scan data, hashes, user data), tags, collections, previews, remote links.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Migrations are frozen history: never import catalog.orm here (the models move on, this file must not).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

SORT_NAME_SQL = "lower(coalesce(nullif(display_name, ''), file_name))"
HASH_COLUMNS = ("sha256", "blake3", "crc32", "autov1", "autov2", "autov3")


# PostgreSQL (a team's catalog, see catalog.catalog_url) needs a few spellings of its own, chosen here so the
# SQLite schema stays exactly as it was: 64-bit sizes and nanosecond times (SQLite's INTEGER is always 64
# bits, PostgreSQL's is 32), boolean defaults as booleans, a stored generated column (PostgreSQL 15 has no
# virtual ones) and the partial indexes' conditions in its own words.
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _on_postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    pg = _on_postgresql()
    op.create_table(
        "roots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("layout", sa.String(32), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roots"),
        sa.UniqueConstraint("path", name="uq_roots_path"),
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("mtime_ns", BIG, nullable=False),
        sa.Column("inode", BIG, server_default=sa.text("0"), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("architecture", sa.String(32), nullable=False),
        sa.Column("network", sa.String(16), nullable=True),
        sa.Column("variant", sa.String(16), nullable=True),
        sa.Column("prediction", sa.String(8), nullable=True),
        sa.Column("precision", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("prior_status", sa.String(16), nullable=True),
        sa.Column("identification", sa.JSON(), nullable=True),
        sa.Column("embedded_metadata", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("reasons", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("refusals", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("blake3", sa.String(64), nullable=True),
        sa.Column("crc32", sa.String(8), nullable=True),
        sa.Column("autov1", sa.String(8), nullable=True),
        sa.Column("autov2", sa.String(10), nullable=True),
        sa.Column("autov3", sa.String(64), nullable=True),
        sa.Column("hashed_at", sa.DateTime(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("missing_since", sa.DateTime(), nullable=True),
        sa.Column("display_name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("notes", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("rating", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("favorite", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("nsfw", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("preferred_weight", sa.Float(), nullable=True),
        sa.Column("base_model_label", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("trigger_words", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("edited_fields", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("sort_name", sa.Text(), sa.Computed(SORT_NAME_SQL, persisted=pg), nullable=False),
        sa.CheckConstraint("status IN ('ok', 'corrupt', 'unsafe', 'missing')", name="ck_assets_status"),
        sa.CheckConstraint("rating BETWEEN 0 AND 5", name="ck_assets_rating"),
        sa.ForeignKeyConstraint(
            ["root_id"], ["roots.id"], name="fk_assets_root_id_roots", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("path", name="uq_assets_path"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_assets_root_id_status", "assets", ["root_id", "status"])
    op.create_index(
        "ix_assets_facets", "assets", ["status", "kind", "architecture", "root_id", "favorite", "rating"]
    )
    op.create_index("ix_assets_kind_sort_name", "assets", ["kind", "sort_name"])
    op.create_index("ix_assets_architecture_sort_name", "assets", ["architecture", "sort_name"])
    op.create_index("ix_assets_rating_sort_name", "assets", ["rating", "sort_name"])
    op.create_index(
        "ix_assets_unhashed",
        "assets",
        ["size", "id"],
        sqlite_where=sa.text("sha256 IS NULL AND status = 'ok'"),
        postgresql_where=sa.text("sha256 IS NULL AND status = 'ok'"),
    )
    for column in ("file_name", "size", "added_at", "sort_name", *HASH_COLUMNS):
        op.create_index(f"ix_assets_{column}", "assets", [column])

    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("key", name="uq_tags_key"),
    )
    op.create_table(
        "asset_tags",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_asset_tags_asset_id_assets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name="fk_asset_tags_tag_id_tags", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", "tag_id", name="pk_asset_tags"),
    )
    op.create_index("ix_asset_tags_tag_id_asset_id", "asset_tags", ["tag_id", "asset_id"])

    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
        sa.UniqueConstraint("key", name="uq_collections_key"),
    )
    op.create_table(
        "asset_collections",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_asset_collections_asset_id_assets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name="fk_asset_collections_collection_id_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "collection_id", name="pk_asset_collections"),
    )
    op.create_index(
        "ix_asset_collections_collection_id_asset_id", "asset_collections", ["collection_id", "asset_id"]
    )

    op.create_table(
        "previews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("is_cover", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_previews_asset_id_assets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_previews"),
        sa.UniqueConstraint("asset_id", "path", name="uq_previews_asset_id_path"),
    )
    op.create_index(
        "uq_previews_cover",
        "previews",
        ["asset_id"],
        unique=True,
        sqlite_where=sa.text("is_cover = 1"),
        postgresql_where=sa.text("is_cover"),
    )

    op.create_table(
        "remote_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(16), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=True),
        sa.Column("version_id", sa.Text(), nullable=True),
        sa.Column("file_id", sa.Text(), nullable=True),
        sa.Column("model_name", sa.Text(), nullable=True),
        sa.Column("version_name", sa.Text(), nullable=True),
        sa.Column("base_model_label", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("not_found_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_remote_links_asset_id_assets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_remote_links"),
    )
    op.create_index("ix_remote_links_asset_id", "remote_links", ["asset_id"])
    op.create_index("ix_remote_links_site_model_id", "remote_links", ["site", "model_id"])
    op.create_index("ix_remote_links_site_version_id", "remote_links", ["site", "version_id"])


def downgrade() -> None:
    for table in (
        "remote_links",
        "previews",
        "asset_collections",
        "collections",
        "asset_tags",
        "tags",
        "assets",
        "roots",
    ):
        op.drop_table(table)
