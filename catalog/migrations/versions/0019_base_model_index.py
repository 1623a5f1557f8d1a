"""The base-model labels the library holds are read from a narrow index instead of the wide asset rows.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

The window's architecture list offers the labels its files carry (Pony, Illustrious, NoobAI under SDXL;
``catalog.queries.base_model_labels``), read again with the sidebar's counts after every reload, edit and
change seen elsewhere. No index held the label, so each read walked every asset row (about 1.8 kB each):
0.17 s on 100,000 files, on the window's thread. ``ix_assets_base_model`` holds the label with the columns
that read groups and filters by (architecture, status, hidden), and only the rows that have a label.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

LABELLED = "base_model_label IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_assets_base_model",
        "assets",
        ["base_model_label", "architecture", "status", "hidden"],
        sqlite_where=sa.text(LABELLED),
        postgresql_where=sa.text(LABELLED),
    )


def downgrade() -> None:
    op.drop_index("ix_assets_base_model", table_name="assets")
