"""The schema check on open: a catalog at this version's schema opens without loading Alembic; the
revision read from the migration files' names is Alembic's own head; an older catalog is still migrated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from catalog.db import CatalogDatabase, sqlite_url
from catalog.library import Library
from catalog.migrate import alembic_config, current_revision, head_revision, recorded_revision, upgrade

ROOT = Path(__file__).resolve().parents[2]

OPEN_WITHOUT_ALEMBIC = """
import sys
from pathlib import Path
from catalog.db import CatalogDatabase
from catalog.library import Library
from catalog.migrate import refuse_foreign, require_head
path = Path(sys.argv[1])
probe = CatalogDatabase(path, read_only=True)
refuse_foreign(probe.engine, str(path))
require_head(probe.engine, str(path))
probe.close()
library = Library.open(path)
print(len(library.roots()))
library.close()
print(sorted(name for name in sys.modules if name.split(".")[0] in {"alembic", "mako"}))
"""


def test_the_head_read_from_the_file_names_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_catalog_at_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Library.open(path).close()
    out = subprocess.run(
        [sys.executable, "-c", OPEN_WITHOUT_ALEMBIC, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[:2] == ["0", "[]"], out


def test_an_older_catalog_is_still_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    upgrade(sqlite_url(path), "0003")
    database = CatalogDatabase(path, read_only=True)
    try:
        assert recorded_revision(database.engine) == "0003"
    finally:
        database.close()
    Library.open(path).close()
    assert current_revision(sqlite_url(path)) == head_revision()
    assert (tmp_path / f"catalog.sqlite3.before-{head_revision()}.bak").exists()


def test_a_new_file_records_no_revision(tmp_path: Path) -> None:
    database = CatalogDatabase(tmp_path / "new.sqlite3")
    try:
        assert recorded_revision(database.engine) is None
    finally:
        database.close()
