"""A file about to be hashed is claimed by the job hashing it, so two machines share a store's new files.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

Why: two machines scanning the same new files at once (one store on a NAS, one catalog) walked the same
smallest-first list and hashed almost every file twice: checking right before each file whether the
other had stored its hashes found it still at work on the same file. ``hash_claims`` holds, per asset,
the job that is hashing it (``job``, a random id per hashing job; ``machine``, which computer runs it) and
until when the claim holds (``expires_s``, seconds since 1970 by the catalog's clock). A job claims a few
files right before it hashes them and skips those another job holds, so each machine hashes about half.
A claim of a job that was killed ends when it expires and another job takes the files over; the rows stay
correct even where claims are ignored (a file hashed twice gets the same hashes).

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hash_claims",
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("machine", sa.String(36), nullable=False),
        sa.Column("expires_s", BIG, nullable=False),
    )
    op.create_index("ix_hash_claims_job", "hash_claims", ["job"])


def downgrade() -> None:
    op.drop_index("ix_hash_claims_job", table_name="hash_claims")
    op.drop_table("hash_claims")
