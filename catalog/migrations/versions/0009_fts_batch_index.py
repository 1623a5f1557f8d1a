"""A scan indexes its new rows for search once per batch, instead of one trigger run per row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

The insert trigger of ``asset_fts`` (0002, rebuilt in 0006) cost a first scan about 170 us per file, more
than half of what the catalog spends on a file: a trigger program per row, each building one document.
The same documents built by one ``INSERT ... SELECT`` over the batch cost a fraction of that.

Why the trigger stays (switched off for a batch) rather than being dropped: the index then stays right on
every other path that inserts assets - a journal's undo restoring a forgotten row, plain SQL, paths added
later - with nothing to remember. A batch writer inserts a row into ``asset_fts_paused`` inside its own
write transaction, inserts its assets, indexes them with ``INSERT INTO asset_fts SELECT * FROM
asset_fts_document WHERE rowid ...`` and deletes the row before it commits: no other connection ever
sees the pause (SQLite has one writer at a time, and the row never outlives the transaction; a batch that
fails rolls it back with everything else).

``asset_fts_document`` is the view of one asset's searchable text (the document 0006's triggers build),
so the batch writer and the trigger build it from one definition. SQLite flattens the view: a
``WHERE rowid`` on it is a primary-key lookup on ``assets``.

On PostgreSQL (see 0002) the view and the pause table are the same; the refresh function reads the view,
and the insert trigger's function returns early while the pause row exists (a second batch writer waits on
the pause row's key until the first commits).

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = "display_name, file_name, tags, trigger_words, notes, description, remote"

_WORDS = """coalesce((SELECT group_concat(j.value, ' ')
                       FROM json_each(CASE WHEN json_valid({col}) THEN {col} ELSE '[]' END) j), '')"""

# The document of 0006 (``_document``), column for column.
DOCUMENT_VIEW = f"""
    CREATE VIEW asset_fts_document (rowid, {COLUMNS}) AS
        SELECT a.id, a.display_name, a.file_name,
               coalesce((SELECT group_concat(t.name, ' ')
                           FROM asset_tags x JOIN tags t ON t.id = x.tag_id
                          WHERE x.asset_id = a.id), ''),
               {_WORDS.format(col="a.trigger_words")},
               a.notes,
               coalesce(a.description, ''),
               coalesce((SELECT group_concat(
                                  coalesce(l.model_name, '') || ' ' || coalesce(l.version_name, '') || ' ' ||
                                  coalesce(l.creator, '') || ' ' || {_WORDS.format(col="l.trigger_words")}
                                  || ' ' || {_WORDS.format(col="l.tags")} || ' ' ||
                                  coalesce(l.description_text, l.description_html, ''), ' ')
                           FROM remote_links l WHERE l.asset_id = a.id), '')
          FROM assets a"""

PAUSE_TABLE = """
    CREATE TABLE asset_fts_paused (
        one INTEGER PRIMARY KEY CHECK (one = 1)
    )"""

PAUSABLE_INSERT_TRIGGER = f"""
    CREATE TRIGGER asset_fts_after_insert AFTER INSERT ON assets
    WHEN NOT EXISTS (SELECT 1 FROM asset_fts_paused)
    BEGIN
        INSERT INTO asset_fts(rowid, {COLUMNS}) SELECT * FROM asset_fts_document WHERE rowid = new.id;
    END"""


_PG_WORDS = (
    "coalesce((SELECT string_agg(j, ' ') FROM json_array_elements_text("
    "CASE WHEN json_typeof({col}) = 'array' THEN {col} ELSE '[]'::json END) j), '')"
)
PG_UPGRADE = (
    f"""CREATE VIEW asset_fts_document (rowid, {COLUMNS}) AS
        SELECT a.id, a.display_name, a.file_name,
               coalesce((SELECT string_agg(t.name, ' ')
                           FROM asset_tags x JOIN tags t ON t.id = x.tag_id
                          WHERE x.asset_id = a.id), ''),
               {_PG_WORDS.format(col="a.trigger_words")},
               a.notes,
               coalesce(a.description, ''),
               coalesce((SELECT string_agg(
                                  coalesce(l.model_name, '') || ' ' || coalesce(l.version_name, '') || ' ' ||
                                  coalesce(l.creator, '') || ' ' || {_PG_WORDS.format(col="l.trigger_words")}
                                  || ' ' || {_PG_WORDS.format(col="l.tags")} || ' ' ||
                                  coalesce(l.description_text, l.description_html, ''), ' ')
                           FROM remote_links l WHERE l.asset_id = a.id), '')
          FROM assets a""",
    PAUSE_TABLE,
    f"""CREATE OR REPLACE FUNCTION asset_fts_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM asset_fts WHERE rowid = ANY (ids);
        INSERT INTO asset_fts (rowid, {COLUMNS}, words, document)
        SELECT d.*, w.words, to_tsvector('simple', w.words)
          FROM asset_fts_document d
          CROSS JOIN LATERAL (
              SELECT trim(regexp_replace(lower(unaccent(concat_ws(' ', {COLUMNS}))),
                                         '[^[:alnum:]]+', ' ', 'g'))
                     AS words) AS w
         WHERE d.rowid = ANY (ids);
    END $$""",
    """CREATE OR REPLACE FUNCTION asset_fts_on_asset() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM asset_fts_paused) THEN RETURN NULL; END IF;
        PERFORM asset_fts_refresh(ARRAY[NEW.id]);
        RETURN NULL;
    END $$""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_UPGRADE:
            op.execute(statement)
        return
    op.execute(DOCUMENT_VIEW)
    op.execute(PAUSE_TABLE)
    op.execute("DROP TRIGGER IF EXISTS asset_fts_after_insert")
    op.execute(PAUSABLE_INSERT_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS asset_fts_after_insert")
    # The view is gone below: 0006's trigger is written out in full again.
    document = DOCUMENT_VIEW.split(" AS\n", 1)[1]
    op.execute(
        f"""CREATE TRIGGER asset_fts_after_insert AFTER INSERT ON assets BEGIN
            INSERT INTO asset_fts(rowid, {COLUMNS}) {document} WHERE a.id = new.id;
        END"""
    )
    op.execute("DROP TABLE IF EXISTS asset_fts_paused")
    op.execute("DROP VIEW IF EXISTS asset_fts_document")
