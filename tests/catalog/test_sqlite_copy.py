"""``copy_database``: a consistent copy (what the write-ahead log holds included), or no file at all."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from catalog.sqlite_copy import copy_database


def test_the_copy_holds_what_an_open_writer_committed_to_its_log(tmp_path: Path) -> None:
    source = tmp_path / "source.sqlite3"
    with closing(sqlite3.connect(source)) as writer:
        writer.execute("PRAGMA journal_mode=WAL")
        with writer:
            writer.execute("CREATE TABLE notes (text TEXT)")
            writer.execute("INSERT INTO notes VALUES ('in the log')")
        copy = tmp_path / "copy.sqlite3"
        copy_database(source, copy)  # while the writer is open: its commit is still in the log
    with closing(sqlite3.connect(copy)) as reader:
        assert reader.execute("SELECT text FROM notes").fetchall() == [("in the log",)]


def test_a_source_that_is_no_database_leaves_no_copy(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"these bytes are not a database " * 200)
    copy = tmp_path / "copy.sqlite3"

    with pytest.raises(sqlite3.DatabaseError):
        copy_database(source, copy)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
