"""The SQLite-only part of a library search: what a user typed, as an FTS5 query over ``asset_fts``.

**Safe text.** User text never reaches FTS5's query language as-is: it is split into words the same way the
index's ``unicode61`` tokenizer splits text, and each word becomes a quoted prefix phrase. Operators typed
by the user (``OR``, ``-x``, ``*``, ``(``, a stray ``"``) are therefore plain words or nothing, and a query
can never raise an FTS5 syntax error. All words must match (AND), each as a prefix ("pix art" finds
"Pixel Art XL").

Everything else a search runs (:mod:`catalog.queries`) is standard SQL; another database would replace
this module (PostgreSQL: a ``tsvector`` match) and nothing else.

**Kept merged.** Every write transaction that touches the text adds a segment to the FTS5 index; FTS5
merges them in the background only now and then (``automerge``), so a scan leaves several. A search that
checks one row at a time (``matches_row``) seeks every segment: on 100k assets "anime" pages in 2.4 ms
on a merged index against 6.5 ms after a dozen small writes. :func:`merge_step` merges the segments
into one, a bounded number of pages at a time; the after-scan chain runs it until it has nothing left to
do (:meth:`catalog.library.Library.merge_search_index`).

Measured and left out (100k assets): sizing a typed word from FTS5's vocabulary (an ``fts5vocab`` table)
instead of counting its matches up to the planner's limit. The vocabulary decodes every document list
of every term under the prefix, so "anime" (75% of the files) cost 6.5 ms there against 0.4 ms for a
count that stops at the limit; only rare words were cheaper, and those cost little either way.
"""

from __future__ import annotations

import re
import sqlite3

# Letters and digits, as unicode61 sees them (underscore and punctuation separate words).
_TOKEN = re.compile(r"[^\W_]+")
# Pages of index written by one merge step (one write transaction): 0.1 to 0.3 s on the dev machine, so a
# writer waiting behind a merge (a user's edit) waits no longer than that.
MERGE_PAGES_PER_STEP = 500


def match_expression(text_query: str) -> str | None:
    """The FTS5 MATCH expression for what a user typed, or None when it contains no searchable word.

    Each whitespace-separated word becomes one phrase of its tokens with a trailing ``*`` (so
    "add-detail" becomes ``"add detail"*``), and phrases are ANDed.
    """
    phrases = []
    for word in text_query.split():
        tokens = _TOKEN.findall(word)
        if tokens:
            phrases.append('"' + " ".join(tokens) + '"*')
    return " ".join(phrases) if phrases else None


def matching_ids(parameter: str) -> str:
    """A subquery of the asset ids whose text matches the expression bound as ``parameter``."""
    return f"SELECT rowid FROM asset_fts WHERE asset_fts MATCH {parameter}"


def matches_row(parameter: str, row_id: str) -> str:
    """A condition true when the asset ``row_id`` (SQL) matches the expression bound as ``parameter``:
    FTS5 seeks that one id in the document lists of the words, reading none of the other matches."""
    return f"EXISTS (SELECT 1 FROM asset_fts AS f WHERE f.asset_fts MATCH {parameter} AND f.rowid = {row_id})"


def merge_step(connection: sqlite3.Connection) -> bool:
    """Merge up to :data:`MERGE_PAGES_PER_STEP` pages of the search index's segments toward one segment,
    in the caller's write transaction; whether there was anything to merge.

    FTS5's ``merge`` with a negative page count merges segments of every level into one (what its
    ``optimize`` does in one go), continuing a merge a previous step began; an index already in one
    segment is left as it is at no cost. Its documented signal: the command changed fewer than two
    rows when it did no work.
    """
    before = connection.total_changes
    connection.execute(f"INSERT INTO asset_fts(asset_fts, rank) VALUES ('merge', {-MERGE_PAGES_PER_STEP})")
    return connection.total_changes - before >= 2
