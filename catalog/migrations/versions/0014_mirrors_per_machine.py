"""A mirror belongs to the machine that made it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Why: a mirror is a folder on one computer (links or copies laid out for an A1111, ComfyUI or InvokeAI
install there). Since one catalog can be shared by several machines (migration 0012), machine B listed
and synced machine A's mirrors: its sync read A's entries, found none of them on B's disk and made them
again at A's path on B (or failed on a Windows path). ``mirrors.machine`` is now the id of the machine
that made the mirror (``machines.id``, a UUID from its settings); each machine lists and syncs its own.

A target is unique per machine, no longer in the whole catalog: two machines of a studio often have
their UI installed at the same path (``/home/studio/ComfyUI/models``), each with a mirror there.

Existing mirrors belong to the catalog's first machine, the one that added its oldest library folder
(its ``root_paths`` row holds the folder's stored path); in a catalog no machine was recorded in yet
(every catalog of one machine from before named roots), to the machine that runs this upgrade, passed by
``catalog.migrate.upgrade(machine_id=...)``: that is the machine the catalog was used on. An upgrade run
without a machine (``copy-catalog``, tests) leaves ``machine`` empty; such a mirror is listed by every
machine and taken by the first one that saves or syncs it (``catalog.mirrors``).

On SQLite the unique constraint lives in the table's definition, so ``mirrors`` is rebuilt. Foreign keys
are on during migrations and dropping the old table would cascade into ``mirror_entries``: its rows are
set aside first and the table made again as migration 0007 made it.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op
from alembic.operations import BatchOperations

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEPT = "_mirror_entries_0014"

_FIRST_MACHINE = (
    "SELECT p.machine FROM root_paths AS p JOIN roots AS r ON r.id = p.root_id AND p.path = r.path"
    " ORDER BY r.id, p.machine LIMIT 1"
)


def first_machine(bind: sa.engine.Connection) -> str | None:
    """The machine existing mirrors are given to (see the module's docstring), or None."""
    found = bind.execute(sa.text(_FIRST_MACHINE)).scalar()
    if found:
        return str(found)
    upgrading = context.config.attributes.get("machine_id")
    return str(upgrading) if upgrading else None


def _mirror_entries_table() -> None:
    """``mirror_entries`` as migration 0007 created it."""
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


_COLUMNS = "mirror_id, path, source, asset_id, mode, size, mtime_ns, inode"


def _rebuild_mirrors_on_sqlite(change: Callable[[BatchOperations], None]) -> None:
    """Run ``change(batch)`` on a rebuilt ``mirrors``, the entries kept aside meanwhile."""
    op.execute(f"CREATE TABLE {_KEPT} AS SELECT {_COLUMNS} FROM mirror_entries")
    op.drop_table("mirror_entries")
    with op.batch_alter_table("mirrors", recreate="always") as batch:
        change(batch)
    _mirror_entries_table()
    op.execute(f"INSERT INTO mirror_entries ({_COLUMNS}) SELECT {_COLUMNS} FROM {_KEPT}")
    op.execute(f"DROP TABLE {_KEPT}")


def upgrade() -> None:
    bind = op.get_bind()

    def change(batch: BatchOperations) -> None:
        batch.add_column(sa.Column("machine", sa.String(36), nullable=True))
        batch.drop_constraint("uq_mirrors_target", type_="unique")
        batch.create_unique_constraint("uq_mirrors_machine_target", ["machine", "target"])

    if bind.dialect.name == "sqlite":
        _rebuild_mirrors_on_sqlite(change)
    else:
        with op.batch_alter_table("mirrors") as batch:
            change(batch)
    owner = first_machine(bind)
    if owner is not None:
        bind.execute(sa.text("UPDATE mirrors SET machine = :machine"), {"machine": owner})


def downgrade() -> None:
    bind = op.get_bind()
    # One mirror per target again: where machines had one each at the same path, the oldest stays.
    bind.execute(sa.text("DELETE FROM mirrors WHERE id NOT IN (SELECT MIN(id) FROM mirrors GROUP BY target)"))

    def change(batch: BatchOperations) -> None:
        batch.drop_constraint("uq_mirrors_machine_target", type_="unique")
        batch.drop_column("machine")
        batch.create_unique_constraint("uq_mirrors_target", ["target"])

    if bind.dialect.name == "sqlite":
        _rebuild_mirrors_on_sqlite(change)
    else:
        with op.batch_alter_table("mirrors") as batch:
            change(batch)
