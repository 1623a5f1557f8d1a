"""The blank catalog at the newest revision, built by the migrations once per process and copied after.

Why: a new catalog is made by running every migration into an empty file, which costs about a third of a
second of Alembic work (loading each migration script, emitting each DDL statement). The result carries no
data and no time stamps, so it is the same schema every time: a process that creates several catalogs
(the test suite, a user making a new catalog from the catalog dialog after a first one) runs the
migrations once and copies their result with SQLite's backup API afterwards, which takes milliseconds.
The migrations stay the one definition of the schema: the copy is only ever a snapshot of what they built
in this process, never a schema written down a second time.
"""

from __future__ import annotations

import sqlite3
import threading

_lock = threading.Lock()
_blank: dict[str, sqlite3.Connection] = {}


def remember(revision: str, built: sqlite3.Connection) -> None:
    """Keep an in-memory copy of ``built``, a catalog the migrations just brought from empty to
    ``revision``, for the next new catalog of this process."""
    with _lock:
        if revision in _blank:
            return
        snapshot = sqlite3.connect(":memory:", check_same_thread=False)
        built.backup(snapshot)
        _blank[revision] = snapshot


def copy_into(revision: str, target: sqlite3.Connection) -> bool:
    """Write the remembered blank catalog at ``revision`` into ``target`` (an empty database); False when
    this process has not built one yet (the caller then runs the migrations)."""
    with _lock:
        snapshot = _blank.get(revision)
        if snapshot is None:
            return False
        snapshot.backup(target)
    return True
