"""Each file keeps the version of the identification rules that read it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Why: identification rules improve between releases (new families, sharper LoRA rules), and a file that
did not change on disk was never read again, so it kept what older rules took it for. ``identified_with``
is the rules' version (``core.identify.rules_version.RULES_VERSION``) that identified the row; every row
from before is 0, so the first scan after this update reads every unchanged file's header again, once, and
later updates that change the rules do the same (``catalog.scanner``).

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("assets", sa.Column("identified_with", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("assets", "identified_with")
