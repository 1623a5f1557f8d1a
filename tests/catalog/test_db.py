"""The engine, its unit of work, concurrency and typed errors, on real SQLite files; the Library's threads
and its closing on the PostgreSQL server too (``lib``)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from catalog.db import CatalogDatabase
from catalog.db_file import (
    CatalogFileProblem,
    CatalogFileState,
    examine_catalog_file,
    read_only_uri,
    wal_files_present,
)
from catalog.errors import (
    CatalogError,
    ConflictError,
    DatabaseLockedError,
    LibraryClosedError,
    MigrationDueError,
    NotACatalogError,
    ReadOnlyCatalogError,
    SchemaTooNewError,
)
from catalog.library import Library
from catalog.migrate import require_head, upgrade
from catalog.records import AssetQuery, UserDataChanges
from tests.catalog.conftest import scanned


def test_every_connection_gets_the_catalog_pragmas(tmp_path: Path) -> None:
    database = CatalogDatabase(tmp_path / "c.db", busy_timeout_ms=1234)
    try:
        with database.session_scope() as session:
            pragma = {
                name: session.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        database.close()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234, "synchronous": 1}


def test_a_unit_of_work_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    database = CatalogDatabase(tmp_path / "c.db")
    try:
        with database.session_scope(write=True) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        with database.session_scope(write=True) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))

        def fail_midway() -> None:
            with database.session_scope(write=True) as session:
                session.execute(text("INSERT INTO t VALUES (2)"))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            fail_midway()
        with database.session_scope() as session:
            assert session.execute(text("SELECT x FROM t")).scalars().all() == [1]
    finally:
        database.close()


def test_a_write_unit_takes_the_write_lock_up_front_and_reports_a_lock_as_a_typed_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.db"
    Library.open(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    library = Library(CatalogDatabase(path, busy_timeout_ms=100))
    try:
        started = time.perf_counter()
        with pytest.raises(DatabaseLockedError, match="busy"):
            library.add_root(tmp_path / "models")
        assert time.perf_counter() - started < 5
        # Readers are not blocked by a writer (WAL).
        assert library.roots() == []
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        library.close()
    assert isinstance(DatabaseLockedError("x"), CatalogError)


def test_a_writer_thread_and_a_reading_thread_never_see_database_is_locked(
    lib: Library, tmp_path: Path
) -> None:
    library = lib  # SQLite (WAL, one writer) and the server (row locks) alike
    root = library.add_root(tmp_path / "models")
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for batch in range(20):
                files = [scanned(tmp_path / f"models/b{batch}_{i}.safetensors") for i in range(50)]
                ids = library.apply_scan_batch(root.id, files)
                library.update_user_data(ids[0], UserDataChanges(notes=f"batch {batch}", tags=("t",)))
        except BaseException as error:  # collected for the main thread to re-raise
            errors.append(error)
        finally:
            done.set()

    def second_writer() -> None:
        try:
            while not done.is_set():
                library.add_root(tmp_path / "models")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    reads = 0
    while not done.is_set() or reads < 5:
        library.search(AssetQuery(text="b1", limit=50))
        library.count(AssetQuery())
        library.facets()
        reads += 1
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert library.count(AssetQuery()) == 1000
    library.close()


def test_calls_after_close_raise_a_typed_error(lib: Library) -> None:
    library = lib
    library.close()
    library.close()  # closing twice is harmless
    with pytest.raises(LibraryClosedError):
        library.roots()


def test_a_file_that_is_not_a_database_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"this is a text file, not SQLite" * 100)
    with pytest.raises(NotACatalogError, match="not an Atelier catalog"):
        Library.open(path)


def test_a_database_from_a_newer_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    Library.open(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaTooNewError, match="newer version of Atelier"):
        Library.open(path)
    with pytest.raises(SchemaTooNewError):
        upgrade(f"sqlite:///{path}")


def test_integrity_errors_become_conflict_errors(lib: Library, root_id: int, models_dir: Path) -> None:
    first, second = lib.apply_scan_batch(
        root_id, [scanned(models_dir / "a.safetensors"), scanned(models_dir / "b.safetensors")]
    )
    with pytest.raises(ConflictError, match="conflicts"):
        lib.relocate(second, str(models_dir / "a.safetensors"), size=1, mtime_ns=1, inode=1)
    assert lib.get(first) is not None
    assert lib.get(second) is not None


def test_open_creates_the_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "catalog.sqlite3"
    with Library.open(path) as library:
        assert library.path == path
    assert path.exists()


# read-only catalogs and what lies at a catalog's path -------------------------------------------------


def test_a_read_only_database_reads_and_refuses_every_write(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Library.open(path) as writable:
        writable.add_root(tmp_path)
    database = CatalogDatabase(path, read_only=True)
    library = Library(database)
    try:
        assert [root.path for root in library.roots()] == [str(tmp_path.resolve())]
        with pytest.raises(ReadOnlyCatalogError) as refused:
            library.add_root(tmp_path / "other")
        assert str(refused.value) == (
            f"The data folder {tmp_path} is read-only: Atelier can search and show the library but not "
            "change it (make it writable or use --data-dir)."
        )
        with pytest.raises(ReadOnlyCatalogError), database.session_scope() as session:  # a write in a read
            session.execute(text("DELETE FROM roots"))
    finally:
        library.close()
    assert [root.path for root in Library.open(path).roots()] == [str(tmp_path.resolve())]


def test_a_read_only_uri_reads_the_wal_when_its_files_are_there(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    assert read_only_uri(path).endswith("?mode=ro&immutable=1")  # no WAL: the file alone, nothing created
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.commit()
    try:
        assert wal_files_present(path)
        assert read_only_uri(path).endswith("?mode=ro")
        reader = sqlite3.connect(read_only_uri(path), uri=True)
        assert reader.execute("SELECT x FROM t").fetchall() == [(1,)]  # the row is only in the WAL
        reader.close()
    finally:
        writer.close()


def test_what_lies_at_a_catalog_path_is_told_in_words(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    assert examine_catalog_file(path) == CatalogFileProblem(path, CatalogFileState.MISSING, "is missing")
    path.write_bytes(b"")
    assert examine_catalog_file(path).state is CatalogFileState.EMPTY  # type: ignore[union-attr]
    path.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    assert examine_catalog_file(path).state is CatalogFileState.NOT_SQLITE  # type: ignore[union-attr]
    path.unlink()
    with Library.open(path):
        pass
    assert examine_catalog_file(path) is None
    whole = path.read_bytes()
    path.write_bytes(whole[:4096])
    problem = examine_catalog_file(path)
    assert problem is not None
    assert (
        problem.sentence == f"The catalog {path} is truncated (4,096 of its {len(whole):,} bytes are there)"
    )
    path.unlink()
    path.mkdir()
    assert examine_catalog_file(path).detail == "is a folder, not a catalog file"  # type: ignore[union-attr]
    path.rmdir()
    path.symlink_to(tmp_path / "gone.sqlite3")
    assert examine_catalog_file(path).state is CatalogFileState.UNREADABLE  # type: ignore[union-attr]


def test_another_programs_database_is_never_migrated(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE moz_places (id INTEGER)")
    other.commit()
    other.close()
    with pytest.raises(NotACatalogError, match="SQLite database of another program"):
        Library.open(path)
    other = sqlite3.connect(path)
    assert [row[0] for row in other.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [
        "moz_places"
    ]
    other.close()


def test_a_read_only_catalog_due_for_a_migration_says_so(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    upgrade(f"sqlite:///{path}", "0007", backup=False)
    database = CatalogDatabase(path, read_only=True)
    try:
        with pytest.raises(MigrationDueError, match="needs an update to this version of Atelier"):
            require_head(database.engine, str(path))
    finally:
        database.close()
