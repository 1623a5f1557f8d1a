"""One SQLite database copied into a new file with SQLite's online backup, or no file at all.

The backup reads page by page under SQLite's own locking, so the copy is consistent even while another
connection writes to the source (its write-ahead log included). A copy cut short (a full disk, a database
that turns out unreadable, Ctrl+C) is removed with its journal before the error goes on: left there it
would pass for a copy. Used for the backup made before a migration (``catalog.migrate``) and for a backup
restored as the catalog (``app.new_catalog``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def copy_database(source: str | Path, target: Path, *, uri: bool = False) -> None:
    """Copies the database at ``source`` (a path, or an SQLite URI with ``uri``) into ``target``."""
    reader = sqlite3.connect(source, uri=uri)
    try:
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer)
        finally:
            writer.close()
    except BaseException:
        for path in (target, target.with_name(f"{target.name}-journal")):
            path.unlink(missing_ok=True)
        raise
    finally:
        reader.close()
