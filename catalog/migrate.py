"""Schema migrations, applied when a library is opened.

Alembic is configured in code (no ``alembic.ini`` to ship or find): the script location is the
``catalog/migrations`` package and the connection is handed to ``env.py``. Before an existing catalog is
migrated, a copy is written next to it (``<name>.before-<revision>.bak``): a migration that goes wrong on a
user's machine must never cost them their ratings, notes and collections.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, make_url
from sqlalchemy import exc as sa_exc

from catalog.db import create_catalog_engine
from catalog.errors import SchemaTooNewError, translate_db_error

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_BEGIN_OPTION = {"atelier_begin": "IMMEDIATE"}


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The revision this version of Atelier writes."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision a database is at (None for a new, empty database)."""
    engine, owned = _engine(engine_or_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def upgrade(engine_or_url: Engine | str, revision: str = "head", *, backup: bool = True) -> None:
    """Bring the database to ``revision`` (default: the newest) in one transaction.

    All pending migrations run in one write transaction, so an interrupted upgrade leaves the database at
    its old revision rather than half-migrated.

    Raises:
        SchemaTooNewError: the database was written by a newer Atelier.
        CatalogError: the file is not a database, or cannot be written.
    """
    engine, owned = _engine(engine_or_url)
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    try:
        current = current_revision(engine)
        if current is not None:
            try:
                script.get_revision(current)
            except CommandError as error:
                raise SchemaTooNewError(
                    f"This library was last opened by a newer version of Atelier (schema {current}). "
                    "Update Atelier to open it."
                ) from error
        target = script.get_revision(revision)
        if backup and current is not None and target is not None and current != target.revision:
            _backup(engine, f"before-{target.revision}")
        with engine.execution_options(**_BEGIN_OPTION).connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    except sa_exc.DBAPIError as error:
        raise translate_db_error(error) from error
    finally:
        if owned:
            engine.dispose()


def _engine(engine_or_url: Engine | str) -> tuple[Engine, bool]:
    """The engine to use, and whether we created it (and so must dispose of it)."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    database = make_url(engine_or_url).database
    if not database:
        raise ValueError(f"not a file database URL: {engine_or_url}")
    return create_catalog_engine(Path(database)), True


def _backup(engine: Engine, suffix: str) -> None:
    """Copy the database with SQLite's online backup (consistent even with the WAL in use)."""
    database = engine.url.database
    if not database:
        return
    source_path = Path(database)
    target_path = source_path.with_name(f"{source_path.name}.{suffix}.bak")
    source = sqlite3.connect(source_path)
    try:
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
