"""The catalog's SQLite engine and its unit of work.

One :class:`CatalogDatabase` (one engine, one connection pool) per open library. Every Library method opens
its own short :class:`~sqlalchemy.orm.Session` through :meth:`CatalogDatabase.session_scope`, which is one
transaction: committed when the block ends, rolled back on any error. Sessions never cross threads, so the
Library can be called from the GUI thread and from workers at the same time.

Connection settings and why:

* ``journal_mode=WAL``: readers (the GUI) never wait for the writer (a scan), and the writer never waits for
  readers.
* ``busy_timeout``: a second writer waits for the first instead of failing at once; only a writer stuck for
  longer than the timeout becomes a :class:`~catalog.errors.DatabaseLockedError`.
* ``synchronous=NORMAL``: with WAL this is crash-safe (the database cannot be corrupted); at worst the last
  transactions before a power cut are lost, and the scanner simply finds those files again.
* ``foreign_keys=ON``: SQLite leaves it off by default; the schema relies on ``ON DELETE CASCADE``.
* ``mmap_size``, ``cache_size``, ``temp_store=MEMORY``: searches read rows all over the file; mapping it
  avoids a ``read()`` call per page, and the sorts and IN-lists of broad searches stay in memory.
* Transactions are begun by us (``BEGIN`` / ``BEGIN IMMEDIATE``) instead of by the sqlite3 module, which
  would start them lazily at the first write: a read-then-write unit of work would then try to upgrade a
  read snapshot to a write lock, which fails with "database is locked" *without* honouring the busy
  timeout whenever another writer committed in between. Write units of work therefore take the write lock
  up front (``IMMEDIATE``) and wait politely for it.

A catalog in a folder Atelier cannot write (a read-only mount, a folder without write permission) is opened
**read-only**: SQLite's URI ``mode=ro`` when the ``-wal`` and ``-shm`` files are there, else ``immutable=1``
(SQLite documents that a read-only WAL database opens only if those files exist or can be created, or if
it is immutable; creating them would be a write in a folder that must stay as it is). The WAL pragma is
not sent (it would try to write), ``query_only`` refuses any write at the driver, and a write unit of work
fails at once with :class:`~catalog.errors.ReadOnlyCatalogError`, the one sentence the CLI and the window
show.

**On a PostgreSQL server** (:meth:`CatalogDatabase.on_server`, see :mod:`catalog.catalog_url`) the same
units of work run on an engine of that server, with SQLite's guarantees kept:

* one writer at a time, like SQLite's write lock: a write unit of work first takes a transaction-scoped
  advisory lock (``pg_advisory_xact_lock``), so two machines scanning the same folder never insert the same
  file twice and a read-then-write unit of work (ids allocated up front, tag positions) is never
  interleaved with another writer. Readers never wait: they see the last committed state (PostgreSQL's
  MVCC does what WAL does for SQLite). A write waits for the lock as SQLite waits for its busy timeout,
  and the server's ``lock_timeout`` turns a stuck one into an error;
* no lost update between machines: an edit writes only the fields the user changed (an ``UPDATE`` of
  those columns, :mod:`catalog.user_data`), under the lock above, so two machines editing the same asset
  each keep their own fields and the same field ends with the last write (last write wins per field);
* a client killed inside a write leaves nothing: the server rolls its transaction back when the
  connection drops;
* a read unit of work runs without a transaction (autocommit): at PostgreSQL's READ COMMITTED every
  statement reads its own snapshot of the last committed state whether or not it is inside a
  transaction, so ``BEGIN`` and ``COMMIT`` would only add two round trips to the server for every search
  (and writes never happen in a read unit of work: SQLite's read-only catalogs refuse them).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from catalog import machine_paths
from catalog.catalog_url import SERVER_CATALOG_NAME
from catalog.db_file import read_only_uri
from catalog.errors import (
    CatalogError,
    DatabaseAccessError,
    LibraryClosedError,
    ReadOnlyCatalogError,
    translate_db_error,
)
from catalog.read_connection import READ_PRAGMAS

DEFAULT_BUSY_TIMEOUT_MS = 15_000
_BEGIN_OPTION = "atelier_begin"
CHUNK = 500
T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices for ``IN (...)`` lists: SQLite's bound-parameter limit is far above ``CHUNK``,
    and equal-sized statements are reused from SQLAlchemy's statement cache."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def utc_now() -> datetime:
    """The one clock of the catalog (aware UTC), so tests and rows agree on the zone."""
    return datetime.now(UTC)


def sqlite_url(db_path: Path) -> str:
    """The SQLAlchemy URL of the catalog file at ``db_path``, its name escaped: written bare, a ``?`` in a
    folder name would start the URL's query and ``%20`` be read as a space (another file opened, or made)."""
    return URL.create("sqlite", database=str(db_path)).render_as_string(hide_password=False)


def create_catalog_engine(
    db_path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, read_only: bool = False
) -> Engine:
    """An engine whose every connection has the settings described in the module docstring."""
    # Pooled connections move between threads (never while in use), hence check_same_thread off.
    timeout_s = busy_timeout_ms / 1000
    if read_only:
        uri = read_only_uri(db_path)

        def connect_read_only() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=timeout_s)

        # "sqlite://" alone would pick the in-memory pool: the file's connections are pooled as usual.
        engine = create_engine(
            "sqlite://", creator=connect_read_only, poolclass=QueuePool, pool_size=4, max_overflow=8
        )
    else:
        engine = create_engine(
            sqlite_url(db_path),
            connect_args={"check_same_thread": False, "timeout": timeout_s},
            pool_size=4,
            max_overflow=8,
        )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver level: transactions are begun explicitly in _begin below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if read_only:
                cursor.execute("PRAGMA query_only = ON")
            else:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            for pragma in READ_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def driver_connection(session: Session) -> sqlite3.Connection:
    """The ``sqlite3`` connection under ``session``, inside its transaction: what the plain-SQL reads
    of :mod:`catalog.queries` run on (on PostgreSQL, the psycopg connection in the same shape:
    :class:`catalog.pg_reads.PgReadConnection`)."""
    connection = session.connection().connection.driver_connection
    if isinstance(connection, sqlite3.Connection):
        return connection
    from catalog.pg_reads import PgReadConnection

    return PgReadConnection(connection)  # type: ignore[arg-type, return-value]  # the same reads' shape


# One key for the catalog's write lock on a server (any constant: the catalog owns its database).
WRITE_LOCK_KEY = 0x41544C52


class CatalogDatabase:
    """Owns the engine of one catalog file and hands out units of work."""

    def __init__(
        self, db_path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, read_only: bool = False
    ) -> None:
        self._path = db_path
        self._read_only = read_only
        self._engine = create_catalog_engine(db_path, busy_timeout_ms=busy_timeout_ms, read_only=read_only)
        self._write_engine = self._engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._read_engine = self._engine
        self._closed = False
        self._lock = threading.Lock()
        self._server_name: str | None = None
        # This machine's id, whose folders for shared roots each unit of work translates (machine_paths),
        # and its map: read by the first unit of work, and again after forget_machine_paths().
        self.machine_id: str | None = None
        self._machine_paths: machine_paths.PathMap | None = None

    @classmethod
    def on_server(cls, engine: Engine, data_dir: Path, name: str) -> CatalogDatabase:
        """A catalog on a database server (``engine``); ``data_dir`` keeps this machine's files (renders),
        ``name`` is the server as messages show it (password masked)."""
        database = cls.__new__(cls)
        database._path = data_dir / SERVER_CATALOG_NAME
        database._read_only = False
        database._engine = engine
        database._write_engine = engine.execution_options()
        # Reads without BEGIN/COMMIT (module docstring): two round trips fewer for every read.
        database._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        database._closed = False
        database._lock = threading.Lock()
        database._server_name = name
        database.machine_id = None
        database._machine_paths = None
        return database

    @property
    def on_a_server(self) -> bool:
        return self._server_name is not None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def read_only(self) -> bool:
        """Opened read-only: every write unit of work raises :class:`ReadOnlyCatalogError`."""
        return self._read_only

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def session_scope(self, *, write: bool = False) -> Iterator[Session]:
        """One unit of work: a Session in one transaction, committed on success, rolled back on error.

        ``write=True`` takes the write lock at the start (``BEGIN IMMEDIATE``), see the module docstring.
        Driver errors leave as typed :class:`~catalog.errors.CatalogError` subclasses.
        """
        if self._closed:
            raise LibraryClosedError("The library has been closed.")
        if write and self._read_only:
            raise ReadOnlyCatalogError.for_folder(self._path.parent)
        bind = self._write_engine if write else self._read_engine
        try:
            with Session(bind=bind, expire_on_commit=False, autoflush=False) as session, session.begin():
                if write and self._server_name is not None:
                    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
                paths = self._machine_paths
                if paths is None:  # this machine's folders for the shared roots, read once (see forget...)
                    paths = machine_paths.load(driver_connection(session), self.machine_id)
                    self._machine_paths = paths
                with machine_paths.in_effect(paths):
                    yield session
        except (sa_exc.DBAPIError, sqlite3.Error) as error:
            # sqlite3 errors come from the reads run on the driver connection (catalog.queries).
            translated = translate_db_error(error, None if self.on_a_server else self._path.parent)
            if self._read_only and isinstance(translated, DatabaseAccessError) and "readonly" in str(error):
                # A write slipped into a read unit of work: the driver's "readonly database" in the words
                # every other refusal uses.
                raise ReadOnlyCatalogError.for_folder(self._path.parent) from error
            raise translated from error
        except sa_exc.SQLAlchemyError as error:
            raise CatalogError(f"The library database reported an error: {error}") from error

    def forget_machine_paths(self) -> None:
        """Read this machine's folders for the shared roots again at the next unit of work: the Library
        calls it when it maps, adds or removes a folder, and before every listing of the folders (a scan
        starts with one), so a folder another process of this profile mapped is followed from then on."""
        self._machine_paths = None

    def close(self) -> None:
        """Dispose of the pool; later calls raise :class:`~catalog.errors.LibraryClosedError`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._engine.dispose()
