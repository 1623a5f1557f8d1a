"""A new catalog is built by all its migrations in ONE transaction, under the write lock.

Alembic commits after each migration on a connection it finds without a transaction when the database's
DDL is not transactional in its eyes (SQLite): a second process starting at once (two commands, or the
window and a command, on a new data folder) read a half-built catalog (revision 0006, 0011...) and ran
the rest again, ending in "duplicate column name" or "view ... already exists". Real processes, a real
catalog file: a reader polling the recorded revision while another process builds the catalog never sees
a revision between none and the newest; several ``main.py`` commands started at once on a new data
folder all succeed on one catalog."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from catalog.migrate import head_revision
from tests.app.main_process import MAIN, ROOT, main_env

BUILD = """
import sys
from pathlib import Path
from catalog.db import sqlite_url
from catalog.migrate import upgrade
upgrade(sqlite_url(Path(sys.argv[1])), backup=False)
"""


def _recorded(path: Path) -> str | None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no table yet, or the file is being made
        return None
    finally:
        connection.close()
    return None if row is None else str(row[0])


def test_no_other_process_ever_sees_a_half_built_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sqlite3"
    builder = subprocess.Popen([sys.executable, "-c", BUILD, str(catalog)], cwd=ROOT, stderr=subprocess.PIPE)
    seen: set[str | None] = set()
    while builder.poll() is None:
        seen.add(_recorded(catalog))
    assert builder.returncode == 0, builder.stderr.read().decode() if builder.stderr else ""
    seen.add(_recorded(catalog))
    assert seen <= {None, head_revision()}, f"revisions seen while it was built: {sorted(map(str, seen))}"
    assert _recorded(catalog) == head_revision()


def test_commands_started_at_once_on_a_new_data_folder_all_succeed(tmp_path: Path) -> None:
    for attempt in range(2):
        data = tmp_path / f"data{attempt}"
        running = [
            subprocess.Popen(
                [sys.executable, str(MAIN), "roots"],
                cwd=ROOT,
                env=main_env({"ATELIER_DATA_DIR": str(data)}),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        for process in running:
            _out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        assert _recorded(data / "catalog.sqlite3") == head_revision()
