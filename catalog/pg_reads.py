"""The catalog's plain-SQL reads (:mod:`catalog.queries`) on a PostgreSQL catalog.

:mod:`catalog.queries` writes its statements once, for a DBAPI connection with ``:name`` parameters that
returns SQLite's plain values (text times, JSON as text, 0/1 flags). :class:`PgReadConnection` gives a
psycopg connection that shape, so both databases answer through the same statements and the same row
parsers, and the answers are the same by construction:

* the few SQLite spellings the reads use are rewritten to PostgreSQL's (:func:`to_postgresql`): an id list
  as ``json_each(:ids)``, ``json_extract(col, '$.key')``, 0/1 compared with a boolean column, ``LIMIT -1``,
  the ``INDEXED BY`` hint (PostgreSQL plans on its own), SQLite's ``CROSS JOIN ... ON``;
* a typed word, an FTS5 ``MATCH`` of quoted prefix phrases (:mod:`catalog.fts_match`), becomes the same
  phrases as a ``tsquery`` over the ``document`` column migration 0002 gives PostgreSQL's ``asset_fts``
  (``"add detail"* "pix"*`` -> ``'add' <-> 'detail':* & 'pix':*``), lower-cased and unaccented by the
  server the way the document was (once per statement, :func:`to_postgresql`), matched in
  ``asset_fts_documents``, the narrow copy of the documents migration 0013 keeps; the set of files a word
  matches (``SELECT rowid ... MATCH``: the set a page is driven by, probed with, or counted from) is read
  from the word index instead wherever that gives the same answer (:mod:`catalog.pg_word_match`: one
  typed word, nearly every search), a range of a btree rather than a row per match;
* the set :mod:`catalog.queries` chose to drive a page is read first (``MATERIALIZED``), and a probe of
  a set it chose not to read whole stays a probe (:func:`probes_kept`): PostgreSQL cannot know how many
  files a tag or a word matches before it runs the subquery, the catalog's own capped count does;
* the cursor's loaders return times and JSON as text, so the row parsers see what SQLite returns.

The connection is the one under the caller's SQLAlchemy session, inside its transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from catalog import pg_word_match

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_MATCH = re.compile(r"\b(\w+\.)?asset_fts MATCH :(\w+)")
_DRIVER = "WITH d(id) AS ("  # catalog.queries: the set a driven page walks
# catalog.fts_match.matching_ids, and the LIMIT a capped count puts after it.
_MATCHING_IDS = re.compile(r"\bSELECT rowid FROM asset_fts WHERE asset_fts MATCH :(\w+)(?=( LIMIT\b)?)")
_PHRASE = re.compile(r'"([^"]*)"\*')
_SEARCH_TABLE = re.compile(r"\bFROM asset_fts\b")
_REWRITES = (
    (
        re.compile(r"SELECT value FROM json_each\(:(\w+)\)"),
        r"SELECT value::bigint FROM json_array_elements_text(CAST(:\1 AS json)) AS ids(value)",
    ),
    (re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)'\)"), r"(\1 ->> '\2')"),
    (re.compile(r"\b((?:\w+\.)?(?:hidden|favorite|nsfw|is_cover))\s+(?:IS|=)\s+1\b"), r"\1 = true"),
    (re.compile(r"\b((?:\w+\.)?(?:hidden|favorite|nsfw|is_cover))\s+(?:IS|=)\s+0\b"), r"\1 = false"),
    (re.compile(r"\bLIMIT :(\w+)"), r"LIMIT nullif(CAST(:\1 AS bigint), -1)"),
    (re.compile(r"\s+INDEXED BY \w+"), ""),
    (re.compile(r"\bCROSS JOIN (\w+ AS \w+) ON\b"), r"JOIN \1 ON"),
    # The set catalog.queries chose to drive a page (counted small) is read first, as on SQLite: inlined,
    # PostgreSQL would guess its size without knowing the tag (a subquery) and may walk the whole
    # library in name order looking for a rare tag's files instead (440 ms instead of 13 for "ink"'s
    # 883 files among 100,000).
    (re.compile(r"\bWITH d\(id\) AS \("), "WITH d(id) AS MATERIALIZED ("),
)
_ID_LIST = re.compile(r"json_each\((%\(\w+\)s)(?:::VARCHAR)?\) AS (\w+)")
_BOUND_LIMIT = re.compile(r"\bLIMIT %\((\w+)\)s")
_TEXT_TYPES = ("json", "jsonb", "timestamp", "timestamptz")


def tsquery(fts5_expression: str) -> str:
    """An FTS5 expression of quoted prefix phrases as the equivalent ``tsquery`` text (words joined by
    ``<->``, the last one a prefix, phrases ANDed). The words are alphanumeric runs, so quoting them is
    enough to keep any operator out."""
    phrases = []
    for phrase in _PHRASE.findall(fts5_expression):
        words = phrase.split()
        if words:
            phrases.append(" <-> ".join(f"'{word}'" for word in words) + ":*")
    return " & ".join(phrases) if phrases else "''"


def hints_removed(sql: str) -> str:
    """``sql`` (an engine's statement on PostgreSQL) without SQLite's spellings that reach it through
    SQLAlchemy ``text()``: the planner hint ``INDEXED BY`` and 0/1 compared with a boolean column."""
    for pattern, replacement in (*_REWRITES[2:4], _REWRITES[5]):
        sql = pattern.sub(replacement, sql)
    sql = _ID_LIST.sub(
        r"(SELECT value::bigint AS value FROM json_array_elements_text(CAST(\1 AS json)) AS ids(value))"
        r" AS \2",
        sql,
    )  # an id list bound as one JSON array (catalog.reading.in_id_list)
    return _BOUND_LIMIT.sub(r"LIMIT nullif(%(\1)s, -1)", sql)  # SQLite's "no limit" is LIMIT -1


_PROBE = re.compile(r"(?<!NOT )\bEXISTS \(SELECT 1 FROM |\b\w+\.id \+ 0 IN \(")


def probes_kept(sql: str) -> str:
    """``sql`` with each probe of a set kept a probe: an ``EXISTS (...)`` (not ``NOT EXISTS``) ended by
    ``OFFSET 0``, an ``id + 0 IN (...)`` asked ``IS TRUE``. Neither changes an answer; both keep
    PostgreSQL from turning the probe into a join.

    :mod:`catalog.queries` plans a page itself: a set of ids it counted as broad (a tag or a typed word on
    a large part of the library) is only probed (a tag by one index lookup per row, a word's matches
    hashed once), while the walk in sort order stops after a page. PostgreSQL would otherwise pull the
    probe up into a semi-join and, not knowing how many rows the tag or the word matches (they come
    from subqueries), read every asset or every tagged one, and sort them: 86 ms instead of 9 for
    "anime" on 75% of 20,000 assets; for a typed prefix matching 2,000 of them, every asset of the
    library read for each page. A subquery with an ``OFFSET`` is never pulled up, nor a sublink inside
    an expression (``IS TRUE``); the latter stays a hashed subplan.
    """
    parts: list[str] = []
    start = 0
    while (found := _PROBE.search(sql, start)) is not None:
        opening = found.end() - 1 if found.group().endswith("(") else sql.index("(", found.start())
        depth, end = 0, opening
        for end in range(opening, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        if found.group().startswith("EXISTS"):
            parts.append(sql[start:end] + " OFFSET 0")
            start = end
        else:
            parts.append(f"{sql[start : found.start()]}(({sql[found.start() : end + 1]}) IS TRUE)")
            start = end + 1
    parts.append(sql[start:])
    return "".join(parts)


WordOf = Callable[[str], "pg_word_match.Word | None"]


def _word_sets(sql: str, values: dict[str, Any], word_of: WordOf) -> str:
    """``sql`` with each set of a typed word's matches read from the word index where it gives the same
    answer (:mod:`catalog.pg_word_match`); the rest is left to the documents."""

    def word_set(found: re.Match[str]) -> str:
        token = pg_word_match.single_token(str(values[found.group(1)]))
        word = None if token is None else word_of(token)
        if word is None:
            return found.group()
        counted = found.group(2) is not None
        if counted and word.common:
            return pg_word_match.counted_in_id_order(word.lexeme)
        # A set tested with IN needs no duplicates taken out first (the test hashes it once anyway).
        tested = sql.endswith(" IN (", 0, found.start())
        ids = pg_word_match.matching_ids(word.lexeme, ordered=counted, distinct=not tested)
        if sql.endswith(_DRIVER, 0, found.start()):
            # The set drives the page (catalog.queries counted it small): each of its ids is looked up in
            # the page index. Knowing the word's statistics, PostgreSQL would guess a few thousand ids
            # rather than the GIN index's 500 and merge them with the whole page index instead (100,000
            # entries read for 3,000 ids: 107 ms instead of 26 for "lowpoly" on a loaded machine).
            # Through an array it plans a look-up per id, as for any set it cannot size.
            return f"SELECT unnest(ARRAY({ids}))"
        return ids

    return _MATCHING_IDS.sub(word_set, sql)


def to_postgresql(
    sql: str, parameters: dict[str, Any], word_of: WordOf | None = None
) -> tuple[str, dict[str, Any]]:
    """``sql`` (SQLite's spelling, ``:name`` parameters) as psycopg runs it on PostgreSQL. ``word_of``
    gives a typed token as the word index knows it (:meth:`catalog.pg_word_match.WordLexemes.word`);
    without it, every typed word is matched against the documents."""
    values = dict(parameters)
    sql = probes_kept(sql)
    if word_of is not None:
        sql = _word_sets(sql, values, word_of)
    for name in {match.group(2) for match in _MATCH.finditer(sql)}:
        values[name] = tsquery(str(values[name]))
    if _MATCH.search(sql):  # the matched rows are read from the narrow table (module docstring)
        sql = _SEARCH_TABLE.sub("FROM asset_fts_documents", sql)
    # The query in a subquery: computed once per statement. Written inline, PostgreSQL would call
    # unaccent (a STABLE function, so never folded to a constant) again for every row it rechecks (a
    # prefix match is always rechecked): 9 ms instead of 0.4 for "mecha"'s 474 rows.
    sql = _MATCH.sub(r"\1document @@ (SELECT to_tsquery('simple', lower(unaccent(CAST(:\2 AS text)))))", sql)
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    sql = sql.replace("%", "%%")
    return _PLACEHOLDER.sub(r"%(\1)s", sql), values


class PgReadConnection:
    """A psycopg connection in the shape :mod:`catalog.queries` reads through (``execute`` returns a
    cursor with ``fetchone``/``fetchall`` and plain values)."""

    # What one row's seek of a typed word's matches costs, in matches copied (catalog.queries.SEEK_COST is
    # SQLite's 60): here a primary-key lookup in asset_fts_documents and one document's match (3 to 5 us)
    # against an entry of the word index read into the hashed set (0.1 to 0.2 us; it was 1.4 us a match
    # read from the documents before migration 0015, and this cost 3). On 100,000 assets a page of 200
    # rows is then sought from a density of about 0.22: "anime" (0.85) and "pixel" (0.4) are sought,
    # "iso" (0.09: 8,600 entries hashed instead of 4,200 rows sought, 60 ms against 51 on a loaded
    # machine) and "man" (0.1) hashed.
    seek_cost = 25
    # What looking one id of a driving set up costs, in entries of a covering sort index walked (see
    # catalog.queries._walk_cheaper): on 100,000 assets 3 to 4 us against 0.3 (a typed word's 2,300
    # files: a page found in 6 ms walking the name order, 18 ms looking each file up, on a loaded
    # machine). A page of 200 is then walked for a word on more than about 1,300 files of 100,000.
    driven_id_cost = 12
    # A page's ids and their rows are read in one statement (catalog.queries.search_rows): one round
    # trip less for every page.
    page_in_one_statement = True

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection
        self._words = pg_word_match.WordLexemes(connection)

    def execute(self, sql: str, parameters: dict[str, Any] | None = None, /) -> psycopg.Cursor[Any]:
        cursor = self._connection.cursor()
        for name in _TEXT_TYPES:
            cursor.adapters.register_loader(name, TextLoader)
        statement, values = to_postgresql(sql, parameters or {}, self._words.word)
        cursor.execute(statement.encode(), values)
        return cursor
