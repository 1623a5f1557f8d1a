"""A fifth file status, ``unreadable``: the file is there but cannot be opened as a model.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

``corrupt`` said "damaged" for files that are nothing of the kind: a file the user may not read, a named
pipe, socket or device that carries a model's name (opening one for reading would hang a scan), a link that
loops back on itself or points at nothing. Those now say ``unreadable`` with the reason, and are never
opened.

SQLite cannot alter a CHECK constraint, and Alembic's batch mode (a table copy) is refused for the generated
``sort_name`` column (see 0003). Widening a CHECK constraint changes no stored row, which is the case the
SQLite documentation names as safe to make by rewriting the table's schema text under
``PRAGMA writable_schema``; the schema version is bumped so every open connection re-reads it. Other
databases drop and re-create the constraint.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = "status IN ('ok', 'corrupt', 'unsafe', 'missing')"
_NEW = "status IN ('ok', 'corrupt', 'unsafe', 'missing', 'unreadable')"
_NAME = "ck_assets_status"


def upgrade() -> None:
    _replace_check(_OLD, _NEW)


def downgrade() -> None:
    op.execute(sa.text("UPDATE assets SET status = 'corrupt' WHERE status = 'unreadable'"))
    op.execute(sa.text("UPDATE assets SET prior_status = 'corrupt' WHERE prior_status = 'unreadable'"))
    _replace_check(_NEW, _OLD)


def _replace_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(_NAME, "assets", type_="check")
        op.create_check_constraint(_NAME, "assets", new)
        return
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'assets'")
    ).scalar()
    if sql is None or old not in sql:
        raise RuntimeError("the assets table does not carry the status constraint this migration expects")
    (version,) = bind.execute(sa.text("PRAGMA schema_version")).one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    try:
        bind.execute(
            sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'assets'"),
            {"sql": sql.replace(old, new)},
        )
        bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    finally:
        bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = bind.execute(sa.text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the catalog failed its integrity check after the change: {problems}")
