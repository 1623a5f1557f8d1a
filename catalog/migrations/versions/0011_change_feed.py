"""A server catalog says what changed: every write to a file's row, its tags, collections, previews or site
facts, and to the library folders, sends a notification on the ``atelier_changes`` channel.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Why: on PostgreSQL several machines share one catalog, and a tag, a rating, a download or a move made on
one must show on the others without a restart (``catalog.change_feed`` LISTENs on the channel). The
server delivers a notification to every listener when the writing transaction commits, and never for a
transaction that rolls back, so a listener only ever hears of committed changes.

The payload is a comma-separated list of asset ids (``"12,13,40"``), or ``"root:"`` and a list of library
folder ids. The triggers are statement-level with transition tables: one statement writing 10,000 rows (a
scan batch) sends about twenty notifications of 500 ids each (a payload must stay under 8,000 bytes)
instead of 10,000 single ones, and PostgreSQL drops a payload identical to one already queued in the same
transaction. A renamed tag notifies the files that carry it.

SQLite has no notifications: a process there watches ``PRAGMA data_version`` instead (see
``catalog.change_feed``), so this migration changes nothing on SQLite.

Migrations are frozen history: never import catalog.orm here.
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

CHANNEL = "atelier_changes"
CHUNK = 500  # ids per payload: 500 x 11 characters stays under PostgreSQL's 8,000-byte payload limit

# (table, column naming the asset or root, payload prefix)
WATCHED = (
    ("assets", "id", ""),
    ("asset_tags", "asset_id", ""),
    ("asset_collections", "asset_id", ""),
    ("previews", "asset_id", ""),
    ("remote_links", "asset_id", ""),
    ("roots", "id", "root:"),
)

# Sends ``ids`` (deduplicated, sorted) in payloads of CHUNK ids, each led by ``prefix``.
_SEND = f"""
CREATE FUNCTION atelier_notify_ids(prefix text, ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    FOR payload IN
        SELECT prefix || string_agg(id::text, ',' ORDER BY id)
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / {CHUNK} AS chunk
              FROM (SELECT DISTINCT unnest(ids) AS id) AS distinct_ids
              WHERE id IS NOT NULL) AS numbered
        GROUP BY chunk
    LOOP
        PERFORM pg_notify('{CHANNEL}', payload);
    END LOOP;
END
$$
"""

# One trigger function for every watched table: TG_ARGV[0] is the id column, TG_ARGV[1] the prefix. The
# transition tables are named changed_new / changed_old; each trigger declares those it has.
_ON_WRITE = """
CREATE FUNCTION atelier_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := '{}';
    more bigint[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('SELECT array_agg(%I) FROM changed_new', TG_ARGV[0]) INTO more;
        ids := ids || coalesce(more, '{}');
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        EXECUTE format('SELECT array_agg(%I) FROM changed_old', TG_ARGV[0]) INTO more;
        ids := ids || coalesce(more, '{}');
    END IF;
    IF TG_OP = 'UPDATE' AND TG_ARGV[0] = 'id' THEN
        ids := ARRAY(SELECT DISTINCT unnest(ids));  -- an id column rarely changes: old and new are one
    END IF;
    PERFORM atelier_notify_ids(TG_ARGV[1], ids);
    RETURN NULL;
END
$$
"""

# A renamed tag changes what every file carrying it shows.
_ON_TAG_RENAME = """
CREATE FUNCTION atelier_notify_tag_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM atelier_notify_ids('', ARRAY(
        SELECT t.asset_id FROM asset_tags AS t
        JOIN changed_new AS n ON n.id = t.tag_id
        JOIN changed_old AS o ON o.id = n.id
        WHERE n.name IS DISTINCT FROM o.name));
    RETURN NULL;
END
$$
"""

_TRANSITIONS = {
    "INSERT": "NEW TABLE AS changed_new",
    "UPDATE": "OLD TABLE AS changed_old NEW TABLE AS changed_new",
    "DELETE": "OLD TABLE AS changed_old",
}


def _triggers() -> list[tuple[str, str, str]]:
    """(trigger name, table, CREATE TRIGGER statement) for every watched table and operation: PostgreSQL
    allows transition tables only on a trigger with one event, hence three per table."""
    made = []
    for table, column, prefix in WATCHED:
        for operation, transition in _TRANSITIONS.items():
            name = f"atelier_notify_{table}_{operation.lower()}"
            made.append(
                (
                    name,
                    table,
                    f"CREATE TRIGGER {name} AFTER {operation} ON {table} REFERENCING {transition} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION atelier_notify_change('{column}', '{prefix}')",
                )
            )
    made.append(
        (
            "atelier_notify_tags_update",
            "tags",
            "CREATE TRIGGER atelier_notify_tags_update AFTER UPDATE ON tags "
            f"REFERENCING {_TRANSITIONS['UPDATE']} "
            "FOR EACH STATEMENT EXECUTE FUNCTION atelier_notify_tag_rename()",
        )
    )
    return made


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (_SEND, _ON_WRITE, _ON_TAG_RENAME):
        op.execute(statement)
    for _name, _table, statement in _triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _statement in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for function in (
        "atelier_notify_tag_rename()",
        "atelier_notify_change()",
        "atelier_notify_ids(text, bigint[])",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
