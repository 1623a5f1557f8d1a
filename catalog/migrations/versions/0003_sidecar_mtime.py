"""Remember when an asset's sidecars last changed, so a preview or info file dropped next to a model that
is already cataloged is imported by the next scan, without re-reading every unchanged model.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# 64 bits on PostgreSQL (sizes and nanosecond times; SQLite's INTEGER already is).
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# Plain ALTER TABLE (SQLite >= 3.35), not Alembic's batch mode: batch mode copies the table, which
# SQLite refuses for the generated ``sort_name`` column.
def upgrade() -> None:
    op.add_column("assets", sa.Column("sidecar_mtime_ns", BIG, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("assets", "sidecar_mtime_ns")
