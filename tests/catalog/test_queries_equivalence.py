"""Every plan of a search gives the pages, counts and rows of a plain reading of the catalog.

A generated catalog (two library folders, every kind of filter value, ties in every sort key, hidden,
missing and damaged files, overrides, display names, tags, collections) is searched with every sort key
both ways, every filter, every form of typed text and several pages, under each plan the planner can
choose (driven by the smallest set through the covering page index, walking the sort order with the text
copied or sought row by row). The expected answer is computed here, in Python, from the rows themselves:
the assets' columns, their tag and collection keys, and the ids the FTS index matches for the text.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog import queries
from catalog.fts_match import match_expression
from catalog.library import Library
from catalog.normalize import label_key
from catalog.path_text import to_stored
from catalog.read_connection import open_reader
from catalog.records import AssetQuery, HiddenFilter, Overrides, SortKey, UserDataChanges
from core.formats.sidecar_info import SidecarInfo
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from tests.catalog.conftest import scanned

WORDS = ("pixel", "anime", "ink", "noir", "café", "add-detail", "Sketch")
KINDS = (AssetKind.LORA, AssetKind.CHECKPOINT, AssetKind.EMBEDDING, AssetKind.VAE)
ARCHS = (Architecture.SDXL, Architecture.SD1, Architecture.FLUX1)
TAGS = ("Style", "Retro", "character", "Pixel art")
# The plans, forced: (DRIVING_SET_LIMIT, DENSE_TEXT_FRACTION).
PLANS = {
    "default": (queries.DRIVING_SET_LIMIT, queries.DENSE_TEXT_FRACTION),
    "always driven": (10**9, queries.DENSE_TEXT_FRACTION),
    "walk, text copied": (0, 2.0),
    "walk, text sought per row": (0, 0.0),
}


@dataclass
class Generated:
    library: Library
    path: Path
    roots: tuple[int, int]
    styles: Path  # a sub-folder of the first root ("Styles"; "styles" beside it differs by case)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    where = tmp_path_factory.mktemp("equivalence")
    library = Library.open(where / "data" / "catalog.sqlite3")
    folders = [where / "one", where / "two"]
    for folder in folders:
        folder.mkdir()
    roots = tuple(library.add_root(folder, LibraryLayout.A1111).id for folder in folders)
    ids: list[int] = []
    for batch in range(4):  # four batches: four values of added_at, ties inside each
        files = []
        for n in range(batch * 60, batch * 60 + 60):
            folder = folders[n % 2] / ("Styles", "styles", "chars")[n % 3]
            word, other = WORDS[n % len(WORDS)], WORDS[(n // 3) % len(WORDS)]
            files.append(
                scanned(
                    folder / f"{word}_{other}_{n:03d}.safetensors",
                    size=1000 + (n % 17) * 10,  # ties
                    inode=n + 1,
                    kind=KINDS[n % len(KINDS)],
                    architecture=ARCHS[n % len(ARCHS)],
                    status={0: FileStatus.CORRUPT, 5: FileStatus.UNSAFE}.get(n % 11, FileStatus.OK),
                    trigger_words=(f"{word[:3]}trig",) if n % 5 == 0 else (),
                    sidecars=SidecarInfo(tags=tuple(TAGS[(n + k) % len(TAGS)] for k in range(n % 3))),
                )
            )
        for root_index in (0, 1):  # one batch per library folder
            chosen = [f for k, f in enumerate(files) if (batch * 60 + k) % 2 == root_index]
            ids += library.apply_scan_batch(roots[root_index], chosen)
    for position, asset_id in enumerate(ids):
        changes: dict[str, Any] = {}
        if position % 4 == 0:
            changes["rating"] = (position // 4) % 6
        if position % 7 == 0:
            changes["favorite"] = True
        if position % 9 == 0:
            changes["display_name"] = ("Zeta pixel", "alpha Ink", "Éclair", "")[position % 4]
        if position % 13 == 0:
            changes["hidden"] = True
        if position % 6 == 1:
            changes["collections"] = ("Best",) if position % 12 == 1 else ("best ", "Later")
        if changes:
            library.update_user_data(asset_id, UserDataChanges(**changes))
        if position % 10 == 3:
            library.set_overrides(asset_id, Overrides(kind=AssetKind.HYPERNETWORK))
    library.mark_missing(ids[5::23])
    try:
        yield Generated(library, library.path, (roots[0], roots[1]), folders[0] / "Styles")
    finally:
        library.close()


@dataclass(frozen=True)
class _Row:
    id: int
    status: str
    hidden: bool
    kind: str
    architecture: str
    rating: int
    favorite: bool
    root_id: int
    path: str
    size: int
    added_at: str
    sort_name: str
    tags: frozenset[str]
    collections: frozenset[str]


@functools.cache  # the catalog is written once, by the fixture
def _rows(path: Path) -> list[_Row]:
    with sqlite3.connect(path) as connection:
        tags: dict[int, set[str]] = {}
        for asset_id, key in connection.execute(
            "SELECT l.asset_id, t.key FROM asset_tags AS l JOIN tags AS t ON t.id = l.tag_id"
        ):
            tags.setdefault(asset_id, set()).add(key)
        collections: dict[int, set[str]] = {}
        for asset_id, key in connection.execute(
            "SELECT l.asset_id, c.key FROM asset_collections AS l"
            " JOIN collections AS c ON c.id = l.collection_id"
        ):
            collections.setdefault(asset_id, set()).add(key)
        return [
            _Row(
                row[0],
                row[1],
                bool(row[2]),
                row[3],
                row[4],
                row[5],
                bool(row[6]),
                row[7],
                row[8],
                row[9],
                row[10],
                row[11],
                frozenset(tags.get(row[0], ())),
                frozenset(collections.get(row[0], ())),
            )
            for row in connection.execute(
                "SELECT id, status, hidden, kind, architecture, rating, favorite, root_id, path, size,"
                " added_at, sort_name FROM assets"
            )
        ]


def _text_ids(path: Path, text: str) -> set[int] | None:
    expression = match_expression(text)
    if expression is None:
        return None
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT rowid FROM asset_fts WHERE asset_fts MATCH ?", (expression,))
        return {row[0] for row in found}


def _sort_key(query: AssetQuery, row: _Row) -> tuple[Any, ...]:
    by = {
        SortKey.NAME: (row.sort_name,),
        SortKey.ADDED: (row.added_at,),
        SortKey.SIZE: (row.size,),
        SortKey.RATING: (row.rating, row.sort_name),
        SortKey.KIND: (row.kind, row.sort_name),
        SortKey.ARCHITECTURE: (row.architecture, row.sort_name),
    }[query.sort]
    return (*by, row.id)


def expected(generated: Generated, query: AssetQuery) -> tuple[list[int], int]:
    """The page and the count of ``query``, read from the rows in Python."""
    text = _text_ids(generated.path, query.text)
    folder = to_stored(query.folder.rstrip(os.sep) + os.sep) if query.folder else None
    wanted_tags = {label_key(tag) for tag in query.tags}
    matching = [
        row
        for row in _rows(generated.path)
        if (row.status in {s.value for s in query.statuses} if query.statuses else row.status != "missing")
        and (not query.kinds or row.kind in {k.value for k in query.kinds})
        and (not query.architectures or row.architecture in {a.value for a in query.architectures})
        and {HiddenFilter.VISIBLE: not row.hidden, HiddenFilter.ONLY: row.hidden}.get(query.hidden, True)
        and row.rating >= query.min_rating
        and (row.favorite or not query.favorites_only)
        and (query.root_id is None or row.root_id == query.root_id)
        and (folder is None or row.path.startswith(folder))
        and wanted_tags <= row.tags
        and (query.collection is None or label_key(query.collection) in row.collections)
        and (text is None or row.id in text)
    ]
    ordered = sorted(matching, key=lambda row: _sort_key(query, row), reverse=query.descending)
    ids = [row.id for row in ordered]
    start = query.offset or 0
    page = ids[start:] if query.limit is None else ids[start : start + query.limit]
    return page, len(ids)


def _queries(generated: Generated) -> list[AssetQuery]:
    one, two = generated.roots
    found: list[AssetQuery] = []
    for sort in SortKey:
        for descending in (False, True):
            found += [
                AssetQuery(sort=sort, descending=descending, limit=25, offset=10),
                AssetQuery(text="pix", sort=sort, descending=descending, limit=15),
                AssetQuery(tags=("retro",), sort=sort, descending=descending, limit=20, offset=5),
            ]
    found += [
        AssetQuery(text=text, limit=30)
        for text in ("pixel", "pix", "pixel ink", "add-detail", "CAFE", "Éclair", "zeta", "trig", "zzz", "*")
    ]
    found += [
        AssetQuery(kinds=(AssetKind.LORA,), limit=40),
        AssetQuery(kinds=(AssetKind.HYPERNETWORK, AssetKind.VAE), architectures=(Architecture.SD1,)),
        AssetQuery(text="ink", kinds=(AssetKind.CHECKPOINT,), architectures=(Architecture.SDXL,)),
        AssetQuery(min_rating=3, limit=50),
        AssetQuery(text="noir", min_rating=1),
        AssetQuery(favorites_only=True, sort=SortKey.SIZE, descending=True),
        AssetQuery(text="sketch", favorites_only=True),
        AssetQuery(statuses=(FileStatus.CORRUPT, FileStatus.UNSAFE)),
        AssetQuery(statuses=(FileStatus.MISSING,), text="pix"),
        AssetQuery(statuses=tuple(FileStatus), limit=1000),
        AssetQuery(root_id=one, limit=40, offset=40),
        AssetQuery(root_id=two, text="anime"),
        AssetQuery(folder=str(generated.styles), limit=30),
        AssetQuery(folder=str(generated.styles), text="ink", tags=("style",)),
        AssetQuery(hidden=HiddenFilter.ALL, limit=60),
        AssetQuery(hidden=HiddenFilter.ONLY),
        AssetQuery(hidden=HiddenFilter.ONLY, text="pix"),
        AssetQuery(tags=("Style", "retro")),
        AssetQuery(tags=("no such tag",)),
        AssetQuery(tags=("pixel art",), text="anime", sort=SortKey.RATING, descending=True),
        AssetQuery(collection="BEST"),
        AssetQuery(collection="later", text="ink", tags=("character",)),
        AssetQuery(text="pix", offset=1000, limit=10),
        AssetQuery(text="anime", limit=None, offset=3),
        AssetQuery(limit=None),
    ]
    return found


@pytest.mark.parametrize("plan", PLANS)
def test_every_plan_gives_the_pages_and_counts_read_from_the_rows(
    generated: Generated, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    limit, dense = PLANS[plan]
    monkeypatch.setattr(queries, "DRIVING_SET_LIMIT", limit)
    monkeypatch.setattr(queries, "DENSE_TEXT_FRACTION", dense)
    library = generated.library
    for query in _queries(generated):
        page, total = expected(generated, query)
        assert library.search_ids(query) == page, query
        assert library.count(query) == total, query
        assert [row.id for row in library.search_rows(query)] == page, query
        assert [record.id for record in library.search(query)] == page, query


def test_the_catalog_has_every_case(generated: Generated) -> None:
    """The generated catalog is as varied as the module docstring says (else the test above proves less)."""
    rows = _rows(generated.path)
    assert {row.status for row in rows} == {"ok", "corrupt", "unsafe", "missing"}
    assert any(row.hidden for row in rows)
    assert any(row.favorite for row in rows)
    assert {row.rating for row in rows} == set(range(6))
    assert "hypernetwork" in {row.kind for row in rows}
    assert len({row.added_at for row in rows}) >= 4
    assert len({row.size for row in rows}) < len(rows) / 5  # ties in size
    assert any(row.collections for row in rows)


def test_the_reader_and_the_library_give_the_same_rows(generated: Generated) -> None:
    reader = open_reader(generated.path, read_only=False)
    assert reader is not None
    try:
        for query in _queries(generated)[:40]:
            assert reader.search_rows(query) == generated.library.search_rows(query), query
            assert reader.count(query) == generated.library.count(query), query
    finally:
        reader.close()


def test_a_driven_page_reads_the_covering_index(generated: Generated) -> None:
    """The plan that was asked for is the one that ran: a small set drives through the page index."""
    statements: list[str] = []
    with sqlite3.connect(generated.path) as connection:
        connection.set_trace_callback(statements.append)
        queries.search_ids(connection, AssetQuery(tags=("retro",), limit=5))
    (page,) = [sql for sql in statements if "ORDER BY" in sql]
    assert f"INDEXED BY {queries.PAGE_INDEX}" in page
