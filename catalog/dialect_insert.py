"""``INSERT ... ON CONFLICT`` in the words of the session's database.

SQLite and PostgreSQL spell "insert, or leave / update the row already there" the same way
(``ON CONFLICT (...) DO NOTHING / DO UPDATE``), but SQLAlchemy builds it from each dialect's own
``insert``; the catalog's writes pick it here, so one write path serves both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session) -> Any:
    """The ``insert`` construct with ``on_conflict_do_nothing``/``on_conflict_do_update`` for ``session``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert
