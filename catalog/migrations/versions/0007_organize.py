"""Organizing the library: the operations journal, mirrors, update checks, overrides, deleted-file memory.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

- ``assets.device`` joins ``assets.inode``: (device, inode) names one file, so hard links, symlinks and bind
  mounts of it are never mistaken for duplicates. 0 means "not known yet" (filled by the next scan).
- ``assets.hidden`` hides a file from the library views without forgetting it; ``kind_override`` and
  ``architecture_override`` are the user's word over the file's own identification, which stays beside it.
- ``organize_operations`` / ``organize_steps``: every change to the user's files (move, rename, delete,
  template, dedupe, convert, undo) is written here step by step *before* it touches the disk and marked
  done after, so a crash at any moment is completed or rolled back on the next start, and recent
  operations can be undone.
- ``mirrors`` / ``mirror_entries``: the folders Atelier shares the library into (an A1111, ComfyUI or
  InvokeAI layout) and every link or copy it made there, so a sync never touches what it did not create.
- ``model_updates``: per Civitai model, the newest version seen and the version the user chose to ignore.
- ``deleted_files``: what was deleted from the library (hashes, Civitai ids, names), so a file deleted on
  purpose is recognised when it is offered again.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# 64 bits on PostgreSQL (sizes and nanosecond times; SQLite's INTEGER already is).
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE, not batch mode: batch mode copies the table, which SQLite refuses for the generated
    # ``sort_name`` column (see 0003).
    op.add_column("assets", sa.Column("device", BIG, server_default="0", nullable=False))
    op.add_column("assets", sa.Column("hidden", sa.Boolean(), server_default="0", nullable=False))
    op.add_column("assets", sa.Column("kind_override", sa.String(length=32), nullable=True))
    op.add_column("assets", sa.Column("architecture_override", sa.String(length=32), nullable=True))
    op.create_index("ix_assets_device_inode", "assets", ["device", "inode"], unique=False)
    op.create_index(
        "ix_assets_hidden",
        "assets",
        ["kind", "architecture", "status"],
        unique=False,
        sqlite_where=sa.text("hidden"),
        postgresql_where=sa.text("hidden"),
    )

    op.create_table(
        "organize_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("undo_of", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.CheckConstraint(
            "state IN ('applying', 'done', 'rolled_back', 'failed', 'undone')",
            name=op.f("ck_organize_operations_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organize_operations")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_organize_operations_state"), "organize_operations", ["state"], unique=False)
    op.create_table(
        "organize_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["organize_operations.id"],
            name=op.f("fk_organize_steps_operation_id_organize_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organize_steps")),
        sa.UniqueConstraint("operation_id", "seq", name=op.f("uq_organize_steps_operation_id_seq")),
    )

    op.create_table(
        "mirrors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ui", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("kinds", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("collections", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.Column("report", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirrors")),
        sa.UniqueConstraint("target", name=op.f("uq_mirrors_target")),
    )
    op.create_table(
        "mirror_entries",
        sa.Column("mirror_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("size", BIG, server_default=sa.text("0"), nullable=False),
        sa.Column("mtime_ns", BIG, server_default=sa.text("0"), nullable=False),
        sa.Column("inode", BIG, server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["mirror_id"],
            ["mirrors.id"],
            name=op.f("fk_mirror_entries_mirror_id_mirrors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mirror_id", "path", name=op.f("pk_mirror_entries")),
    )

    op.create_table(
        "model_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("latest_version_id", sa.Text(), nullable=True),
        sa.Column("latest_version_name", sa.Text(), nullable=True),
        sa.Column("latest_published_at", sa.Text(), nullable=True),
        sa.Column("ignored_version_id", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("payload", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_updates")),
        sa.UniqueConstraint("site", "model_id", name=op.f("uq_model_updates_site_model_id")),
    )

    op.create_table(
        "deleted_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("size", BIG, server_default=sa.text("0"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("site", sa.String(length=16), nullable=True),
        sa.Column("model_id", sa.Text(), nullable=True),
        sa.Column("version_id", sa.Text(), nullable=True),
        sa.Column("model_name", sa.Text(), nullable=True),
        sa.Column("version_name", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deleted_files")),
    )
    op.create_index(op.f("ix_deleted_files_sha256"), "deleted_files", ["sha256"], unique=False)
    op.create_index("ix_deleted_files_site_version_id", "deleted_files", ["site", "version_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deleted_files_site_version_id", table_name="deleted_files")
    op.drop_index(op.f("ix_deleted_files_sha256"), table_name="deleted_files")
    op.drop_table("deleted_files")
    op.drop_table("model_updates")
    op.drop_table("mirror_entries")
    op.drop_table("mirrors")
    op.drop_table("organize_steps")
    op.drop_index(op.f("ix_organize_operations_state"), table_name="organize_operations")
    op.drop_table("organize_operations")
    op.drop_index("ix_assets_hidden", table_name="assets")
    op.drop_index("ix_assets_device_inode", table_name="assets")
    for column in ("architecture_override", "kind_override", "hidden", "device"):
        op.drop_column("assets", column)
