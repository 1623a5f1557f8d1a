"""Checking the catalog file while this process has it open must not drop SQLite's locks on it.

POSIX drops every advisory lock a process holds on a file when it closes any descriptor of that file.
The window checks its catalog again (``app.catalog_access.catalog_problem``) on the thread that opens the
library, while its first view's connection is open; a command run meanwhile then took itself for the
last connection when it closed, and deleted the write-ahead log the window was still writing to: the
window's later writes never reached the file other processes read, and its indexes were damaged.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from catalog.db_file import examine_catalog_file
from catalog.library import Library
from tests.app.main_process import run_main


@pytest.mark.skipif(os.name != "posix", reason="POSIX advisory locks")
def test_a_command_run_while_this_process_checks_its_open_catalog_leaves_its_log_alone(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "profile"
    catalog = data_dir / "catalog.sqlite3"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    library = Library.open(catalog)
    try:
        library.add_root(first)
        assert examine_catalog_file(catalog) is None  # the window's second check, its connections open
        assert examine_catalog_file(catalog) is None

        listed = run_main("roots", "--json", data_dir=data_dir, check=True)  # a command, closing
        assert [Path(root["path"]) for root in json.loads(listed.stdout)] == [first.resolve()]
        assert catalog.with_name("catalog.sqlite3-wal").exists(), "the log this process writes to"

        library.add_root(second)  # written after the command closed its connection
        listed = run_main("roots", "--json", data_dir=data_dir, check=True)
        assert sorted(Path(root["path"]) for root in json.loads(listed.stdout)) == sorted(
            [first.resolve(), second.resolve()]
        ), "this process's writes reach the file other processes read"
    finally:
        library.close()
    with closing(sqlite3.connect(catalog)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
