"""The column type of every absolute path in the catalog: stored canonical, read as this machine's path.

See :mod:`catalog.machine_paths` for why. The type does both of a path's conversions on the way in and
out: the machine's translation (local <-> canonical, by the unit of work's map) and the text form of names
that are not UTF-8 (:mod:`catalog.path_text`). Comparisons bind through it too, so ``path = :p``,
``path IN (...)`` and ``path LIKE 'folder/%'`` written with this machine's paths find the canonical rows.

Plain-SQL reads that bypass column types (:mod:`catalog.queries`, ``text()`` statements) call
:func:`catalog.machine_paths.read_path` / :func:`~catalog.machine_paths.write_path` themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

from catalog.machine_paths import read_path, write_path


class SharedPath(TypeDecorator[str]):
    """An absolute file path: canonical in the database, this machine's path in Python."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else write_path(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else read_path(value)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return self
