"""Schema migrations, applied when a library is opened.

Alembic is configured in code (no ``alembic.ini`` to ship or find): the script location is the
``catalog/migrations`` package and the connection is handed to ``env.py``. Before an existing catalog is
migrated, a copy is written next to it (``<name>.before-<revision>.bak``): a migration that goes wrong on a
user's machine must never cost them their ratings, notes and collections.

Two refusals keep a file that is not this version's catalog untouched: an SQLite database with tables but
no Alembic revision belongs to another program and is never migrated into an Atelier catalog, and a
catalog opened read-only (:func:`require_head`) is never migrated at all: an older schema is reported as
a migration that is due and cannot run there.

Opening a catalog that is already at this version's schema (nearly every start) asks its revision with
one query and never imports Alembic: the revisions are the migration files' names (``0001_...``), read
from the folder, and Alembic is loaded only when a migration is due or a revision is unknown.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, make_url
from sqlalchemy import exc as sa_exc

from catalog import blank_catalog
from catalog.db import create_catalog_engine
from catalog.db_file import known_revisions
from catalog.errors import MigrationDueError, NotACatalogError, SchemaTooNewError, translate_db_error
from catalog.sqlite_copy import copy_database
from catalog.sqlite_uri import sqlite_uri

if TYPE_CHECKING:  # Alembic (and Mako) load only when a migration is due or a revision is questioned
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_BEGIN_OPTION = {"atelier_begin": "IMMEDIATE"}


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The revision this version of Atelier writes: the newest migration file's (they are numbered in
    order, each named after its revision; a test checks that Alembic's chain ends at the same one)."""
    revisions = known_revisions()
    if not revisions:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return revisions[-1]


def recorded_revision(engine: Engine) -> str | None:
    """The one revision the catalog records, read with one query and no Alembic; None when it records
    none (a new or foreign database) or several (Alembic then says what is wrong)."""
    with engine.connect() as connection:
        return _recorded_on(connection)


def _recorded_on(connection: Connection) -> str | None:
    if connection.dialect.name != "sqlite":
        table = connection.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
    else:
        table = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).first()
    if table is None:
        return None
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision a database is at (None for a new, empty database)."""
    engine, owned = _engine(engine_or_url)
    try:
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def upgrade(
    engine_or_url: Engine | str, revision: str = "head", *, backup: bool = True, machine_id: str | None = None
) -> None:
    """Bring the database to ``revision`` (default: the newest) in one transaction. ``machine_id``: the
    machine running the upgrade, for a migration that gives it rows no machine owned yet (0014: mirrors).

    All pending migrations run in one write transaction, so an interrupted upgrade leaves the database at
    its old revision rather than half-migrated.

    Raises:
        SchemaTooNewError: the database was written by a newer Atelier.
        CatalogError: the file is not a database, or cannot be written.
    """
    engine, owned = _engine(engine_or_url)
    try:
        if revision == "head" and recorded_revision(engine) == head_revision():
            return  # nothing due: the usual open, without loading Alembic
        head = head_revision() if revision == "head" else None
        empty = head is not None and _has_no_tables(engine)
        if empty and head is not None and _copy_blank(engine, head):
            return  # a new catalog: this process already built the blank one
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = alembic_config()
        script = ScriptDirectory.from_config(config)
        with engine.execution_options(**_BEGIN_OPTION).connect() as connection:
            # Begun here, before anything is read or Alembic sees the connection: the write lock (BEGIN
            # IMMEDIATE) is held from the revision read to the one commit below, so a second process
            # starting at once waits, then finds the catalog built. Read before the lock, its revision
            # and its tables could come from either side of another process's commit ("another
            # program's database", or migrations run twice); and Alembic, on a connection it finds
            # without a transaction where DDL is not transactional in its eyes (SQLite), commits after
            # EACH migration, so other processes read a half-built catalog (0006, 0011...).
            connection.begin()
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None:
                _require_known(script, current)
            else:
                _refuse_foreign_tables(connection, engine.url.database or "file")
            target = script.get_revision(revision)
            if target is not None and current == target.revision:
                connection.rollback()
                return  # another process brought it here while this one waited for the lock
            if backup and current is not None and target is not None:
                _backup(engine, f"before-{target.revision}")
            config.attributes["connection"] = connection
            config.attributes["machine_id"] = machine_id
            command.upgrade(config, revision)
            connection.commit()
        if empty and head is not None:
            _remember_blank(engine, head)
    except (sa_exc.DBAPIError, sqlite3.Error) as error:
        raise translate_db_error(error, _folder(engine, engine.url.database)) from error
    finally:
        if owned:
            engine.dispose()


def require_head(engine: Engine, where: str) -> None:
    """Check, without writing, that a catalog that must not be migrated is at this version's schema.

    ``where`` names the catalog in the messages. Raises ``SchemaTooNewError`` (a newer Atelier wrote it),
    ``MigrationDueError`` (an older one did, or it is an empty file) or ``NotACatalogError`` (another
    program's database); driver errors leave as typed catalog errors.
    """
    head = head_revision()
    try:
        if recorded_revision(engine) == head:
            return  # at this version's schema: no Alembic needed to say so
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        current = current_revision(engine)
        if current is None:
            refuse_foreign(engine, where)
            raise MigrationDueError(
                f"The catalog {where} has no tables yet and cannot be set up here (its folder is read-only)."
            )
        _require_known(script, current)
    except (sa_exc.DBAPIError, sqlite3.Error) as error:
        raise translate_db_error(error, _folder(engine, where)) from error
    if current != head:
        raise MigrationDueError(
            f"The catalog {where} needs an update to this version of Atelier (schema {current} to {head}), "
            "which cannot run in a read-only folder: make it writable once, or use the Atelier that wrote it."
        )


def _require_known(script: ScriptDirectory, current: str) -> None:
    from alembic.util.exc import CommandError

    try:
        script.get_revision(current)
    except CommandError as error:
        raise SchemaTooNewError.of_revision(current) from error


_OTHER_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


def _foreign(where: object, tables: Sequence[str]) -> NotACatalogError:
    return NotACatalogError(
        f"The catalog {where} is an SQLite database of another program, not an "
        f"Atelier catalog (it holds tables such as {', '.join(tables[:3])}); it was left as it is."
    )


def refuse_foreign(engine: Engine, where: str) -> None:
    """An SQLite database with tables but no Alembic revision is another program's: never migrated.
    (``Library.open`` asks the file first, read-only: ``refuse_foreign_file``.) Driver errors leave as
    typed catalog errors: this is the first read of a catalog, where a full disk is met first."""
    try:
        _refuse_foreign(engine, where)
    except (sa_exc.DBAPIError, sqlite3.Error) as error:
        raise translate_db_error(error, _folder(engine, where)) from error


def _folder(engine: Engine, database: str | None) -> Path | None:
    """The folder of a catalog file, for the messages of :func:`~catalog.errors.translate_db_error`
    (None on a server, or when ``database`` names no file)."""
    if engine.dialect.name != "sqlite" or not database or not Path(database).is_absolute():
        return None
    return Path(database).parent


def _refuse_foreign(engine: Engine, where: str) -> None:
    with engine.connect() as connection:  # one transaction: the revision and the tables read together
        if _recorded_on(connection) is None:
            _refuse_foreign_tables(connection, where)


def _refuse_foreign_tables(connection: Connection, where: str) -> None:
    """``refuse_foreign`` on a connection that has read no revision: any table at all is another
    program's (read inside the caller's transaction, so on the same side of other processes' commits)."""
    if connection.dialect.name != "sqlite":
        from sqlalchemy import inspect

        names = inspect(connection).get_table_names()
        if names:
            raise NotACatalogError(
                f"The catalog {where} is a database with tables of another program (such as "
                f"{', '.join(sorted(names)[:3])}), not an Atelier catalog; it was left as it is."
            )
        return
    tables = connection.exec_driver_sql(f"{_OTHER_TABLES} LIMIT 3").scalars().all()
    if tables:
        raise _foreign(where, [str(name) for name in tables])


def refuse_foreign_file(path: Path) -> None:
    """``refuse_foreign`` for a file not opened yet, asked read-only with the standard library, so another
    program's database is refused before the catalog's writing engine switches it to WAL (which changes
    the file's header: "left as it is" must be true to the byte)."""
    try:
        if path.stat().st_size == 0:
            return
        connection = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
    except (OSError, sqlite3.Error):
        return  # missing or unreadable: the writing engine says what is wrong in its own words
    try:
        names = [str(row[0]) for row in connection.execute(f"{_OTHER_TABLES} LIMIT 50")]
    except sqlite3.Error:
        return  # not a database at all: the writing engine's error names that
    finally:
        connection.close()
    if names and "alembic_version" not in names:
        raise _foreign(path, names)


def _has_no_tables(engine: Engine) -> bool:
    if engine.dialect.name != "sqlite":
        from sqlalchemy import inspect

        return not inspect(engine).get_table_names()
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"{_OTHER_TABLES} LIMIT 1").first() is None


@contextmanager
def _sqlite_connection(engine: Engine) -> Iterator[sqlite3.Connection | None]:
    """The engine's driver connection, for SQLite's backup API (None for another driver)."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        yield driver if isinstance(driver, sqlite3.Connection) else None
    finally:
        raw.close()


def _copy_blank(engine: Engine, head: str) -> bool:
    """Fill a new, empty catalog from the blank one this process built (see ``catalog.blank_catalog``)."""
    with _sqlite_connection(engine) as connection:
        return connection is not None and blank_catalog.copy_into(head, connection)


def _remember_blank(engine: Engine, head: str) -> None:
    with _sqlite_connection(engine) as connection:
        if connection is not None:
            blank_catalog.remember(head, connection)


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
    if not database or engine.dialect.name != "sqlite":
        return  # a server's catalog is backed up by the server's own tools (pg_dump), not by Atelier
    source_path = Path(database)
    target_path = source_path.with_name(f"{source_path.name}.{suffix}.bak")
    # A copy cut short is no backup: left there it would pass for one, and the next open, which makes the
    # backup again before migrating, would meet it half-written (copy_database removes it).
    copy_database(source_path, target_path)
