"""``search``, ``show`` and ``roots`` read a catalog at this version's schema with ``sqlite3`` alone; any
other catalog goes through the Library as before: an older one is migrated first (with its backup), and
a newer one is refused with the same sentence. Through ``python main.py``, as a user runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from catalog.migrate import head_revision, upgrade
from tests.app.catalog_profiles import CATALOG, copy_profile, make_profile
from tests.app.main_process import run_main


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_profile(tmp_path_factory.mktemp("reading-profile"))


def test_an_older_catalog_is_migrated_before_a_search_reads_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    upgrade(f"sqlite:///{data / CATALOG}", "0003")

    result = run_main("search", "anything", data_dir=data)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "0 of 0 shown\n"
    connection = sqlite3.connect(data / CATALOG)
    assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (head_revision(),)
    connection.close()
    assert list(data.glob(f"{CATALOG}.before-*.bak")), "the migration kept its backup"


def test_a_newer_catalog_is_refused_by_show_in_the_librarys_words(
    profile: tuple[Path, Path], tmp_path: Path
) -> None:
    data = copy_profile(profile, tmp_path)
    connection = sqlite3.connect(data / CATALOG)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()

    result = run_main("show", "1", "--json", data_dir=data)

    assert result.returncode == 1
    message = (
        "This library was last opened by a newer version of Atelier (schema 9999). Update Atelier to open it."
    )
    assert result.stderr == f"atelier show: {message}\n"
    assert json.loads(result.stdout) == {"error": message, "exit_code": 1}


def test_a_bad_id_and_an_unknown_path_say_what_to_do(profile: tuple[Path, Path], tmp_path: Path) -> None:
    data = copy_profile(profile, tmp_path)
    assert run_main("show", "42", data_dir=data).stderr == (
        "atelier show: no asset with id 42 in the library (see `atelier search`)\n"
    )
    assert run_main("show", str(tmp_path / "nowhere.safetensors"), data_dir=data).stderr == (
        f"atelier show: no asset with id or path '{tmp_path / 'nowhere.safetensors'}' in the library\n"
    )
