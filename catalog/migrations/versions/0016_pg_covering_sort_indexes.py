"""On a server catalog, the indexes of the sort orders hold the columns a page's filters read, so a search
page walked in sort order reads the index alone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Why: a typed word on a few thousand files of 100,000 was answered on PostgreSQL by looking each of its
files up (``catalog.queries``' driven page): an index search of its own per file, about 3 to 4 us each,
which SQLite does in about 1. Walking the sort order instead and testing each row against the word's set
(read once, hashed) finds a page after ``page x library / matches`` rows, but the walk read each row's
status and hidden flag from the table: about a page of the table per row. With those columns in the
index of the sort order (``INCLUDE``: carried in the index's leaves, not part of its key), the walk is an
index-only scan of about 0.3 us a row, and ``catalog.queries._walk_cheaper`` chooses it where it costs
less than the look-ups (on 100,000 files, for a word on more than about 1,300 of them).

Each index keeps its name and its key, and gains the columns of the filters a page applies while it
walks: id (what the probes test and the page returns), status, hidden, kind, architecture, rating,
favorite, root (less the key's own columns). SQLite keeps its indexes: it reads a row by its id about as
fast as PostgreSQL reads an index entry, and has no ``INCLUDE``.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None

# The columns a walked page's filters read (catalog.queries._scalar_conditions), and the id.
FILTER_COLUMNS = ("id", "status", "hidden", "kind", "architecture", "rating", "favorite", "root_id")
# Each sort order's index: its name and key (catalog.queries._SORT_COLUMNS).
SORT_INDEXES = {
    "ix_assets_sort_name": ("sort_name",),
    "ix_assets_added_at": ("added_at",),
    "ix_assets_size": ("size",),
    "ix_assets_rating_sort_name": ("rating", "sort_name"),
    "ix_assets_kind_sort_name": ("kind", "sort_name"),
    "ix_assets_architecture_sort_name": ("architecture", "sort_name"),
}


def included(key: tuple[str, ...]) -> list[str]:
    """The filter columns an index of ``key`` carries beside its key."""
    return [column for column in FILTER_COLUMNS if column not in key]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, key in SORT_INDEXES.items():
        op.drop_index(name, table_name="assets")
        op.create_index(name, "assets", list(key), postgresql_include=included(key))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, key in SORT_INDEXES.items():
        op.drop_index(name, table_name="assets")
        op.create_index(name, "assets", list(key))
