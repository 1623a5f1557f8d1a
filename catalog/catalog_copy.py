"""Copy a whole catalog from one database to another: SQLite into PostgreSQL when a team starts sharing a
library, PostgreSQL back into an SQLite file to take it offline (or to keep a copy).

What the copy keeps: every table's rows with their ids (so links, journals, renders and a later copy back
line up), in one transaction on the target (an interrupted copy leaves the target as it was), the target's
id sequences reset past the copied ids (a new row after the copy never collides with a copied one), and the
search index rebuilt by the target's own triggers (it is derived data: each database keeps it in its own
form, FTS5 or ``tsvector``). The target is brought to this version's schema first; the source must already
be at it (``atelier copy-catalog`` migrates it first where it can be written).

A target that already holds a library is refused unless ``replace=True``: then its rows are deleted in the
same transaction as the copy, so it holds either its old library or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from catalog.errors import CatalogError
from catalog.migrate import require_head, upgrade
from catalog.orm import Base
from core.wording import counted

BATCH = 1000
# Derived or private to a database: rebuilt by the target's triggers, or Alembic's own bookkeeping.
SKIPPED = frozenset({"asset_fts", "asset_fts_paused", "alembic_version"})
OCCUPIED_BY = ("roots", "assets")


class TargetNotEmptyError(CatalogError):
    """The target database already holds a library; the message says how to replace it."""


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        """``Copied 7 rows (3 assets, 1 mirror, 1 root, 2 tags).``"""
        parts = ", ".join(_rows_of(table, count) for table, count in self.rows.items() if count)
        return f"Copied {counted(self.total, 'row')} ({parts or 'an empty library'})."


def _rows_of(table: str, count: int) -> str:
    """A table's rows in words: "1 mirror", "3 asset tags" (every table's name is a plural in "s")."""
    words = table.replace("_", " ")
    return counted(count, words.removesuffix("s"), words)


def copy_catalog(
    source: Engine,
    target: Engine,
    *,
    replace: bool = False,
    source_name: str = "source",
    target_name: str = "target",
    progress: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every row of ``source`` into ``target`` (see the module docstring)."""
    require_head(source, source_name)
    upgrade(target, backup=False)
    tables = _tables(source, target)
    with source.connect() as reading, _write_transaction(target) as writing:
        if _holds_a_library(writing):
            if not replace:
                raise TargetNotEmptyError(
                    f"The catalog {target_name} already holds a library; "
                    "copy with --replace to delete it and put this one in its place."
                )
            for table in reversed(tables):
                writing.execute(table.delete())
        on_server = writing.dialect.name == "postgresql"
        indexing_at_the_end = on_server and _search_triggers_disabled(writing)
        copied: dict[str, int] = {}
        for table in tables:
            copied[table.name] = _copy_rows(reading, writing, table)
            if progress is not None:
                progress(table.name, copied[table.name])
        if on_server:
            _reset_sequences(writing, tables)
        if indexing_at_the_end:
            _index_for_search(writing)
    return CopyReport(copied)


# PostgreSQL's triggers that keep the search index (migrations 0002, 0006 and 0013), by table.
_SEARCH_TRIGGERS = (
    ("assets", "asset_fts_after_insert"),
    ("assets", "asset_fts_after_update"),
    ("asset_tags", "asset_fts_after_tags_insert"),
    ("asset_tags", "asset_fts_after_tags_update"),
    ("asset_tags", "asset_fts_after_tags_delete"),
    ("tags", "asset_fts_after_tag_rename"),
    ("remote_links", "asset_fts_after_link_change"),
)


def _search_triggers_disabled(connection: Connection) -> bool:
    """Turn the search index's row triggers off for this transaction's copy, if the user may (only the
    tables' owner may): row by row they rebuild an asset's index entry once for the asset and again for
    each of its tags and links (minutes for a 100,000-file catalog); :func:`_index_for_search` builds
    every entry once instead. The change is part of the copy's transaction, so an interrupted copy leaves
    them on. Where the user may not, the copy keeps the triggers (slower, same result)."""
    try:
        with connection.begin_nested():
            _search_triggers(connection, "DISABLE")
    except DBAPIError:
        return False
    return True


def _search_triggers(connection: Connection, action: str) -> None:
    for table, trigger in _SEARCH_TRIGGERS:
        connection.execute(text(f"ALTER TABLE {table} {action} TRIGGER {trigger}"))


def _index_for_search(connection: Connection) -> None:
    """Build every copied asset's search entry in one statement, turn the triggers back on, and give the
    planner the copied tables' statistics (the server's autovacuum would gather them only later, and a
    search planned without them can pick a sequential scan over the whole catalog)."""
    connection.execute(text("SELECT asset_fts_refresh(ARRAY(SELECT id FROM assets))"))
    _search_triggers(connection, "ENABLE")
    connection.execute(text("ANALYZE"))


def _tables(source: Engine, target: Engine) -> list[Table]:
    """The ORM's tables in dependency order (parents first), each narrowed to the columns both databases
    have and that can be written (a generated column is computed by each database)."""
    source_columns = _columns(source)
    target_columns = _columns(target)
    tables: list[Table] = []
    for table in Base.metadata.sorted_tables:
        if table.name in SKIPPED or table.name not in source_columns or table.name not in target_columns:
            continue
        shared = source_columns[table.name] & target_columns[table.name]
        columns = [c for c in table.columns if c.name in shared and c.computed is None]
        tables.append(Table(table.name, MetaData(), *(_wide(c._copy()) for c in columns)))
    return tables


def _wide(column: Column[Any]) -> Column[Any]:
    """``column`` with 64-bit integers: the ORM's ``Integer`` is bound as PostgreSQL's 32-bit ``INTEGER``,
    and sizes and nanosecond times need 64 bits (the migrations make those columns ``BIGINT``)."""
    if isinstance(column.type, Integer) and not isinstance(column.type, BigInteger):
        column.type = BigInteger()
    return column


def _columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}


class _write_transaction:  # noqa: N801 - used as a context manager, named like one
    """One write transaction on ``engine`` (SQLite: ``BEGIN IMMEDIATE`` through the catalog's engine
    option; PostgreSQL: an ordinary transaction)."""

    def __init__(self, engine: Engine) -> None:
        self._context = engine.execution_options(atelier_begin="IMMEDIATE").begin()

    def __enter__(self) -> Connection:
        return self._context.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)  # type: ignore[arg-type]


def _holds_a_library(connection: Connection) -> bool:
    for name in OCCUPIED_BY:
        if connection.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first() is not None:
            return True
    return False


def _copy_rows(reading: Connection, writing: Connection, table: Table) -> int:
    order = list(table.primary_key.columns) or list(table.columns)
    result = reading.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
    count = 0
    for batch in result.partitions(BATCH):
        writing.execute(insert(table), [dict(row._mapping) for row in batch])
        count += len(batch)
    return count


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """Move each serial id's sequence past the largest copied id (SQLite's AUTOINCREMENT does this by
    itself when rows are inserted with their ids)."""
    for table in tables:
        if "id" not in table.columns:
            continue
        sequence = connection.execute(select(func.pg_get_serial_sequence(table.name, "id"))).scalar()
        if sequence is None:
            continue
        highest = connection.execute(select(func.max(table.c.id))).scalar()
        connection.execute(select(func.setval(sequence, highest or 1, highest is not None)))
