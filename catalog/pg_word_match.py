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
comparison, which is what the range selects. The index answers only for what it answers exactly: one
typed token whose lexeme is the token itself, lower-cased and unaccented, in letters and digits (nearly
every search). Everything else is matched against the documents as before: a phrase (``add-detail`` is
the tokens ``add detail``, which must stand side by side), a token the server splits or drops, and
several typed words, which the GIN index intersects before it reads a row (measured on 100,000 files:
"vintage dragon" 8 ms there, 20 through two ranges of the word index read whole and intersected).

**A common word's count** (:func:`counted_in_id_order`): the count that plans a page wants a word's first
few thousand ids in id order; a word the index holds more than :data:`COUNT_LIMIT` entries of is counted
by walking the documents in id order instead of sorting all its entries.

**One look-up per new token.** A token's lexeme is asked of the server once and remembered for that
server, its count for a few minutes (:class:`WordLexemes`), so a search costs no round trip more than
before after its first run.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg

_PHRASE = re.compile(r'"([^"]*)"\*')
# A token: what the server makes of it (lower-cased, unaccented), its lexemes, and how many words of the
# index begin with that text, counted no further than COUNT_LIMIT + 1 (the range is read from the text
# up, in index order, and the count stops there whatever the server's encoding).
_WORD = b"""
    SELECT c.cleaned, tsvector_to_array(to_tsvector('simple', c.cleaned)),
           (SELECT count(*) FROM (
                SELECT w.word FROM asset_fts_words AS w WHERE w.word >= c.cleaned COLLATE "C"
                 ORDER BY w.word LIMIT %(limit)s) AS s
             WHERE starts_with(s.word, c.cleaned COLLATE "C"))
      FROM (SELECT lower(unaccent(CAST(%(token)s AS text))) AS cleaned) AS c"""
# A word the index holds more entries of than this is common: its count walks the documents.
COUNT_LIMIT = 30_000
# Tokens remembered per server, at most (a user types a few hundred words in a long session), and for
# how long a count is trusted (it only chooses how to count; the answer never depends on it).
CACHE_LIMIT = 10_000
COUNT_TTL_S = 300.0


@dataclass(frozen=True)
class Word:
    """A typed token as the word index knows it: its lexeme, and whether it begins more than
    :data:`COUNT_LIMIT` words of the index."""

    lexeme: str
    common: bool


def single_token(fts5_expression: str) -> str | None:
    """The typed token of an FTS5 expression of one quoted prefix phrase of one token
    (:mod:`catalog.fts_match`), or None for anything else."""
    phrases = _PHRASE.findall(fts5_expression)
    words = phrases[0].split() if len(phrases) == 1 else []
    return words[0] if len(words) == 1 else None


def word_lexeme(cleaned: str, lexemes: list[str]) -> str | None:
    """The lexeme the word index is searched with for a token the server turned into ``cleaned``
    (``lower(unaccent(token))``) and parsed into ``lexemes``, or None when the index would not answer
    exactly as the document match does (module docstring)."""
    return cleaned if lexemes == [cleaned] and cleaned.isalnum() else None


def matching_ids(lexeme: str, *, ordered: bool, distinct: bool = True) -> str:
    """A subquery of the ids of the files with a word beginning with ``lexeme``: one range of the index
    (each id once unless not ``distinct``, for a set only tested with ``IN``; in ascending order when
    ``ordered``, as FTS5 gives them, for a count that stops after its first ids). The lexeme is letters
    and digits (:func:`word_lexeme`), so it is written into the statement as it is, where the planner
    bounds the range itself."""
    each = "DISTINCT " if distinct else ""
    order = " ORDER BY rowid" if ordered else ""
    return f"SELECT {each}asset_id AS rowid FROM asset_fts_words WHERE word LIKE '{lexeme}%'{order}"


def counted_in_id_order(lexeme: str) -> str:
    """A subquery of the ids of the files with a word beginning with ``lexeme``, a common one, in id order,
    for the count that plans a page: it stops after its first few thousand, and the ids they span say how
    dense the word is. The word index would have to read and sort every entry of the word first
    ("anime": 85,000); the documents walked in id order, each matched, stop after about as many rows as
    the count wants, for a word on most files. The match is written as a constant, its lexeme marked as
    a prefix (the ``tsquery`` the documents' match of the typed token is, :func:`word_lexeme`), so the
    planner sizes it from the documents' statistics and walks them in order instead of reading every
    match through the GIN index to sort them."""
    match = f"CAST('{lexeme}:*' AS tsquery)"
    return f"SELECT rowid FROM asset_fts_documents WHERE document @@ {match} ORDER BY rowid"


class WordLexemes:
    """The typed tokens of one server's searches as the word index knows them: each token's lexeme (asked
    of the server once) and whether it is common (asked again after :data:`COUNT_TTL_S`)."""

    # Per server (host, port, database): a token's lexeme does not change while it runs.
    _known: ClassVar[dict[tuple[Any, ...], dict[str, tuple[Word | None, float]]]] = {}

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection
        info = connection.info
        self._server = (info.host, info.port, info.dbname)

    def word(self, token: str) -> Word | None:
        """``token`` as the word index knows it, or None when the index does not answer for it exactly
        (:func:`word_lexeme`): the documents must."""
        known = self._known.setdefault(self._server, {})
        now = time.monotonic()
        word, asked = known.get(token, (None, -COUNT_TTL_S))
        if now - asked < COUNT_TTL_S:
            return word
        if len(known) >= CACHE_LIMIT:
            known.clear()
        cleaned, parsed, count = self._connection.execute(
            _WORD, {"token": token, "limit": COUNT_LIMIT + 1}
        ).fetchone() or ("", [], 0)
        lexeme = word_lexeme(cleaned, list(parsed or []))
        word = None if lexeme is None else Word(lexeme, int(count) > COUNT_LIMIT)
        known[token] = (word, now)
        return word
