"""Renders in the library: each preview image with its recipe, linked to every asset it used.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "renders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=20), nullable=False),
        sa.Column("recipe", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("infotext", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("elapsed", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("device", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("kind", sa.String(length=8), server_default=sa.text("'image'"), nullable=False),
        sa.Column("grid_axes", sa.JSON(), nullable=True),
        sa.CheckConstraint("kind IN ('image', 'grid')", name="ck_renders_kind"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renders")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_renders_created_at"), "renders", ["created_at"], unique=False)
    op.create_table(
        "render_assets",
        sa.Column("render_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_render_assets_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["render_id"],
            ["renders.id"],
            name=op.f("fk_render_assets_render_id_renders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("render_id", "asset_id", "role", name=op.f("pk_render_assets")),
    )
    op.create_index(
        "ix_render_assets_asset_id_render_id", "render_assets", ["asset_id", "render_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_render_assets_asset_id_render_id", table_name="render_assets")
    op.drop_table("render_assets")
    op.drop_index(op.f("ix_renders_created_at"), table_name="renders")
    op.drop_table("renders")
