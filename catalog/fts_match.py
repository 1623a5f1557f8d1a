"""The SQLite-only part of a library search: what a user typed, as an FTS5 query over ``asset_fts``.

**Safe text.** User text never reaches FTS5's query language as-is: it is split into words the same way the
index's ``unicode61`` tokenizer splits text, and each word becomes a quoted prefix phrase. Operators typed
by the user (``OR``, ``-x``, ``*``, ``(``, a stray ``"``) are therefore plain words or nothing, and a query
can never raise an FTS5 syntax error. All words must match (AND), each as a prefix ("pix art" finds
"Pixel Art XL").

Everything else a search runs (:mod:`catalog.queries`) is standard SQL; another database would replace
this module (PostgreSQL: a ``tsvector`` match) and nothing else.

Measured and left out (100k assets): sizing a typed word from FTS5's vocabulary (an ``fts5vocab`` table)
instead of counting its matches up to the planner's limit. The vocabulary decodes every document list
of every term under the prefix, so "anime" (75% of the files) cost 6.5 ms there against 0.4 ms for a
count that stops at the limit; only rare words were cheaper, and those cost little either way.
"""

from __future__ import annotations

import re

# Letters and digits, as unicode61 sees them (underscore and punctuation separate words).
_TOKEN = re.compile(r"[^\W_]+")


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
