"""Civitai facts on the remote link (creator, description, tags, trigger words, examples), and searchable.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

What a Civitai lookup or another tool's sidecar says about a file now has columns of its own on
``remote_links``, kept apart from the user's fields: creator, the description as Civitai's HTML and as text,
tags, trained words, the NSFW flag and level, and the example images with their generation parameters.
Rows written before are filled from the raw payload they kept (``description_text`` stays empty for them:
readers render the HTML when it is missing).

Until now a lookup copied Civitai's trained words and description into the user's empty fields. Those
copies are taken back where the user never edited them and they are exactly Civitai's (they are shown as
Civitai's now, so they would appear twice); anything the user typed stays.

The full-text index gains a ``remote`` column (model and version names, creator, trained words, tags and
description text of every link), kept in sync by triggers on ``remote_links`` like the others. FTS5 tables
cannot gain columns, so the index is rebuilt.

On PostgreSQL (see 0002) the index table gains the column in place and the refresh function is replaced;
there are no rows to backfill or take back there (a PostgreSQL catalog is always created at a revision
that already has these columns), so only the schema steps run.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

OLD_COLUMNS = "display_name, file_name, tags, trigger_words, notes, description"
COLUMNS = f"{OLD_COLUMNS}, remote"
FTS_OPTIONS = "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6'"

_WORDS = """coalesce((SELECT group_concat(j.value, ' ')
                       FROM json_each(CASE WHEN json_valid({col}) THEN {col} ELSE '[]' END) j), '')"""
_REMOTE = f"""
               coalesce((SELECT group_concat(
                                  coalesce(l.model_name, '') || ' ' || coalesce(l.version_name, '') || ' ' ||
                                  coalesce(l.creator, '') || ' ' || {_WORDS.format(col="l.trigger_words")}
                                  || ' ' || {_WORDS.format(col="l.tags")} || ' ' ||
                                  coalesce(l.description_text, l.description_html, ''), ' ')
                           FROM remote_links l WHERE l.asset_id = a.id), '')"""


def _document(where: str, *, remote: bool = True) -> str:
    """SELECT of the FTS row(s) of the assets matched by ``where`` (SQL over alias ``a``)."""
    return f"""
        SELECT a.id, a.display_name, a.file_name,
               coalesce((SELECT group_concat(t.name, ' ')
                           FROM asset_tags x JOIN tags t ON t.id = x.tag_id
                          WHERE x.asset_id = a.id), ''),
               {_WORDS.format(col="a.trigger_words")},
               a.notes,
               coalesce(a.description, ''){"," + _REMOTE if remote else ""}
          FROM assets a
         WHERE {where}"""


def _refresh(asset_id_sql: str, *, remote: bool = True) -> str:
    columns = COLUMNS if remote else OLD_COLUMNS
    return f"""
        DELETE FROM asset_fts WHERE rowid = {asset_id_sql};
        INSERT INTO asset_fts(rowid, {columns}) {_document(f"a.id = {asset_id_sql}", remote=remote)};"""


def _asset_triggers(remote: bool) -> dict[str, str]:
    """The triggers of 0002 (assets, tags), over the index with or without the ``remote`` column."""
    columns = COLUMNS if remote else OLD_COLUMNS

    def refresh(asset_id_sql: str) -> str:
        return _refresh(asset_id_sql, remote=remote)

    def document(where: str) -> str:
        return _document(where, remote=remote)

    return {
        "asset_fts_after_insert": f"""
            CREATE TRIGGER asset_fts_after_insert AFTER INSERT ON assets BEGIN
                INSERT INTO asset_fts(rowid, {columns}) {document("a.id = new.id")};
            END""",
        "asset_fts_after_update": f"""
            CREATE TRIGGER asset_fts_after_update
            AFTER UPDATE OF display_name, file_name, trigger_words, notes, description ON assets
            WHEN old.display_name IS NOT new.display_name OR old.file_name IS NOT new.file_name
              OR old.trigger_words IS NOT new.trigger_words OR old.notes IS NOT new.notes
              OR old.description IS NOT new.description
            BEGIN {refresh("new.id")}
            END""",
        "asset_fts_after_delete": """
            CREATE TRIGGER asset_fts_after_delete AFTER DELETE ON assets BEGIN
                DELETE FROM asset_fts WHERE rowid = old.id;
            END""",
        "asset_fts_after_tag_insert": f"""
            CREATE TRIGGER asset_fts_after_tag_insert AFTER INSERT ON asset_tags BEGIN
                {refresh("new.asset_id")}
            END""",
        "asset_fts_after_tag_delete": f"""
            CREATE TRIGGER asset_fts_after_tag_delete AFTER DELETE ON asset_tags BEGIN
                {refresh("old.asset_id")}
            END""",
        "asset_fts_after_tag_move": f"""
            CREATE TRIGGER asset_fts_after_tag_move AFTER UPDATE OF asset_id, tag_id ON asset_tags BEGIN
                {refresh("old.asset_id")}
                {refresh("new.asset_id")}
            END""",
        "asset_fts_after_tag_rename": f"""
            CREATE TRIGGER asset_fts_after_tag_rename AFTER UPDATE OF name ON tags BEGIN
                DELETE FROM asset_fts WHERE rowid IN (SELECT asset_id FROM asset_tags WHERE tag_id = new.id);
                INSERT INTO asset_fts(rowid, {columns})
                    {document("a.id IN (SELECT asset_id FROM asset_tags WHERE tag_id = new.id)")};
            END""",
    }


# A link row's searchable text changed: re-index its asset (both assets when a link moves).
LINK_TRIGGERS = {
    "asset_fts_after_link_insert": f"""
        CREATE TRIGGER asset_fts_after_link_insert AFTER INSERT ON remote_links BEGIN
            {_refresh("new.asset_id")}
        END""",
    "asset_fts_after_link_update": f"""
        CREATE TRIGGER asset_fts_after_link_update
        AFTER UPDATE OF asset_id, model_name, version_name, creator, trigger_words, tags, description_text,
                        description_html ON remote_links
        WHEN old.asset_id IS NOT new.asset_id OR old.model_name IS NOT new.model_name
          OR old.version_name IS NOT new.version_name OR old.creator IS NOT new.creator
          OR old.trigger_words IS NOT new.trigger_words OR old.tags IS NOT new.tags
          OR old.description_text IS NOT new.description_text
          OR old.description_html IS NOT new.description_html
        BEGIN
            {_refresh("old.asset_id")}
            {_refresh("new.asset_id")}
        END""",
    "asset_fts_after_link_delete": f"""
        CREATE TRIGGER asset_fts_after_link_delete AFTER DELETE ON remote_links BEGIN
            DELETE FROM asset_fts WHERE rowid = old.asset_id;
            INSERT INTO asset_fts(rowid, {COLUMNS}) {_document("a.id = old.asset_id")};
        END""",
}


def _new_link_columns() -> tuple[sa.Column[Any], ...]:
    return (
        sa.Column("creator", sa.Text(), nullable=True),
        sa.Column("description_html", sa.Text(), nullable=True),
        sa.Column("description_text", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("trigger_words", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("nsfw", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("nsfw_level", sa.Integer(), nullable=True),
        sa.Column("examples", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )


# Facts of links written before this revision, read from the payload they kept.
BACKFILL = """
    UPDATE remote_links SET
        creator = coalesce(json_extract(payload, '$.creator.username'),
                           json_extract(payload, '$.model.creator.username')),
        description_html = coalesce(nullif(trim(json_extract(payload, '$.model.description')), ''),
                                    nullif(trim(json_extract(payload, '$.description')), '')),
        trigger_words = CASE WHEN json_type(payload, '$.trainedWords') = 'array'
                             THEN json_extract(payload, '$.trainedWords') ELSE '[]' END,
        tags = coalesce((SELECT json_group_array(CASE WHEN j.type = 'text' THEN j.value
                                                      ELSE json_extract(j.value, '$.name') END)
                           FROM json_each(payload, '$.model.tags') j
                          WHERE j.type = 'text' OR json_extract(j.value, '$.name') IS NOT NULL), '[]'),
        nsfw = CASE WHEN json_extract(payload, '$.model.nsfw') = 1 THEN 1 ELSE 0 END,
        nsfw_level = CASE WHEN json_type(payload, '$.nsfwLevel') = 'integer'
                          THEN json_extract(payload, '$.nsfwLevel') END,
        examples = CASE WHEN json_type(payload, '$.images') = 'array'
                        THEN json_extract(payload, '$.images') ELSE '[]' END
    WHERE json_valid(payload) AND json_type(payload) = 'object' AND payload != '{}'
"""

_UNEDITED = "NOT EXISTS (SELECT 1 FROM json_each(assets.edited_fields) e WHERE e.value = '{field}')"
# Copies of Civitai's words and description that a lookup put into empty user fields, taken back.
UNSEED = [
    f"""
    UPDATE assets SET trigger_words = '[]'
     WHERE trigger_words != '[]' AND json_valid(trigger_words) AND {_UNEDITED.format(field="trigger_words")}
       AND EXISTS (SELECT 1 FROM remote_links l
                    WHERE l.asset_id = assets.id AND l.trigger_words != '[]'
                      AND NOT EXISTS (SELECT 1 FROM json_each(assets.trigger_words) w
                                       WHERE w.value NOT IN (SELECT value FROM json_each(l.trigger_words))))
    """,
    f"""
    UPDATE assets SET description = NULL
     WHERE description IS NOT NULL AND {_UNEDITED.format(field="description")}
       AND EXISTS (SELECT 1 FROM remote_links l
                    WHERE l.asset_id = assets.id AND l.description_html IS NOT NULL
                      AND (trim(l.description_html) = assets.description
                           OR trim(json_extract(l.payload, '$.description')) = assets.description))
    """,
]


def _drop_index_and_triggers(names: list[str]) -> None:
    for name in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS asset_fts")


_PG_WORDS = (
    "coalesce((SELECT string_agg(j, ' ') FROM json_array_elements_text("
    "CASE WHEN json_typeof({col}) = 'array' THEN {col} ELSE '[]'::json END) j), '')"
)
PG_REFRESH = f"""
    CREATE OR REPLACE FUNCTION asset_fts_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM asset_fts WHERE rowid = ANY (ids);
        INSERT INTO asset_fts (rowid, {COLUMNS}, words, document)
        SELECT d.*, w.words, to_tsvector('simple', w.words)
          FROM (SELECT a.id, a.display_name, a.file_name,
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
                  FROM assets a WHERE a.id = ANY (ids)) AS d (rowid, {COLUMNS})
          CROSS JOIN LATERAL (
              SELECT trim(regexp_replace(lower(unaccent(concat_ws(' ', {COLUMNS}))),
                                         '[^[:alnum:]]+', ' ', 'g'))
                     AS words) AS w;
    END $$"""
PG_UPGRADE = (
    "ALTER TABLE asset_fts ADD COLUMN remote TEXT NOT NULL DEFAULT ''",
    PG_REFRESH,
    """CREATE FUNCTION asset_fts_on_link() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM asset_fts_refresh(ARRAY[OLD.asset_id]); END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM asset_fts_refresh(ARRAY[NEW.asset_id]); END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER asset_fts_after_link_change AFTER INSERT OR DELETE OR UPDATE ON remote_links
        FOR EACH ROW EXECUTE FUNCTION asset_fts_on_link()""",
    "SELECT asset_fts_refresh(ARRAY(SELECT id FROM assets))",
)


def upgrade() -> None:
    for column in _new_link_columns():
        op.add_column("remote_links", column)
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_UPGRADE:
            op.execute(statement)
        return
    op.execute(BACKFILL)
    for statement in UNSEED:
        op.execute(statement)
    _drop_index_and_triggers(list(_asset_triggers(remote=True)))
    op.execute(f"CREATE VIRTUAL TABLE asset_fts USING fts5({COLUMNS}, {FTS_OPTIONS})")
    for sql in (*_asset_triggers(remote=True).values(), *LINK_TRIGGERS.values()):
        op.execute(sql)
    op.execute(f"INSERT INTO asset_fts(rowid, {COLUMNS}) {_document('1')}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        raise NotImplementedError("a PostgreSQL catalog is never taken below the revision it was created at")
    _drop_index_and_triggers([*_asset_triggers(remote=True), *LINK_TRIGGERS])
    op.execute(f"CREATE VIRTUAL TABLE asset_fts USING fts5({OLD_COLUMNS}, {FTS_OPTIONS})")
    for sql in _asset_triggers(remote=False).values():
        op.execute(sql)
    op.execute(f"INSERT INTO asset_fts(rowid, {OLD_COLUMNS}) {_document('1', remote=False)}")
    for column in reversed(_new_link_columns()):
        op.drop_column("remote_links", column.name)
