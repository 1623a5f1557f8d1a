"""Reading the catalog with the standard ``sqlite3`` module alone, for commands and views that only read.

``search``, ``show`` and ``roots`` run a few statements; importing SQLAlchemy and building an engine to
run them cost several times more than the statements. :func:`open_reader` opens the catalog with
``sqlite3`` after the checks ``Library.open`` makes, and :class:`CatalogReader` answers the reads of
:class:`CatalogReads` through the very functions the Library runs (:mod:`catalog.queries`), so both
give the same records by construction.

The reader is used only for a catalog that can be read as it stands: at this version's schema (asked
with one query, no Alembic) and, where it may be written, with no organize operation a crash left
unfinished. Anything else (no catalog yet, a migration due, another program's database, a newer
schema, an interrupted operation, a file SQLite cannot open) answers None, and the caller opens the
:class:`~catalog.library.Library`, which creates, migrates, recovers or says what is wrong in the words
it always used.

Connection settings: in a folder Atelier may write, the file is opened read-write (as the Library's
engine opens it, so the ``-wal``/``-shm`` files come and go exactly as they always did) with
``query_only`` refusing any write; in a read-only folder it is opened with the URI the read-only
Library uses (``catalog.db_file.read_only_uri``). Each read runs in one transaction, so a page and its
tags are one snapshot even while a scan writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from catalog import machine_paths, queries
from catalog.db_file import known_revisions, read_only_uri
from catalog.queries import DbapiConnection
from catalog.records import (
    AssetQuery,
    AssetRecord,
    AssetRow,
    IndexedFile,
    PreviewRecord,
    RemoteLinkRecord,
    RootPlaces,
    RootRecord,
)
from catalog.sqlite_uri import sqlite_uri
from core.taxonomy import Architecture

DEFAULT_BUSY_TIMEOUT_MS = 15_000
MMAP_BYTES = 1 << 30
CACHE_KIB = 32 * 1024
# Searches read rows all over the file: mapping it avoids a read() call per page, and the sorts and
# IN-lists of broad searches stay in memory. The Library's engine sends the same (catalog.db).
READ_PRAGMAS = (
    f"PRAGMA mmap_size = {MMAP_BYTES}",
    f"PRAGMA cache_size = {-CACHE_KIB}",
    "PRAGMA temp_store = MEMORY",
)

_REVISION = "SELECT version_num FROM alembic_version"
_INTERRUPTED = "SELECT 1 FROM organize_operations WHERE state = 'applying' LIMIT 1"


class CatalogReads(Protocol):
    """The reads a command or a first view needs; :class:`CatalogReader` and ``Library`` both answer
    them (through :mod:`catalog.queries`)."""

    def search(self, query: AssetQuery) -> list[AssetRecord]: ...

    def search_rows(self, query: AssetQuery) -> list[AssetRow]: ...

    def search_ids(self, query: AssetQuery) -> list[int]: ...

    def count(self, query: AssetQuery) -> int: ...

    def base_model_labels(self) -> dict[Architecture, dict[str, int]]: ...

    def get(self, asset_id: int) -> AssetRecord | None: ...

    def get_by_path(self, path: str | Path) -> AssetRecord | None: ...

    def get_many(self, ids: Sequence[int]) -> list[AssetRecord]: ...

    def get_rows(self, ids: Sequence[int]) -> list[AssetRow]: ...

    def roots(self) -> list[RootRecord]: ...

    def get_root(self, root_id: int) -> RootRecord | None: ...

    def root_places(self) -> list[RootPlaces]: ...

    def previews(self, asset_id: int) -> list[PreviewRecord]: ...

    def remote_links(self, asset_id: int) -> list[RemoteLinkRecord]: ...

    def has_mirrors(self) -> bool: ...

    def close(self) -> None: ...


def open_reader(
    db_path: Path,
    *,
    read_only: bool,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    machine_id: str | None = None,
) -> CatalogReader | None:
    """A reader of the catalog at ``db_path``, or None when it must be opened by ``Library.open`` (see the
    module docstring). ``read_only``: the data folder cannot be written; ``machine_id``: this machine, whose
    folders for shared roots the reads give (:mod:`catalog.machine_paths`)."""
    if not db_path.is_file():
        return None  # no catalog yet: Library.open makes it
    timeout_s = busy_timeout_ms / 1000
    try:
        uri = read_only_uri(db_path) if read_only else sqlite_uri(db_path, mode="rw")
        # Any thread may read (one at a time: CatalogReader holds a lock around each read).
        connection = sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        connection.isolation_level = None  # transactions are begun by CatalogReader._snapshot
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        connection.execute("PRAGMA query_only = ON")
        for pragma in READ_PRAGMAS:
            connection.execute(pragma)
        if not _readable_as_it_stands(connection, read_only=read_only):
            connection.close()
            return None
    except sqlite3.Error as error:
        connection.close()
        if "locked" in str(error).lower():  # the Library would wait for the same writer again: say it now
            from catalog.errors import translate_db_error

            raise translate_db_error(error) from error
        return None
    return CatalogReader(db_path, connection, machine_id)


def _readable_as_it_stands(connection: sqlite3.Connection, *, read_only: bool) -> bool:
    revisions = known_revisions()
    try:
        rows = connection.execute(_REVISION).fetchall()
    except sqlite3.OperationalError:
        return False  # no revision table: a new, foreign or damaged file
    if len(rows) != 1 or not revisions or rows[0][0] != revisions[-1]:
        return False
    # A writable catalog with an interrupted move is completed by the Library before anything reads it.
    return read_only or connection.execute(_INTERRUPTED).fetchone() is None


class CatalogReader:
    """The catalog read through one ``sqlite3`` connection; any thread may call it (reads take turns).
    Errors leave as the :class:`~catalog.errors.CatalogError` subclasses the Library raises, with the
    same words.

    A catalog on a PostgreSQL server is read the same way by :class:`catalog.pg_reader.ServerCatalogReader`,
    which reads through its psycopg connection in the shape these reads run on, without a transaction, as
    the Library reads there (see ``catalog.db``)."""

    # The driver's errors, which leave as catalog errors (translate_db_error).
    driver_errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(
        self, db_path: Path, connection: sqlite3.Connection | None, machine_id: str | None = None
    ) -> None:
        self._path = db_path
        self._connection: sqlite3.Connection | None = connection
        self._lock = threading.Lock()
        self._machine_id = machine_id
        self._machine_paths: machine_paths.PathMap | None = None  # read once, again by root listings

    @property
    def path(self) -> Path:
        return self._path

    @contextmanager
    def _transaction(self) -> Iterator[DbapiConnection]:
        """The connection the reads run on, inside one read transaction (one snapshot of the catalog)."""
        connection = self._connection
        if connection is None:
            from catalog.errors import LibraryClosedError

            raise LibraryClosedError("The library has been closed.")
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[DbapiConnection]:
        """One read unit of work, with this machine's folders for shared roots in effect; driver errors
        as catalog errors."""
        with self._lock:
            try:
                with self._transaction() as connection:
                    # This machine's folders for shared roots, as the Library's units of work read them.
                    if self._machine_paths is None:
                        self._machine_paths = machine_paths.load(connection, self._machine_id)
                    with machine_paths.in_effect(self._machine_paths):
                        yield connection
            except self.driver_errors as error:
                from catalog.errors import translate_db_error

                raise translate_db_error(error) from error

    def search(self, query: AssetQuery) -> list[AssetRecord]:
        with self._snapshot() as connection:
            return queries.search_records(connection, query)

    def search_rows(self, query: AssetQuery) -> list[AssetRow]:
        with self._snapshot() as connection:
            return queries.search_rows(connection, query)

    def search_ids(self, query: AssetQuery) -> list[int]:
        with self._snapshot() as connection:
            return queries.search_ids(connection, query)

    def count(self, query: AssetQuery) -> int:
        with self._snapshot() as connection:
            return queries.count(connection, query)

    def base_model_labels(self) -> dict[Architecture, dict[str, int]]:
        with self._snapshot() as connection:
            return queries.base_model_labels(connection)

    def get(self, asset_id: int) -> AssetRecord | None:
        with self._snapshot() as connection:
            return queries.record_by_id(connection, asset_id)

    def get_by_path(self, path: str | Path) -> AssetRecord | None:
        with self._snapshot() as connection:
            return queries.record_by_path(connection, str(path))

    def get_many(self, ids: Sequence[int]) -> list[AssetRecord]:
        with self._snapshot() as connection:
            return queries.records_by_ids(connection, ids)

    def get_rows(self, ids: Sequence[int]) -> list[AssetRow]:
        with self._snapshot() as connection:
            return queries.rows_by_ids(connection, ids)

    def roots(self) -> list[RootRecord]:
        self._machine_paths = None  # a listing reads this machine's folders afresh (see Library.roots)
        with self._snapshot() as connection:
            return queries.root_records(connection)

    def root_places(self) -> list[RootPlaces]:
        """Every library folder with each machine's own path for it (see ``Library.root_places``)."""
        self._machine_paths = None
        with self._snapshot() as connection:
            return queries.root_places(connection, self._machine_id)

    def get_root(self, root_id: int) -> RootRecord | None:
        with self._snapshot() as connection:
            found = queries.root_records(connection, root_id)
            return found[0] if found else None

    def previews(self, asset_id: int) -> list[PreviewRecord]:
        with self._snapshot() as connection:
            return queries.preview_records(connection, asset_id)

    def remote_links(self, asset_id: int) -> list[RemoteLinkRecord]:
        with self._snapshot() as connection:
            return queries.remote_link_records(connection, asset_id)

    def has_mirrors(self) -> bool:
        with self._snapshot() as connection:
            return queries.has_mirrors(connection, self._machine_id)

    def file_index(self, root_id: int) -> dict[str, IndexedFile]:
        """Every row of a root by path (see ``Library.file_index``)."""
        with self._snapshot() as connection:
            return queries.file_index(connection, root_id)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
