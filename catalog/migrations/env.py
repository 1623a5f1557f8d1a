"""Alembic environment of the catalog.

:mod:`catalog.migrate` builds the Alembic config in code and hands over an open connection through
``config.attributes["connection"]``, so migrations run on a connection with the catalog's pragmas (foreign
keys, WAL, busy timeout) and inside the caller's transaction. Offline mode (``--sql``) is kept for
reviewing the generated SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from catalog.orm import Base

config = context.config
target_metadata = Base.metadata


def _run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    given = config.attributes.get("connection")
    if not isinstance(given, Connection):
        raise RuntimeError(
            "catalog migrations run through catalog.migrate.upgrade(), which passes a connection"
        )
    _run_online(given)
