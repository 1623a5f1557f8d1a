"""The planner's choice for a dense text set: sought row by row or copied, by what each would cost for the
page asked and the size of the library (catalog.queries, "A dense text set")."""

from __future__ import annotations

import sqlite3

import pytest

from catalog import queries
from catalog.records import AssetQuery


def _library_of(highest_id: int) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE assets (id INTEGER PRIMARY KEY)")
    connection.execute("INSERT INTO assets (id) VALUES (?)", (highest_id,))
    return connection


@pytest.mark.parametrize(
    ("highest_id", "density", "limit", "offset", "sought"),
    [
        (100_000, 0.41, 200, 0, True),  # "pixel" on the bench's 100k: 7.9 ms sought, 10.6 ms copied
        (100_000, 0.11, 200, 0, False),  # "man": 30 ms sought, 3.5 ms copied
        (100_000, 0.41, 200, 4_000, False),  # a page far down needs twenty times the seeks
        (1_000_000, 0.15, 200, 0, True),  # a larger library: copying costs more, seeking the same
        (10_000, 0.8, 200, 0, False),  # a small one: the copy is cheap
        (10_000, 0.95, 200, 0, True),  # nearly every id matches: about one seek a row
        (100_000, 0.6, None, 0, False),  # every match asked for: a seek per row of the whole set
    ],
)
def test_a_dense_text_set_is_sought_where_that_costs_less(
    highest_id: int, density: float, limit: int | None, offset: int, sought: bool
) -> None:
    query = AssetQuery(text="word", limit=limit, offset=offset)
    with _library_of(highest_id) as connection:
        assert queries._seek_rows(connection, query, 5001, density) is sought


class _Server:
    """A connection that states a server's cost of a driven look-up, as catalog.pg_reads.PgReadConnection
    does (the rule reads nothing else of it)."""

    driven_id_cost = 12


def _text_set() -> queries._IdSet:
    return queries._id_sets(AssetQuery(text="word"), queries._Params())[0]


def _tag_set() -> queries._IdSet:
    return queries._id_sets(AssetQuery(tags=("style",)), queries._Params())[0]


@pytest.mark.parametrize(
    ("found", "others", "limit", "offset", "walked"),
    [
        (2_337, [], 200, 0, True),  # "mecha" on the bench's 100k: 6 ms walked, 18 ms looked up
        (9_021 // 9, [], 200, 0, False),  # a thousand files: their look-ups cost less than the walk
        (300, [], 200, 0, False),  # a rare word: the walk would read the whole library
        (2_337, [], 200, 4_000, False),  # a page far down needs twenty times the walk
        (2_300, [(2_400, 0.03)], 200, 0, False),  # "girl" with the tag "realistic": 167 files together
        (3_000, [(5_001, 0.75)], 200, 0, True),  # with "anime", on 75% of the files: still walked
        (3_000, [], None, 0, False),  # every match asked for: looked up
    ],
)
def test_a_server_walks_the_sort_order_for_a_word_on_many_files_and_looks_up_a_few(
    found: int, others: list[tuple[int, float]], limit: int | None, offset: int, walked: bool
) -> None:
    query = AssetQuery(text="word", limit=limit, offset=offset)
    size = queries._SetSize(found, 0.5, 100_000)
    other_sizes = [queries._SetSize(count, density, 100_000) for count, density in others]
    assert queries._walk_cheaper(_Server(), query, _text_set(), size, other_sizes) is walked


def test_only_a_server_walks_and_only_for_a_set_read_once() -> None:
    query = AssetQuery(text="word", limit=200)
    size = queries._SetSize(2_337, 0.5, 100_000)
    with _library_of(100_000) as sqlite:  # SQLite: the capped count alone decides
        assert queries._walk_cheaper(sqlite, query, _text_set(), size, []) is False
    # A tag is probed by a look-up per row walked: never cheaper than looking its files up.
    assert queries._walk_cheaper(_Server(), query, _tag_set(), size, []) is False
