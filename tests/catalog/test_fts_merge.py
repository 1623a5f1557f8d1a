"""Merging the search index: every write leaves FTS5 a segment more; ``merge_step`` merges them back into
one in bounded steps, ``Library.merge_search_index`` runs the steps, and searches find the same files.
PostgreSQL's GIN index has no segments: on a server the merge has nothing to do and changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from catalog import fts_match
from catalog.library import Library
from catalog.records import AssetQuery, SortKey, UserDataChanges
from core.formats.sidecar_info import SidecarInfo
from core.jobs import CancelToken
from tests.catalog.conftest import on_server, scanned

FTS5_ONLY = pytest.mark.sqlite_only("FTS5 segments; PostgreSQL's GIN index has none")

QUERIES = [
    AssetQuery(text="pixel"),
    AssetQuery(text="sty", limit=7),
    AssetQuery(text="ink retro"),
    AssetQuery(tags=("retro",), text="pix", sort=SortKey.SIZE),
    AssetQuery(text="edited"),
]


@pytest.fixture
def written(lib: Library, root_id: int, models_dir: Path) -> list[int]:
    """Assets written in several transactions (several segments), some edited afterwards (more)."""
    ids: list[int] = []
    for batch in range(4):
        files = [
            scanned(
                models_dir / f"{('pixel', 'ink', 'noir', 'style')[i % 4]}_{batch}_{i}.safetensors",
                size=100 + i,
                inode=batch * 100 + i + 1,
                sidecars=SidecarInfo(tags=("retro",) if i % 3 == 0 else ("modern",)),
            )
            for i in range(25)
        ]
        ids += lib.apply_scan_batch(root_id, files)
    for asset_id in ids[::10]:
        lib.update_user_data(asset_id, UserDataChanges(notes="edited by hand"))
    return ids


def _merge_all(path: Path) -> int:
    """Merge steps on a plain connection until there is nothing left to merge; the steps that worked."""
    worked = 0
    with sqlite3.connect(path, isolation_level=None) as connection:
        while True:
            connection.execute("BEGIN IMMEDIATE")
            merged = fts_match.merge_step(connection)
            connection.execute("COMMIT")
            if not merged:
                return worked
            worked += 1


def _integrity_check(path: Path) -> None:
    with sqlite3.connect(path) as connection:  # raises sqlite3.DatabaseError on a damaged index
        connection.execute("INSERT INTO asset_fts(asset_fts, rank) VALUES ('integrity-check', 1)")


@FTS5_ONLY
def test_merging_changes_no_result_and_a_second_merge_has_nothing_to_do(
    lib: Library, written: list[int]
) -> None:
    before = [(lib.search_ids(query), lib.count(query)) for query in QUERIES]
    assert [count for _, count in before] == [28, 24, 8, 12, 10]
    assert lib.merge_search_index() is True
    assert lib.merge_search_index() is False  # one segment: the command does nothing
    assert [(lib.search_ids(query), lib.count(query)) for query in QUERIES] == before
    _integrity_check(lib.path)


@FTS5_ONLY
def test_a_merge_runs_in_bounded_steps(
    lib: Library, written: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one page a step, the merge takes many steps (each its own short transaction) and still ends."""
    before = [lib.search_ids(query) for query in QUERIES]
    monkeypatch.setattr(fts_match, "MERGE_PAGES_PER_STEP", 1)
    assert _merge_all(lib.path) > 1
    assert _merge_all(lib.path) == 0
    assert [lib.search_ids(query) for query in QUERIES] == before
    _integrity_check(lib.path)


@FTS5_ONLY
def test_a_write_after_a_merge_makes_work_again(lib: Library, written: list[int]) -> None:
    lib.merge_search_index()
    lib.update_user_data(written[3], UserDataChanges(tags=("freshly tagged",)))
    assert lib.merge_search_index() is True
    assert lib.search_ids(AssetQuery(text="freshly")) == [written[3]]


@FTS5_ONLY
def test_a_cancelled_merge_stops_before_its_first_step(lib: Library, written: list[int]) -> None:
    cancel = CancelToken()
    cancel.cancel()
    assert lib.merge_search_index(cancel) is False
    assert _merge_all(lib.path) >= 1  # the work was left for the next merge


def test_a_merge_changes_no_result_on_either_catalog(lib: Library, written: list[int]) -> None:
    before = [(lib.search_ids(query), lib.count(query)) for query in QUERIES]
    assert [count for _, count in before] == [28, 24, 8, 12, 10]
    assert lib.merge_search_index() is not on_server(lib)  # SQLite merges its segments; a server has none
    assert lib.merge_search_index() is False
    assert [(lib.search_ids(query), lib.count(query)) for query in QUERIES] == before
    lib.update_user_data(written[3], UserDataChanges(tags=("freshly tagged",)))
    lib.merge_search_index()
    assert lib.search_ids(AssetQuery(text="freshly")) == [written[3]]
