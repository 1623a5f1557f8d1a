"""Record reads inside a Library unit of work: the SQLAlchemy side of :mod:`catalog.queries`.

The statements and the building of records live in :mod:`catalog.queries` as plain SQL, run on the
session's own driver connection (inside its transaction), so the Library, the light
:class:`~catalog.read_connection.CatalogReader` and every module here give the same records. What
stays here is for modules that compose their selects with SQLAlchemy: the column select of a full record
(:func:`select_assets`, raw columns, decoded by :func:`assets_from_rows`) and an id list bound as one
JSON parameter (``IN (SELECT value FROM json_each(?))``) instead of hundreds of bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Text, bindparam, func, select, type_coerce
from sqlalchemy.orm import Session

from catalog import queries
from catalog.db import driver_connection
from catalog.json_field import stored_text
from catalog.orm import ASSETS
from catalog.records import AssetRecord

# Every column as its stored value (paths as stored, JSON and timestamps as text): queries decodes them.
ASSET_COLUMNS = tuple(
    type_coerce(stored_text(ASSETS.c[name]), Text).label(name) for name in queries.ASSET_COLUMN_NAMES
)


def in_id_list(column: Any) -> ColumnElement[bool]:
    """``column IN (<ids>)``, the ids bound as one JSON array in parameter ``ids`` (see :func:`id_list`)."""
    values = func.json_each(bindparam("ids", type_=Text)).table_valued("value")
    return column.in_(select(values.c.value))  # type: ignore[no-any-return]


id_list = queries.id_list


def select_assets() -> Select[Any]:
    """The column select every asset read starts from; callers add WHERE / ORDER BY / LIMIT."""
    return select(*ASSET_COLUMNS)  # type: ignore[return-value]  # typed per column, used as Select[Any]


def assets_from_rows(session: Session, rows: Sequence[Row[Any]]) -> list[AssetRecord]:
    """Records for ``rows`` (from :func:`select_assets`), in the same order."""
    return queries.records_from(driver_connection(session), rows)


def assets_by_ids(session: Session, ids: Sequence[int]) -> list[AssetRecord]:
    """Records for ``ids`` in the same order; unknown ids are skipped."""
    return queries.records_by_ids(driver_connection(session), ids)


def asset_by_id(session: Session, asset_id: int) -> AssetRecord | None:
    return queries.record_by_id(driver_connection(session), asset_id)
