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
