"""A new catalog made from the process's blank copy is the catalog the migrations make, and works."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.errors import NotACatalogError
from catalog.library import Library
from catalog.migrate import head_revision
from catalog.records import AssetQuery
from tests.app.main_process import ROOT


def schema(path: Path) -> tuple[object, ...]:
    with sqlite3.connect(path) as connection:
        return (
            sorted(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()),
            connection.execute("SELECT version_num FROM alembic_version").fetchall(),
            connection.execute("PRAGMA journal_mode").fetchone(),
            connection.execute("PRAGMA integrity_check").fetchone(),
        )


def test_new_catalogs_after_the_first_equal_one_migrated_in_a_fresh_process(tmp_path: Path) -> None:
    migrated = tmp_path / "migrated.db"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from catalog.library import Library; Library.open({str(migrated)!r}).close()",
        ],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    Library.open(tmp_path / "first.db").close()  # this process's blank copy exists from here on
    Library.open(tmp_path / "second.db").close()
    expected = schema(migrated)
    assert expected[1] == [(head_revision(),)]
    assert schema(tmp_path / "first.db") == expected
    assert schema(tmp_path / "second.db") == expected


def test_a_copied_catalog_keeps_its_search_index_in_step(tmp_path: Path) -> None:
    Library.open(tmp_path / "first.db").close()
    with Library.open(tmp_path / "copied.db") as library:
        root = library.add_root(tmp_path / "models")
        assert root.path == str(tmp_path / "models")
        assert library.search(AssetQuery(text="anything")) == []
    with sqlite3.connect(tmp_path / "copied.db") as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(
            """INSERT INTO assets (root_id, path, file_name, size, mtime_ns, format, kind, architecture,
                                   status, added_at, updated_at)
               VALUES (1, '/m/pixel_art.safetensors', 'pixel_art.safetensors', 1, 1, 'safetensors', 'lora',
                       'sd1', 'ok', '2024-05-01 10:00:00', '2024-05-01 10:00:00')"""
        )
    with Library.open(tmp_path / "copied.db") as library:
        assert [record.file_name for record in library.search(AssetQuery(text="pixel"))] == [
            "pixel_art.safetensors"
        ]


def test_another_programs_database_is_still_refused_and_left_alone(tmp_path: Path) -> None:
    Library.open(tmp_path / "first.db").close()
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(NotACatalogError):
        Library.open(foreign)
    assert foreign.read_bytes() == before
