"""How the context knows a data folder had a catalog, so that losing it is reported, not papered over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.context import AppContext
from app.secrets import TokenStore
from catalog.errors import CatalogMissingError

CATALOG = "catalog.sqlite3"


def context_on(data: Path) -> AppContext:
    return AppContext(data, tokens=TokenStore(data.parent / "tokens", use_keyring=False))


def test_a_fresh_folder_gets_its_catalog_and_records_it(tmp_path: Path) -> None:
    context = context_on(tmp_path / "data")
    try:
        assert context.catalog_problem() is None
        assert context.library.roots() == []
    finally:
        context.close()
    recorded = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert recorded["catalog_created_at"]
    (tmp_path / "data" / CATALOG).unlink()
    again = context_on(tmp_path / "data")
    with pytest.raises(CatalogMissingError, match="is missing \\(it was there before\\)"):
        again.library  # noqa: B018


@pytest.mark.parametrize(
    "evidence",
    [
        "catalog.sqlite3.before-0008.bak",  # a migration's backup: a catalog was migrated here
        "catalog.sqlite3-wal",  # a WAL left by a catalog that was open
        "settings.json",  # the window's first start was done (written with first_start_done below)
    ],
)
def test_a_profile_older_than_the_record_is_known_by_what_its_catalog_left(
    tmp_path: Path, evidence: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / evidence).write_text(
        json.dumps({"first_start_done": True}) if evidence == "settings.json" else ""
    )
    context = context_on(data)
    problem = context.catalog_problem()
    assert isinstance(problem, CatalogMissingError)
    assert not (data / CATALOG).exists()
