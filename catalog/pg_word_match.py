"""On a server catalog, the files a typed word matches, read from the word index (``asset_fts_words``,
migration 0015) instead of from each matching file's search document.

**Why.** A typed word is a prefix: "pix" finds "pixel" and "pixelart". The ``tsvector`` GIN index of
``asset_fts_documents`` knows which rows match but holds no ids, only row addresses, so PostgreSQL read
the row of every match to learn its id: about a page of the table per match ("man": 10,858 matches,
about 2,700 pages, for every page of results and again for the count that plans it). ``asset_fts_words``
holds one ``(word, asset_id)`` pair per distinct word of each document, in a btree compared byte by byte
(``COLLATE "C"``), so a prefix is one range of that index, read without visiting the table: ``word LIKE
'man%'`` is the range ``'man' <= word < 'mao'`` (the planner bounds a constant prefix itself, for any
server encoding), about 60 index pages for the same 10,858 matches.

**The same answers.** The words of the index are the lexemes of the documents themselves
(``tsvector_to_array``), and a typed token is matched by its own lexeme as the server computes it,
``to_tsvector('simple', lower(unaccent(token)))``, which is how ``to_tsquery`` reads the quoted token of
the ``tsquery`` (:func:`catalog.pg_reads.tsquery`): a prefix match of a lexeme is a byte-prefix
comparison, which is what the range selects. The index answers only for what it answers exactly: a token
whose lexeme is the token itself, lower-cased and unaccented, in letters and digits (nearly every typed
word); a phrase (``add-detail`` is the tokens ``add detail``, which must stand side by side) or a token
the server splits or drops is matched against the documents as before, and so is the whole query it is
part of.

**Where the documents still answer** (:func:`read_from_words`): the count that plans a page when a word
is common, and several words one of which is common; how common a word is comes from a count of its
range that stops at :data:`COUNT_LIMIT`. Several words that are all rarer are the intersection of their
ranges.

**One look-up per new token.** A token's lexeme is asked of the server once and remembered for that
server, its count for a few minutes (:class:`WordLexemes`), so a search costs no round trip more than
before after its first run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg

_PHRASE = re.compile(r'"([^"]*)"\*')
# Each token: what the server makes of it (lower-cased, unaccented) and its lexemes.
_LEXEMES = (
    b"SELECT t, lower(unaccent(t)), tsvector_to_array(to_tsvector('simple', lower(unaccent(t))))"
    b" FROM unnest(CAST(%s AS text[])) AS t"
)
# How many words of the index begin with each lexeme, counted no further than COUNT_LIMIT + 1: the range
# read from the lexeme up, in index order, stops there whatever the server's encoding.
_COUNTS = b"""
    SELECT l.lexeme, (SELECT count(*) FROM (
               SELECT w.word FROM asset_fts_words AS w WHERE w.word >= l.lexeme COLLATE "C"
                ORDER BY w.word LIMIT %(limit)s) AS s
            WHERE starts_with(s.word, l.lexeme COLLATE "C"))
      FROM unnest(CAST(%(lexemes)s AS text[])) AS l (lexeme)"""
# A word beginning more index words than this is common (see read_from_words).
COUNT_LIMIT = 30_000
# Tokens remembered per server, at most (a user types a few hundred words in a long session), and for
# how long a count is trusted (it only chooses how to read; the answer never depends on it).
CACHE_LIMIT = 10_000
COUNT_TTL_S = 300.0


def tokens(fts5_expression: str) -> list[str] | None:
    """The typed tokens of an FTS5 expression of quoted prefix phrases (:mod:`catalog.fts_match`), one per
    phrase, or None when a phrase holds several tokens (their order matters: the documents answer)."""
    found: list[str] = []
    for phrase in _PHRASE.findall(fts5_expression):
        words = phrase.split()
        if len(words) != 1:
            return None
        found.append(words[0])
    return found or None


def word_lexeme(cleaned: str, lexemes: Sequence[str]) -> str | None:
    """The lexeme the word index is searched with for a token the server turned into ``cleaned``
    (``lower(unaccent(token))``) and parsed into ``lexemes``, or None when the index would not answer
    exactly as the document match does (module docstring)."""
    return cleaned if list(lexemes) == [cleaned] and cleaned.isalnum() else None


def matching_ids(lexemes: Sequence[str], *, ordered: bool, distinct: bool = True) -> str:
    """A subquery of the ids of the assets with, for each lexeme, a word beginning with it: one range of
    the index for each, intersected (each id once unless not ``distinct``, for a set only tested with
    ``IN``; in ascending order when ``ordered``, as FTS5 gives them, for a count that stops after its
    first ids). The lexemes are letters and digits (:func:`word_lexeme`), so they are written into the
    statement as they are, where the planner bounds each range itself."""
    each = "DISTINCT " if distinct and len(lexemes) == 1 else ""  # an intersection has each id once
    ranges = [
        f"SELECT {each}asset_id AS rowid FROM asset_fts_words WHERE word LIKE '{lexeme}%'"
        for lexeme in lexemes
    ]
    return " INTERSECT ".join(ranges) + (" ORDER BY rowid" if ordered else "")


@dataclass(frozen=True)
class WordRanges:
    """The lexemes a search reads from the word index (one range each) and whether one of them begins
    more than :data:`COUNT_LIMIT` words of it (a common word: see :func:`read_from_words`)."""

    lexemes: tuple[str, ...]
    common: bool


def read_from_words(ranges: WordRanges, *, counted: bool) -> bool:
    """Whether a set of matches is read from the word index rather than the documents' GIN index.

    Each word index range is read whole (its entries are in word order, then id order), so a common word
    costs its every entry: cheaper than a row per match for a set to drive a page or hash, but not for
    the capped count that plans the page (``counted``), which needs the first ids in id order. The GIN
    index finds the documents in their table's order, which is the ids' order, and the count stops after
    a few thousand, a few hundred pages for a word on most files ("anime": 5 ms against 20 for its 80,000
    entries sorted). Nor for several words one of which is common: the GIN index intersects them before
    reading a row ("pixel boy": 1,004 rows, against 43,000 entries read and hashed)."""
    return not ranges.common or (not counted and len(ranges.lexemes) == 1)


class WordLexemes:
    """The typed tokens of one server's searches as the word index knows them: each token's lexeme (asked
    of the server once) and how common it is (asked again after :data:`COUNT_TTL_S`)."""

    # Per server (host, port, database): a token's lexeme does not change while it runs.
    _lexemes: ClassVar[dict[tuple[Any, ...], dict[str, str | None]]] = {}
    _counts: ClassVar[dict[tuple[Any, ...], dict[str, tuple[int, float]]]] = {}

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection
        info = connection.info
        self._server = (info.host, info.port, info.dbname)

    def ranges(self, typed: Sequence[str]) -> WordRanges | None:
        """The ranges of the word index the typed tokens are read from, or None when the index does not
        answer for one of them exactly (:func:`word_lexeme`): the documents must."""
        known = _bounded(self._lexemes.setdefault(self._server, {}))
        missing = [token for token in dict.fromkeys(typed) if token not in known]
        if missing:
            rows = self._connection.execute(_LEXEMES, (missing,)).fetchall()
            known.update((token, word_lexeme(cleaned, parsed or [])) for token, cleaned, parsed in rows)
        lexemes = [known.get(token) for token in typed]
        if any(lexeme is None for lexeme in lexemes):
            return None
        distinct = list(dict.fromkeys(str(lexeme) for lexeme in lexemes))
        return WordRanges(tuple(distinct), max(self._word_counts(distinct)) > COUNT_LIMIT)

    def _word_counts(self, lexemes: list[str]) -> list[int]:
        counts = _bounded(self._counts.setdefault(self._server, {}))
        now = time.monotonic()
        stale = [
            lexeme for lexeme in lexemes if now - counts.get(lexeme, (0, -COUNT_TTL_S))[1] >= COUNT_TTL_S
        ]
        if stale:
            rows = self._connection.execute(_COUNTS, {"lexemes": stale, "limit": COUNT_LIMIT + 1})
            counts.update((lexeme, (int(count), now)) for lexeme, count in rows.fetchall())
        return [counts.get(lexeme, (COUNT_LIMIT + 1, now))[0] for lexeme in lexemes]


def _bounded(cache: dict[str, Any]) -> dict[str, Any]:
    """``cache``, emptied first when it holds :data:`CACHE_LIMIT` entries."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    return cache
