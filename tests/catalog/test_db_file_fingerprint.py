"""``catalog_fingerprint``: the catalog file as it stands, changed by every commit of any process, and the
record a closing window keeps of it with its schema revision (``checked_catalog``): the window skips reading
the revision before its first frame only while the file is unchanged at a revision this Atelier knows
(``unchanged_since_checked``)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from catalog.db_file import (
    catalog_fingerprint,
    checked_catalog,
    examine_catalog_file,
    known_revisions,
    schema_written_by_newer,
    unchanged_since_checked,
)
from catalog.library import Library


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.sqlite3"
    Library.open(path).close()
    return path


def test_reading_leaves_the_fingerprint_as_it_was(tmp_path: Path) -> None:
    """What a start does before its first frame (the header's check) and what other processes' reads do
    keep it; a read-write open and close (the last connection removes the log) changes it, which only
    makes the next start read the revision again."""
    path = _catalog(tmp_path)
    record = checked_catalog(path)  # reading the revision may make the log's empty file: then taken
    before = catalog_fingerprint(path)
    assert record == f"{known_revisions()[-1]}|{before}"
    assert examine_catalog_file(path) is None
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as reader:
        assert reader.execute("SELECT count(*) FROM assets").fetchone() == (0,)
    assert unchanged_since_checked(record, path)
    assert catalog_fingerprint(path) == before
    Library.open(path).close()
    assert catalog_fingerprint(path) != before
    assert not unchanged_since_checked(record, path)


def test_every_commit_changes_the_fingerprint_even_one_that_changes_no_size(tmp_path: Path) -> None:
    """A newer Atelier's data-only migration rewrites a row in place: the log's size or time, then the
    file's time after the checkpoint, tell it."""
    path = _catalog(tmp_path)
    record = checked_catalog(path)
    before = catalog_fingerprint(path)
    size = path.stat().st_size
    with closing(sqlite3.connect(path)) as writer:
        with writer:
            writer.execute("UPDATE alembic_version SET version_num = '0099'")
        in_the_log = catalog_fingerprint(path)  # committed, the log not yet copied into the file
    assert in_the_log != before
    after = catalog_fingerprint(path)  # the last connection closed: the log copied into the file
    assert after != before
    assert path.stat().st_size == size, "the same size: the time and the log tell the change"
    assert not unchanged_since_checked(record, path)
    assert schema_written_by_newer(path) == "0099"
    assert checked_catalog(path) == "", "a revision this Atelier does not know is never recorded"


def test_a_record_a_newer_atelier_kept_of_the_file_as_it_stands_is_not_trusted(tmp_path: Path) -> None:
    """A newer Atelier migrates the catalog and records it as it closes, in the same key: the fingerprint
    matches the file, the revision is one this Atelier does not know, so the revision is read again."""
    path = _catalog(tmp_path)
    with closing(sqlite3.connect(path)) as newer, newer:
        newer.execute("UPDATE alembic_version SET version_num = '0099'")
    newer_record = f"0099|{catalog_fingerprint(path)}"
    assert not unchanged_since_checked(newer_record, path)
    assert not unchanged_since_checked(catalog_fingerprint(path), path), "a record without its revision"
    assert not unchanged_since_checked("", path)


def test_a_file_put_in_its_place_has_another_fingerprint(tmp_path: Path) -> None:
    path = _catalog(tmp_path)
    before = catalog_fingerprint(path)
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(path.read_bytes())
    copy.replace(path)  # the same bytes, even the same time to the second: another inode
    assert catalog_fingerprint(path) != before


def test_no_file_no_fingerprint_and_no_known_revision(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    assert catalog_fingerprint(missing) == ""
    assert checked_catalog(missing) == ""
    assert not unchanged_since_checked(f"{known_revisions()[-1]}|", missing)
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    assert checked_catalog(other) == "", "another program's database has no revision of ours"
