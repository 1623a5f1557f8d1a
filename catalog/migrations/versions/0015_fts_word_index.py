"""On a server catalog, a word index: one row per distinct word of each file's search document, so a typed
prefix is a range of one btree.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Why: a search on PostgreSQL found a typed word's matches through the ``tsvector`` GIN index of
``asset_fts_documents`` (migration 0013). A GIN index holds row addresses, not ids, so the server read a
row for every match to learn its id: about one page per match ("man": 10,858 files of 100,000, 2,700
pages), once to size the set (``catalog.queries`` counts it to plan the page) and again to read it. SQLite's
FTS5 reads the ids straight from its index.

``asset_fts_words (word, asset_id)``, primary key in that order, holds each document's lexemes
(``tsvector_to_array``: the very words the ``tsvector`` match compares), compared byte by byte
(``COLLATE "C"``), so the files whose words begin with "man" are one range of the key, read from the
index alone (about 60 pages for the same 10,858 files). ``catalog.pg_word_match`` reads it.

The table follows ``asset_fts_documents`` through statement-level triggers, whoever writes the documents:
``asset_fts_refresh`` (a new file, an edit, a tag, a Civitai lookup), ``copy-catalog``'s rebuild, and the
removal of a file (its document goes by its foreign key's cascade). The refresh now updates a document in
place, and only when it changed (it deleted and inserted it), so an edit replaces only the words that
changed: a tag added to a file is one word inserted, not its every word deleted and inserted again.

The words are deleted through the primary key, one look-up per word. A trigger's statements are planned
once per session and kept: planned for a first statement of a thousand documents, a later one-document
delete would keep a hash join over the whole table (1.5 s instead of 1 ms), so the functions turn hash
and merge joins off for their own statements, and sequential scans too: a nested loop reading the whole
word table once per statement (the refresh's statements fire the triggers even when they change no
document) made a scan of 10,000 new files quadratic. A statement that removed or changed no document
returns at once.

No foreign key to ``assets``: a cascade would need a second index, on ``asset_id``, for nothing (the
documents' cascade reaches the words through the trigger).

SQLite has FTS5, whose index already answers with ids: nothing changes on SQLite.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

# The (word, asset_id) pairs of the documents in a transition table.
_PAIRS = (
    "SELECT x.word, d.rowid FROM {table} AS d"
    " CROSS JOIN LATERAL unnest(tsvector_to_array(d.document)) AS x (word)"
)
_NO_HASH_OR_MERGE = "SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off"

_INSERT = f"""
    CREATE FUNCTION asset_fts_words_on_documents_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO asset_fts_words (word, asset_id) {_PAIRS.format(table="added")};
        RETURN NULL;
    END $$"""
_DELETE = f"""
    CREATE FUNCTION asset_fts_words_on_documents_delete() RETURNS trigger LANGUAGE plpgsql
    {_NO_HASH_OR_MERGE} AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM removed) THEN
            RETURN NULL;
        END IF;
        DELETE FROM asset_fts_words AS w USING ({_PAIRS.format(table="removed")}) AS r (word, asset_id)
         WHERE w.word = r.word AND w.asset_id = r.asset_id;
        RETURN NULL;
    END $$"""
_UPDATE = f"""
    CREATE FUNCTION asset_fts_words_on_documents_update() RETURNS trigger LANGUAGE plpgsql
    {_NO_HASH_OR_MERGE} AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM removed) THEN
            RETURN NULL;
        END IF;
        DELETE FROM asset_fts_words AS w
         USING ({_PAIRS.format(table="removed")} EXCEPT {_PAIRS.format(table="added")}) AS r (word, asset_id)
         WHERE w.word = r.word AND w.asset_id = r.asset_id;
        INSERT INTO asset_fts_words (word, asset_id)
        {_PAIRS.format(table="added")} EXCEPT {_PAIRS.format(table="removed")};
        RETURN NULL;
    END $$"""
_FTS_COLUMNS = "display_name, file_name, tags, trigger_words, notes, description, remote"
_BUILT = f"""
        INSERT INTO asset_fts (rowid, {_FTS_COLUMNS}, words, document)
        SELECT d.*, w.words, to_tsvector('simple', w.words)
          FROM asset_fts_document d
          CROSS JOIN LATERAL (
              SELECT trim(regexp_replace(lower(unaccent(concat_ws(' ', {_FTS_COLUMNS}))),
                                         '[^[:alnum:]]+', ' ', 'g'))
                     AS words) AS w
         WHERE d.rowid = ANY (ids)
        RETURNING rowid, document"""
# Migration 0013's refresh, except that a document is replaced in place, and only when it changed: the
# update trigger then replaces only the words that changed (a tag added: one word, not the file's every
# word deleted and inserted again), and an unchanged document costs its indexes nothing. A file whose
# asset is gone (nothing rebuilt for it) loses its document, as before.
_REFRESH = f"""
    CREATE OR REPLACE FUNCTION asset_fts_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM asset_fts WHERE rowid = ANY (ids);
        WITH built AS ({_BUILT})
        INSERT INTO asset_fts_documents (rowid, document) SELECT rowid, document FROM built
        ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document
         WHERE asset_fts_documents.document IS DISTINCT FROM EXCLUDED.document;
        DELETE FROM asset_fts_documents AS o
         WHERE o.rowid = ANY (ids) AND NOT EXISTS (SELECT 1 FROM asset_fts AS f WHERE f.rowid = o.rowid);
    END $$"""
# Migration 0013's refresh, as it was.
_OLD_REFRESH = f"""
    CREATE OR REPLACE FUNCTION asset_fts_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM asset_fts WHERE rowid = ANY (ids);
        DELETE FROM asset_fts_documents WHERE rowid = ANY (ids);
        WITH built AS ({_BUILT})
        INSERT INTO asset_fts_documents (rowid, document) SELECT rowid, document FROM built;
    END $$"""
_TRANSITIONS = {
    "insert": "NEW TABLE AS added",
    "delete": "OLD TABLE AS removed",
    "update": "OLD TABLE AS removed NEW TABLE AS added",
}
UPGRADE = (
    """CREATE TABLE asset_fts_words (
        word TEXT COLLATE "C" NOT NULL,
        asset_id INTEGER NOT NULL,
        PRIMARY KEY (word, asset_id)
    )""",
    f"INSERT INTO asset_fts_words (word, asset_id) {_PAIRS.format(table='asset_fts_documents')}"
    " ORDER BY 1, 2",
    "ANALYZE asset_fts_words",
    _INSERT,
    _DELETE,
    _UPDATE,
    *(
        f"CREATE TRIGGER asset_fts_words_after_documents_{operation} AFTER {operation.upper()}"
        f" ON asset_fts_documents REFERENCING {transitions}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION asset_fts_words_on_documents_{operation}()"
        for operation, transitions in _TRANSITIONS.items()
    ),
    _REFRESH,
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for operation in _TRANSITIONS:
        op.execute(
            f"DROP TRIGGER IF EXISTS asset_fts_words_after_documents_{operation} ON asset_fts_documents"
        )
        op.execute(f"DROP FUNCTION IF EXISTS asset_fts_words_on_documents_{operation}()")
    op.execute("DROP TABLE IF EXISTS asset_fts_words")
    op.execute(_OLD_REFRESH)
