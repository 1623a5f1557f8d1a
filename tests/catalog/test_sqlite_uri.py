"""The SQLite URI of a catalog path opens that very file: on Windows for drive, network (UNC) and verbatim
paths, everywhere for names with ``#``, ``%``, ``?``, spaces and letters outside ASCII; and every place
that opens a catalog with ``sqlite3`` (or SQLAlchemy) opens a real catalog kept under such a name."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from catalog.change_feed import FileChangeFeed
from catalog.db import CatalogDatabase
from catalog.db_file import read_only_uri, schema_written_by_newer
from catalog.download_store import FORMER_QUEUE_FILE, SqlDownloadStore
from catalog.errors import NotACatalogError
from catalog.library import Library
from catalog.migrate import refuse_foreign_file, require_head
from catalog.read_connection import open_reader
from catalog.records import AssetQuery, UserDataChanges
from catalog.sqlite_uri import sqlite_uri
from core.downloads import DownloadRequest, DownloadSource
from core.taxonomy import FileStatus
from tests.catalog.conftest import scanned

ODD = "a b #1 100% ?é"  # each character SQLite's URI parser gives a meaning, or that needs escaping


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        (r"C:\Users\Ann\catalog.sqlite3", "file:///C:/Users/Ann/catalog.sqlite3"),
        (
            r"C:\Users\Ann Lee\#1 100% ?é\catalog.sqlite3",
            "file:///C:/Users/Ann%20Lee/%231%20100%25%20%3F%C3%A9/catalog.sqlite3",
        ),
        # A share: the authority stays empty (SQLite refuses "nas"), the path keeps its two slashes.
        (r"\\nas\share\Atelier\catalog.sqlite3", "file:////nas/share/Atelier/catalog.sqlite3"),
        (r"\\nas\my share\#%\catalog.sqlite3", "file:////nas/my%20share/%23%25/catalog.sqlite3"),
        (r"\\?\C:\Atelier\catalog.sqlite3", "file:///C:/Atelier/catalog.sqlite3"),
        (r"\\?\UNC\nas\share\catalog.sqlite3", "file:////nas/share/catalog.sqlite3"),
        (r"z:/Atelier/catalog.sqlite3", "file:///z:/Atelier/catalog.sqlite3"),
    ],
)
def test_windows_paths_are_written_as_sqlite_reads_them(path: str, uri: str) -> None:
    assert sqlite_uri(PureWindowsPath(path)) == uri


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("/home/ann/catalog.sqlite3", "file:///home/ann/catalog.sqlite3"),
        (f"/home/ann/{ODD}/c.sqlite3", "file:///home/ann/a%20b%20%231%20100%25%20%3F%C3%A9/c.sqlite3"),
        ("/home/ann/\udcff.sqlite3", "file:///home/ann/%FF.sqlite3"),  # a name that is not UTF-8
        ("//host/c.sqlite3", "file:////host/c.sqlite3"),
    ],
)
def test_posix_paths_are_written_as_sqlite_reads_them(path: str, uri: str) -> None:
    assert sqlite_uri(PurePosixPath(path)) == uri


def test_the_query_says_mode_and_immutable_and_a_relative_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sqlite_uri(PureWindowsPath(r"\\nas\s\c.db"), mode="ro", immutable=True) == (
        "file:////nas/s/c.db?mode=ro&immutable=1"
    )
    assert sqlite_uri(PurePosixPath("/c.db"), mode="rw") == "file:///c.db?mode=rw"
    monkeypatch.chdir(tmp_path)
    assert sqlite_uri(Path("c.db")) == sqlite_uri(tmp_path / "c.db")
    with pytest.raises(ValueError, match="absolute"):
        sqlite_uri(PureWindowsPath("c.db"))


def _database(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE here (word TEXT)")
        connection.execute("INSERT INTO here VALUES ('found')")
    connection.close()
    return path


def test_sqlite_opens_the_file_each_uri_names(tmp_path: Path) -> None:
    """SQLite parses URIs alike everywhere: a share's URI, given the POSIX path as its host and share
    (``//tmp/...`` is ``/tmp/...`` here), opens the real file; the URI ``as_uri`` writes for it is refused."""
    path = _database(tmp_path / ODD / f"{ODD}.sqlite3")
    as_share = PureWindowsPath("/" + path.as_posix())
    assert as_share.drive  # \\tmp\pytest-of-...: a UNC path
    for uri in (sqlite_uri(path, mode="ro"), sqlite_uri(as_share, mode="ro")):
        with sqlite3.connect(uri, uri=True) as connection:
            assert connection.execute("SELECT word FROM here").fetchall() == [("found",)]
        connection.close()
    with pytest.raises(sqlite3.OperationalError, match="authority"):
        sqlite3.connect(f"{as_share.as_uri()}?mode=ro", uri=True)


@pytest.fixture
def odd_catalog(tmp_path: Path) -> Path:
    """A catalog at head, with one cataloged file, in a folder and under a name SQLite would misread."""
    path = tmp_path / ODD / f"{ODD}.sqlite3"
    with Library.open(path) as library:
        root = library.add_root(tmp_path / "models").id
        library.apply_scan_batch(root, [scanned(tmp_path / "models" / "a.safetensors")])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "no other file was made"
    return path


def test_the_writing_engine_opens_the_file_at_the_odd_path(odd_catalog: Path) -> None:
    with Library.open(odd_catalog) as library:
        assert len(library.search_ids(_all())) == 1
    assert sorted(p.name for p in odd_catalog.parent.iterdir()) == [odd_catalog.name]


def test_the_read_only_engine_and_both_light_readers_open_it(odd_catalog: Path) -> None:
    assert "immutable=1" in read_only_uri(odd_catalog)
    database = CatalogDatabase(odd_catalog, read_only=True)
    try:
        require_head(database.engine, str(odd_catalog))
        assert len(Library(database).search_ids(_all())) == 1
    finally:
        database.close()
    for read_only in (True, False):
        reader = open_reader(odd_catalog, read_only=read_only)
        assert reader is not None, f"read_only={read_only}"
        try:
            assert reader.count(_all()) == 1
        finally:
            reader.close()


def test_the_schema_and_foreign_table_checks_read_it(odd_catalog: Path, tmp_path: Path) -> None:
    with sqlite3.connect(odd_catalog) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    connection.close()
    assert schema_written_by_newer(odd_catalog) == "9999_from_the_future"
    foreign = _database(tmp_path / ODD / "other #2 50%?.sqlite3")
    with pytest.raises(NotACatalogError, match="here"):
        refuse_foreign_file(foreign)


def test_the_change_feed_reads_it_and_hears_a_commit(odd_catalog: Path) -> None:
    heard, problems = threading.Event(), list[str | None]()
    feed = FileChangeFeed(odd_catalog, lambda _changes: heard.set(), problems.append, interval_s=0.05)
    feed.start()
    try:
        with Library.open(odd_catalog) as library:
            (asset,) = library.search_ids(_all())
            library.update_user_data(asset, UserDataChanges(rating=3))
        assert heard.wait(5), "the commit was not heard"
        assert problems == [], "the feed could not read the catalog"
    finally:
        feed.stop()


def _all() -> AssetQuery:
    return AssetQuery(statuses=tuple(FileStatus))


def test_a_former_download_queue_in_an_odd_folder_is_carried_over_and_removed(tmp_path: Path) -> None:
    """The queue file's check that it holds every download of the former file (ATTACH by URI) reads both."""
    data = tmp_path / ODD
    data.mkdir()
    former = SqlDownloadStore.open(data / FORMER_QUEUE_FILE)
    try:
        former.add(DownloadRequest("https://civitai.com/api/download/models/1", data, DownloadSource.CIVITAI))
        before = former.list()
    finally:
        former.close()
    assert sorted(p.name for p in data.iterdir()) == [FORMER_QUEUE_FILE]
    store = SqlDownloadStore.open_queue_file(data)
    try:
        assert store.list() == before
    finally:
        store.close()
    assert not (data / FORMER_QUEUE_FILE).exists(), "the queue file was read as holding every download"
