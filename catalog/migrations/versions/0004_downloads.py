"""The download queue: what to fetch, where it goes, how far it got, so downloads survive a restart.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# 64 bits on PostgreSQL (sizes and nanosecond times; SQLite's INTEGER already is).
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("remote_ids", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("target_dir", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("suggested_name", sa.Text(), nullable=True),
        sa.Column("expected_size", BIG, nullable=True),
        sa.Column("expected_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("bytes_done", BIG, server_default=sa.text("0"), nullable=False),
        sa.Column("total", BIG, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("completed_path", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("metadata", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downloads")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_downloads_status"), "downloads", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_downloads_status"), table_name="downloads")
    op.drop_table("downloads")
