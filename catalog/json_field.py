"""A value inside a JSON column, in the words of each database: ``json_field(column, "$.key")``.

SQLite reads it with ``json_extract(column, '$.key')``, which returns the value as SQL (text, integer,
real); PostgreSQL with ``column #>> '{key}'``, which returns text. ``as_integer`` casts the value on both,
for comparisons with ids.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, DateTime, Integer, Text, cast
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class json_field(FunctionElement[Any]):  # noqa: N801 - used like a SQL function
    """``json_field(column, "$.a.b")``: the value at that path (object keys only)."""

    type = Text()
    inherit_cache = True
    name = "json_field"


@compiles(json_field)
def _sqlite(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    column, path = list(element.clauses)
    return f"json_extract({compiler.process(column, **kw)}, {compiler.process(path, **kw)})"


@compiles(json_field, "postgresql")
def _postgresql(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    column, path = list(element.clauses)
    return (
        f"({compiler.process(column, **kw)} #>> "
        f"string_to_array(substr(CAST({compiler.process(path, **kw)} AS text), 3), '.'))"
    )


def as_integer(element: ColumnElement[Any]) -> ColumnElement[int]:
    return cast(element, Integer)


class stored_text(FunctionElement[Any]):  # noqa: N801 - used like a SQL function
    """A column as SQLite stores it, for the row parsers of :mod:`catalog.queries`: JSON and times as
    text (SQLite keeps them as text already; PostgreSQL casts them), every other column as it is."""

    type = Text()
    inherit_cache = True
    name = "stored_text"


@compiles(stored_text)
def _stored_sqlite(element: stored_text, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return compiler.process(column, **kw)


@compiles(stored_text, "postgresql")
def _stored_postgresql(element: stored_text, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = list(element.clauses)
    text = compiler.process(column, **kw)
    if issubclass(column.type._type_affinity or type(None), JSON | DateTime):  # decorated types too
        return f"CAST({text} AS text)"
    return text
