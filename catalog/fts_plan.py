"""The SQLite-only part of a library search: FTS5's query text, and how many files a typed word matches.

**Safe text.** User text never reaches FTS5's query language as-is: it is split into words the same way the
index's ``unicode61`` tokenizer splits text, and each word becomes a quoted prefix phrase. Operators typed
by the user (``OR``, ``-x``, ``*``, ``(``, a stray ``"``) are therefore plain words or nothing, and a query
can never raise an FTS5 syntax error. All words must match (AND), each as a prefix ("pix art" finds
"Pixel Art XL").

**How broad a word is, without counting its matches.** The planner (:mod:`catalog.queries`) reads a
set of at most :data:`DRIVING_SET_LIMIT` ids and sorts it, and only probes a larger one. Counting an FTS
match up to the limit costs a few milliseconds for a broad word, the largest part of a page of "anime"
over 100,000 files. FTS5's own vocabulary (an ``fts5vocab`` table of type ``row``: each term with the
number of files holding it) answers at once instead: the files matching a one-word prefix number at
least the largest and at most the sum of its terms' counts, and an AND of words at most the smallest
word's. Where those bounds leave the side of the limit open, the planner counts as before. The
vocabulary table is a ``temp`` table of each connection (nothing is written to the catalog file, so a
read-only catalog has it too); a connection that cannot make one is planned by counting.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

# Letters and digits, as unicode61 sees them (underscore and punctuation separate words).
_TOKEN = re.compile(r"[^\W_]+")

# Above this many matches a set is cheaper to probe than to read and sort (measured on 100k assets:
# reading+sorting costs about 1 us per row, walking the whole name index about 12 ms).
DRIVING_SET_LIMIT = 5000

VOCABULARY = "temp.atelier_fts_vocabulary"
_CREATE_VOCABULARY = f"CREATE VIRTUAL TABLE IF NOT EXISTS {VOCABULARY} USING fts5vocab(main, asset_fts, row)"
# Every term starting with a prefix: the terms from the prefix up to (not including) the next string
# after all of them ("pix" -> "pix" .. "pix\U0010ffff").
_PREFIX_COUNTS = f"SELECT max(doc), sum(doc) FROM {VOCABULARY} WHERE term >= :low AND term < :high"
_TERM_COUNT = f"SELECT doc FROM {VOCABULARY} WHERE term = :term"


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


def match_size(connection: Any, text_query: str) -> tuple[int, int] | None:
    """(at least, at most) how many files ``text_query`` matches, from the index's vocabulary; None when
    the vocabulary cannot say (a word with letters the tokenizer folds, such as accents, or no
    vocabulary table on this connection)."""
    words = [_TOKEN.findall(word) for word in text_query.split()]
    words = [tokens for tokens in words if tokens]
    if not words or not all(token.isascii() for tokens in words for token in tokens):
        return None
    try:
        bounds = [_phrase_bounds(connection, [token.lower() for token in tokens]) for tokens in words]
    except sqlite3.Error:
        return None
    upper = min(high for _, high in bounds)
    # One word: every file holding one of its terms matches. Several: the intersection may be empty.
    lower = bounds[0][0] if len(bounds) == 1 else 0
    return lower, upper


def _phrase_bounds(connection: Any, tokens: list[str]) -> tuple[int, int]:
    """Bounds for one phrase: its last token is a prefix, the others whole terms (a phrase needs them
    all, so at most the rarest; at least, for one token, its most frequent term)."""
    *whole, prefix = tokens
    low, high = _prefix_counts(connection, prefix)
    uppers = [high]
    for term in whole:
        row = _vocabulary(connection, _TERM_COUNT, {"term": term}).fetchone()
        uppers.append(int(row[0]) if row else 0)
    return (low if not whole else 0), min(uppers)


def _prefix_counts(connection: Any, prefix: str) -> tuple[int, int]:
    row = _vocabulary(connection, _PREFIX_COUNTS, {"low": prefix, "high": prefix + "\U0010ffff"}).fetchone()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def _vocabulary(connection: Any, sql: str, params: dict[str, Any]) -> Any:
    """Run ``sql`` on the vocabulary table, making it on this connection first when it is not there."""
    try:
        return connection.execute(sql, params)
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
    connection.execute(_CREATE_VOCABULARY)
    return connection.execute(sql, params)
