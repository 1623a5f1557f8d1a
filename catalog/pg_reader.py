"""Reading a catalog on a PostgreSQL server with psycopg alone, for the commands that only read.

``search``, ``show`` and ``roots`` on a server ran a few statements after importing SQLAlchemy and building
an engine, which cost several times more than the statements (about a second for a command of 0.1 s on
SQLite). :func:`open_server_reader` connects with psycopg as the engine would (the same connection
parameters, ``catalog.catalog_url.CONNECT_ARGS``) and :class:`ServerCatalogReader` answers the reads of
:class:`~catalog.read_connection.CatalogReads` through the statements and row parsers of
:mod:`catalog.queries`, adapted to PostgreSQL by :class:`catalog.pg_reads.PgReadConnection` exactly as the
Library's units of work adapt them: both give the same records by construction.

As on SQLite (:mod:`catalog.read_connection`), the reader is used only for a catalog that can be read as it
stands: at this version's schema, read from ``alembic_version`` with one query and no Alembic. A catalog
that is new, older (a migration due), newer, another program's database, or a URL with options the light
connection does not take (several hosts) answers None, and the caller opens the Library, which migrates or
says what is wrong in the words it always used. A server that refuses the connection (down, a wrong
password) raises :class:`ServerConnectError` with the driver's own words, which the caller says in the
same line as when the Library's engine is refused (``app.server_catalog``).

Reads run without a transaction (autocommit), as the Library's read units of work on a server do: at
READ COMMITTED every statement reads the last committed state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from catalog.catalog_url import CONNECT_ARGS, ServerAddress
from catalog.db_file import known_revisions
from catalog.errors import CatalogError
from catalog.pg_reads import PgReadConnection
from catalog.queries import DbapiConnection
from catalog.read_connection import CatalogReader

_REVISION_TABLE = b"SELECT to_regclass('alembic_version')"
_REVISION = b"SELECT version_num FROM alembic_version"
# Options SQLAlchemy's psycopg dialect reads itself (several hosts and ports): left to the Library's engine.
_ENGINE_OPTIONS = ("host", "port")


class ServerConnectError(CatalogError):
    """The server refused or did not answer the connection; ``reason`` is the driver's first line (which
    may quote the server's address, never a password: the caller masks it before showing it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def connection_parameters(server: ServerAddress, password: str | None) -> dict[str, Any] | None:
    """What psycopg connects with, as SQLAlchemy's psycopg dialect passes it for the same URL (user,
    password, host, port, dbname, the URL's options, then the engine's own ``CONNECT_ARGS``); None for a
    URL whose options only the dialect reads (a list of hosts)."""
    if any(key in _ENGINE_OPTIONS or not isinstance(value, str) for key, value in server.query):
        return None
    given = {
        "user": server.username,
        "password": password,
        "host": server.host,
        "port": server.port,
        "dbname": server.database,
    }
    parameters: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    parameters.update(dict(server.query))
    parameters.update(CONNECT_ARGS)
    return parameters


def open_server_reader(
    server: ServerAddress, password: str | None, *, name: Path, machine_id: str | None = None
) -> ServerCatalogReader | None:
    """A reader of the catalog on ``server`` (connecting with ``password``, else as libpq finds one), or
    None when the Library must open it (module docstring). ``name``: what the reader's ``path`` answers (the
    Library's ``path`` on a server). Raises :class:`ServerConnectError` when the server refuses."""
    parameters = connection_parameters(server, password)
    if parameters is None:
        return None
    try:
        connection = psycopg.connect(autocommit=True, **parameters)
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ServerConnectError(reason) from None
    try:
        at_head = _at_this_version(connection)
    except psycopg.Error:
        at_head = False  # the Library asks again and says what is wrong in its own words
    if not at_head:
        connection.close()
        return None
    return ServerCatalogReader(name, connection, machine_id)


def _at_this_version(connection: psycopg.Connection[Any]) -> bool:
    revisions = known_revisions()
    row = connection.execute(_REVISION_TABLE).fetchone()
    if row is None or row[0] is None:
        return False  # no revision table: a new or foreign database
    rows = connection.execute(_REVISION).fetchall()
    return bool(revisions) and len(rows) == 1 and rows[0][0] == revisions[-1]


class ServerCatalogReader(CatalogReader):
    """:class:`~catalog.read_connection.CatalogReader` over one psycopg connection to the server (reads
    take turns; each statement reads the last committed state)."""

    driver_errors = (psycopg.Error,)

    def __init__(
        self, name: Path, connection: psycopg.Connection[Any], machine_id: str | None = None
    ) -> None:
        super().__init__(name, None, machine_id)
        self._server: psycopg.Connection[Any] | None = connection

    @contextmanager
    def _transaction(self) -> Iterator[DbapiConnection]:
        if self._server is None:
            from catalog.errors import LibraryClosedError

            raise LibraryClosedError("The library has been closed.")
        yield PgReadConnection(self._server)

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.close()
                self._server = None
