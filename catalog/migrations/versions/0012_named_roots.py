"""Library folders have a name, and each machine says where it reaches them (shared storage).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Why: a team keeps one model store on a NAS and shares one catalog (PostgreSQL, or one SQLite file). The
store is ``/mnt/nas/sd`` on one machine and ``Z:\\sd`` on another, so a folder is known by a **name**
(``roots.name``, unique) and each machine records its own path for it in ``root_paths`` (root, machine,
path). ``roots.path`` stays the canonical path (the folder on the machine that added it), and so do the
paths of the files under it: every machine reads and writes the same rows, translating at the catalog's
boundary (``catalog.machine_paths``). A file hashed or looked up on one machine is then known on all.

``machines`` names each machine id (a UUID from its settings) with its host name, for listings.

Existing folders are named after their last path component ("Lora"), made unique with " 2", " 3"... in
the order they were added. The name is unique through an index (SQLite cannot add a constraint to a table
in place, and rebuilding ``roots`` would cascade into every asset row).

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

# catalog.path_text keeps the bytes of names that are not UTF-8 as characters of this range.
_NOT_TEXT = re.compile("[\U0010f7ff-\U0010ffff]")


def folder_name(path: str) -> str:
    """The last component of a folder path (either separator), as people read it."""
    name = re.split(r"[\\/]", path.rstrip("\\/"))[-1] if path.rstrip("\\/") else ""
    name = _NOT_TEXT.sub("\ufffd", name).strip()
    return name or "library"


def unique_names(paths: list[tuple[int, str]]) -> dict[int, str]:
    """A name for each (id, path), oldest first keeping the plain folder name."""
    taken: set[str] = set()
    names: dict[int, str] = {}
    for root_id, path in sorted(paths):
        base = folder_name(path)
        name, number = base, 2
        while name.casefold() in taken:
            name, number = f"{base} {number}", number + 1
        taken.add(name.casefold())
        names[root_id] = name
    return names


def upgrade() -> None:
    op.add_column("roots", sa.Column("name", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = [
        (int(root_id), str(path)) for root_id, path in bind.execute(sa.text("SELECT id, path FROM roots"))
    ]
    for root_id, name in unique_names(rows).items():
        bind.execute(sa.text("UPDATE roots SET name = :name WHERE id = :id"), {"name": name, "id": root_id})
    op.create_index("uq_roots_name", "roots", ["name"], unique=True)
    op.create_table(
        "machines",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_machines"),
    )
    op.create_table(
        "root_paths",
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("machine", sa.String(36), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["roots.id"], name="fk_root_paths_root_id_roots", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("root_id", "machine", name="pk_root_paths"),
        sa.UniqueConstraint("machine", "path", name="uq_root_paths_machine_path"),
    )


def downgrade() -> None:
    op.drop_table("root_paths")
    op.drop_table("machines")
    op.drop_index("uq_roots_name", table_name="roots")
    op.drop_column("roots", "name")
