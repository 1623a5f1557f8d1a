"""A tag edit on a server catalog rebuilds each edited file's search document once per statement, and a
search reads the typed word's matches from a narrow table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Why: on PostgreSQL, migration 0002's trigger on ``asset_tags`` ran once per row, and each run rebuilt the
whole search document of the row's asset (``asset_fts_refresh``: its tags, trigger words, notes, site
facts, then the ``tsvector``). The window's tag box replaces an asset's tags (``set_asset_labels``: one
statement deleting them all, one inserting them all), so an asset with 20 tags had its document rebuilt
40 times for one edit (about 130 ms). The trigger is now statement-level with transition tables, as
migration 0011's notifications are: each statement rebuilds the documents of the assets it touched, each
once (deleting 20 tags of one asset: one rebuild; adding a tag to 500 files: 500, in one pass).

An update of ``asset_tags`` rebuilds only the assets whose set of (asset, tag) pairs changed: a new order
of the same tags (``position``) changes nothing searchable. PostgreSQL allows a transition table only on a
trigger with one event and no column list, hence three triggers, the update one comparing old and new.

The typed word's ``tsvector`` also gets a table of its own, ``asset_fts_documents`` (the asset's id and its
document, GIN-indexed), kept by ``asset_fts_refresh`` beside ``asset_fts``. A search reads the id of every
file its words match from the table's rows (a GIN index holds no ids, only row addresses): in
``asset_fts``, about seven rows to a page beside their text columns, that was 7,000 pages for a common
prefix ("man": 10,858 of 100,000 files, 35 ms); ``asset_fts_documents`` holds about 37 rows to a page (2,700
pages, 12 ms). ``asset_fts`` keeps its columns (the text the document is built from) without its
``document`` index, now unused.

SQLite keeps its own per-row triggers (an FTS5 update of one row is cheap there): nothing changes on
SQLite.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

# The assets whose tags a statement changed, by operation (changed_new / changed_old: transition tables).
_TOUCHED = {
    "INSERT": "SELECT DISTINCT asset_id FROM changed_new",
    "DELETE": "SELECT DISTINCT asset_id FROM changed_old",
    "UPDATE": """SELECT DISTINCT asset_id FROM (
                     (SELECT asset_id, tag_id FROM changed_new
                      EXCEPT SELECT asset_id, tag_id FROM changed_old)
                     UNION ALL
                     (SELECT asset_id, tag_id FROM changed_old
                      EXCEPT SELECT asset_id, tag_id FROM changed_new)
                 ) AS moved""",
}
_TRANSITIONS = {
    "INSERT": "NEW TABLE AS changed_new",
    "UPDATE": "OLD TABLE AS changed_old NEW TABLE AS changed_new",
    "DELETE": "OLD TABLE AS changed_old",
}


def _function(operation: str) -> str:
    return f"""
    CREATE FUNCTION asset_fts_on_asset_tags_{operation.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        touched INTEGER[] := ARRAY({_TOUCHED[operation]});
    BEGIN
        IF cardinality(touched) > 0 THEN
            PERFORM asset_fts_refresh(touched);
        END IF;
        RETURN NULL;
    END $$"""


def _trigger(operation: str) -> str:
    return (
        f"CREATE TRIGGER asset_fts_after_tags_{operation.lower()} AFTER {operation} ON asset_tags "
        f"REFERENCING {_TRANSITIONS[operation]} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION asset_fts_on_asset_tags_{operation.lower()}()"
    )


_FTS_COLUMNS = "display_name, file_name, tags, trigger_words, notes, description, remote"
# Migration 0009's refresh, which also writes each rebuilt document into asset_fts_documents.
_REFRESH = f"""
    CREATE OR REPLACE FUNCTION asset_fts_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM asset_fts WHERE rowid = ANY (ids);
        DELETE FROM asset_fts_documents WHERE rowid = ANY (ids);
        WITH built AS (
            INSERT INTO asset_fts (rowid, {_FTS_COLUMNS}, words, document)
            SELECT d.*, w.words, to_tsvector('simple', w.words)
              FROM asset_fts_document d
              CROSS JOIN LATERAL (
                  SELECT trim(regexp_replace(lower(unaccent(concat_ws(' ', {_FTS_COLUMNS}))),
                                             '[^[:alnum:]]+', ' ', 'g'))
                         AS words) AS w
             WHERE d.rowid = ANY (ids)
            RETURNING rowid, document)
        INSERT INTO asset_fts_documents (rowid, document) SELECT rowid, document FROM built;
    END $$"""
# Migration 0009's refresh, as it was.
_OLD_REFRESH = f"""
    CREATE OR REPLACE FUNCTION asset_fts_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM asset_fts WHERE rowid = ANY (ids);
        INSERT INTO asset_fts (rowid, {_FTS_COLUMNS}, words, document)
        SELECT d.*, w.words, to_tsvector('simple', w.words)
          FROM asset_fts_document d
          CROSS JOIN LATERAL (
              SELECT trim(regexp_replace(lower(unaccent(concat_ws(' ', {_FTS_COLUMNS}))),
                                         '[^[:alnum:]]+', ' ', 'g'))
                     AS words) AS w
         WHERE d.rowid = ANY (ids);
    END $$"""
_SEARCH_TABLE = (
    """CREATE TABLE asset_fts_documents (
        rowid INTEGER PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
        document TSVECTOR NOT NULL
    )""",
    "INSERT INTO asset_fts_documents (rowid, document) SELECT rowid, document FROM asset_fts ORDER BY rowid",
    "CREATE INDEX ix_asset_fts_documents ON asset_fts_documents USING gin (document)",
    "DROP INDEX IF EXISTS ix_asset_fts_document",
    _REFRESH,
)

# Migration 0002's per-row trigger, as it was (its function asset_fts_on_asset_tag is kept).
_ROW_TRIGGER = """CREATE TRIGGER asset_fts_after_tag_change
    AFTER INSERT OR DELETE OR UPDATE OF asset_id, tag_id ON asset_tags
    FOR EACH ROW EXECUTE FUNCTION asset_fts_on_asset_tag()"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _SEARCH_TABLE:
        op.execute(statement)
    op.execute("DROP TRIGGER IF EXISTS asset_fts_after_tag_change ON asset_tags")
    for operation in _TRANSITIONS:
        op.execute(_function(operation))
        op.execute(_trigger(operation))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for operation in _TRANSITIONS:
        op.execute(f"DROP TRIGGER IF EXISTS asset_fts_after_tags_{operation.lower()} ON asset_tags")
        op.execute(f"DROP FUNCTION IF EXISTS asset_fts_on_asset_tags_{operation.lower()}()")
    op.execute(_ROW_TRIGGER)
    op.execute(_OLD_REFRESH)
    op.execute("CREATE INDEX ix_asset_fts_document ON asset_fts USING gin (document)")
    op.execute("DROP TABLE asset_fts_documents")
