"""The catalog's reads on PostgreSQL (:mod:`catalog.pg_reads`) run the plan :mod:`catalog.queries` chose: a
broad tag stays a probe per row of the walk in sort order, and the typed word becomes one query computed
once per statement. The answers themselves are the SQLite ones (tests/catalog/test_search*.py run on both
backends); these tests hold the two choices that make a page fast on a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import queries
from catalog.catalog_url import create_server_engine, parse
from catalog.db import driver_connection
from catalog.library import Library
from catalog.pg_reads import PgReadConnection, probes_kept
from catalog.records import AssetQuery, BulkEdit, SortKey, UserDataChanges
from core.taxonomy import Architecture, AssetKind, FileStatus
from tests.catalog.conftest import scanned


def test_probes_stay_probes_and_answer_the_same() -> None:
    tag = (
        "EXISTS (SELECT 1 FROM asset_tags AS t"
        " WHERE t.asset_id = a.id AND t.tag_id = (SELECT id FROM tags WHERE key = :p0))"
    )
    word = "a.id + 0 IN (SELECT rowid FROM asset_fts WHERE asset_fts MATCH :p2)"
    negated = "NOT EXISTS (SELECT 1 FROM remote_links AS l WHERE (l.asset_id = a.id))"
    sql = f"SELECT a.id FROM assets AS a WHERE a.status != :p1 AND {tag} AND {word} AND {negated} ORDER BY 1"
    assert probes_kept(sql) == (
        f"SELECT a.id FROM assets AS a WHERE a.status != :p1 AND {tag[:-1]} OFFSET 0) AND (({word}) IS TRUE)"
        f" AND {negated} ORDER BY 1"
    )


@pytest.fixture
def library(pg_catalog_url: str, tmp_path: Path) -> Iterator[Library]:
    location = parse(pg_catalog_url)
    assert location.url is not None
    opened = Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location))
    yield opened
    opened.close()


def _plan(library: Library, query: AssetQuery) -> str:
    """PostgreSQL's plan of the page statement of ``query``, planned and run as the Library runs it."""
    with library._db.session_scope() as session:
        reads = driver_connection(session)
        params = queries._Params()
        page = queries._plan(reads, query, params, for_count=False)
        sql = "EXPLAIN " + page.select("a.id") + queries._order_by(query) + queries._page(query, params)
        return "\n".join(row[0] for row in reads.execute(sql, params.values).fetchall())


def test_a_broad_tag_or_word_is_probed_row_by_row_and_a_word_is_computed_once(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "DRIVING_SET_LIMIT", 10)  # 40 tagged files count as a broad set
    root = library.add_root(tmp_path / "models").id
    names = [f"{'pixel' if n % 2 else 'anime'}-{n}" for n in range(40)]
    models = tmp_path / "models"
    files = [scanned(models / f"{name}.safetensors", inode=n + 1) for n, name in enumerate(names)]
    assets = library.apply_scan_batch(root, files)
    library.bulk_edit(assets, BulkEdit(add_tags=("anime",)))
    tag_plan = _plan(library, AssetQuery(tags=("anime",), limit=10))
    assert "SubPlan" in tag_plan  # the EXISTS probe, not a join reading every tagged asset
    word_plan = _plan(library, AssetQuery(text="pix", limit=10))  # every other file: hashed, then probed
    assert "hashed SubPlan" in word_plan
    assert "asset_fts_words" in word_plan  # the typed word: a range of the word index (migration 0015)
    assert "unaccent" not in word_plan  # its lexeme computed once, before the statement, not per row


def test_a_typed_word_is_matched_in_the_narrow_table_kept_in_step_with_every_edit(
    library: Library, tmp_path: Path
) -> None:
    """The statement reads the word index ``asset_fts_words`` (migration 0015), kept beside the narrow
    ``asset_fts_documents`` (ids and documents only, migration 0013): every write that rebuilds a search
    document (a new file, a tag, a note, a removed file) rebuilds it in both."""
    root = library.add_root(tmp_path / "models").id
    models = tmp_path / "models"
    first, second = library.apply_scan_batch(
        root,
        [scanned(models / "pixel-art.safetensors", inode=1), scanned(models / "ink.safetensors", inode=2)],
    )
    assert "asset_fts_words" in _plan(library, AssetQuery(text="pix", limit=10))
    assert [row.id for row in library.search_rows(AssetQuery(text="pix"))] == [first]
    library.bulk_edit([second], BulkEdit(add_tags=("pixelated",)))
    library.update_user_data(first, UserDataChanges(notes="watercolor wash"))
    assert [row.id for row in library.search_rows(AssetQuery(text="pix"))] == [second, first]  # by name
    assert [row.id for row in library.search_rows(AssetQuery(text="watercol"))] == [first]
    library.bulk_edit([second], BulkEdit(remove_tags=("pixelated",)))
    assert [row.id for row in library.search_rows(AssetQuery(text="pixelated"))] == []
    with library._db.session_scope() as session:
        documents = driver_connection(session).execute(
            "SELECT d.rowid FROM asset_fts_documents AS d JOIN asset_fts AS f ON f.rowid = d.rowid"
            " AND f.document = d.document ORDER BY 1"
        )
        assert [row[0] for row in documents.fetchall()] == [first, second]  # one each, the same as asset_fts


def test_a_word_on_many_files_is_walked_in_the_covering_sort_index_with_the_answers_of_look_ups(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typed word on a third of the files is found by walking each sort order's index alone (migration
    0016 carries the filters' columns in it) and testing each row against the word's set, not by looking
    each of its files up; every page, in every order and with a tag beside it, is the one the look-ups
    give."""
    models = tmp_path / "models"
    root = library.add_root(models).id
    files = [
        scanned(
            models / f"{('pixel', 'ink', 'noir')[n % 3]}-{n:03d}.safetensors",
            size=1000 + n % 7,
            inode=n + 1,
            kind=(AssetKind.LORA, AssetKind.CHECKPOINT)[n % 2],
            architecture=(Architecture.SDXL, Architecture.SD1, Architecture.FLUX1)[n % 5 % 3],
            status=FileStatus.MISSING if n % 13 == 0 else FileStatus.OK,
        )
        for n in range(600)
    ]
    assets = library.apply_scan_batch(root, files)
    library.bulk_edit(assets[::4], BulkEdit(add_tags=("style",)))
    library.update_user_data(assets[3], UserDataChanges(rating=5))
    with library._db.engine.connect() as connection:  # what a server's autovacuum does after a scan
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE assets")
    word = AssetQuery(text="pix", limit=20)
    plan = _plan(library, word)
    assert "Index Only Scan using ix_assets_sort_name" in plan
    assert "hashed SubPlan" in plan
    assert "CTE d" not in plan  # not driven: no look-up of each file
    pages: dict[str, list[list[int]]] = {}
    for cost in (PgReadConnection.driven_id_cost, None):  # walked where it pays, then always looked up
        monkeypatch.setattr(PgReadConnection, "driven_id_cost", cost)
        pages[str(cost)] = [
            [row.id for row in library.search_rows(word._replace(sort=sort, descending=descending, **extra))]
            for sort in SortKey
            for descending in (False, True)
            for extra in ({}, {"tags": ("style",)}, {"offset": 40}, {"kinds": (AssetKind.LORA,)})
        ]
    walked, looked_up = pages.values()
    assert walked == looked_up
    assert len(walked[0]) == 20
    assert len({tuple(page) for page in walked}) > 10  # the orders, tags and offsets gave other pages
