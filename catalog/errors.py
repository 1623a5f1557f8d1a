"""Typed catalog errors, each with a message a user can act on.

SQLAlchemy and sqlite3 exceptions never leave ``catalog/``: :func:`translate_db_error` turns them into these
at the unit-of-work boundary (``CatalogDatabase.session_scope``), so the GUI can show "the library is busy"
instead of a stack trace and the CLI can exit non-zero with the same sentence.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import AtelierError
from core.sizes import human_size

if TYPE_CHECKING:  # the errors are raised and caught by commands that never load SQLAlchemy
    import sqlite3

    from sqlalchemy import exc as sa_exc


class CatalogError(AtelierError):
    """Base of every error the catalog raises; ``message`` (and ``str(error)``) is the human message."""


class DatabaseLockedError(CatalogError):
    """Another writer held the database longer than the busy timeout."""


class DatabaseAccessError(CatalogError):
    """The database file cannot be opened, read or written (permissions, missing folder, full disk)."""


class CatalogUnreachableError(DatabaseAccessError):
    """The catalog's server cannot be reached (stopped, restarting, the network gone): nothing was
    written, and the same change may simply be made again once the server is back."""


class ServerLoginRefusedError(DatabaseAccessError):
    """The catalog's server answered but refused the login (a wrong password, or none given): trying
    again helps only with another password. ``reason`` is the server's words (passwords masked), without
    the command-line hint on how to give the password that the message ends with."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotACatalogError(CatalogError):
    """The file exists but is not an SQLite database, or is damaged."""


class SchemaTooNewError(CatalogError):
    """The database was written by a newer Atelier whose schema this version does not know."""

    @classmethod
    def of_revision(cls, revision: str) -> SchemaTooNewError:
        return cls(
            f"This library was last opened by a newer version of Atelier (schema {revision}). "
            "Update Atelier to open it."
        )


class ReadOnlyCatalogError(CatalogError):
    """A change asked of a catalog opened read-only (its data folder cannot be written)."""

    @classmethod
    def for_folder(cls, folder: object) -> ReadOnlyCatalogError:
        """The one sentence every refused change says, in the CLI and in the window."""
        return cls(
            f"The data folder {folder} is read-only: Atelier can search and show the library but not "
            "change it (make it writable or use --data-dir)."
        )


class MigrationDueError(CatalogError):
    """The catalog's schema is older than this Atelier's and cannot be updated (read-only folder)."""


class CatalogInUseError(CatalogError):
    """Another Atelier has the catalog open: it is not set aside under it (``app.catalog_users``)."""


class CatalogMissingError(CatalogError):
    """The catalog file is not there although this data folder had one: never silently replaced."""


class LibraryClosedError(CatalogError):
    """A call arrived after :meth:`Library.close`."""


class NotFoundError(CatalogError, LookupError):
    """An id (asset, root, preview) that is not in the catalog."""


class ConflictError(CatalogError):
    """A write would break a uniqueness rule (two assets at one path, one root added twice...)."""


class InvalidValueError(CatalogError, ValueError):
    """A value outside its allowed range (a rating of 7); also a ``ValueError`` for plain callers."""


def translate_db_error(
    error: sa_exc.DBAPIError | sqlite3.Error | Exception, folder: Path | None = None
) -> CatalogError:
    """Map a driver error (as SQLAlchemy wraps it, or straight from ``sqlite3`` or psycopg for the
    plain-SQL reads of ``catalog.queries`` by the light readers) to the typed error the rest of the app
    understands. ``folder``: the catalog file's folder, named with its free space when the file cannot
    be written (a full disk shows as "database or disk is full" or, at connect, "disk I/O error").

    The mapping reads SQLite's message because the Python driver reports most failures as one
    ``OperationalError`` class; the original exception stays chained as ``__cause__`` for logs.
    """
    import sqlite3

    if isinstance(error, sqlite3.Error):
        text, integrity = str(error), isinstance(error, sqlite3.IntegrityError)
    elif not hasattr(error, "orig"):  # a driver's own error (psycopg, catalog.pg_reader): no SQLAlchemy
        text = str(error)
        integrity = any(kind.__name__ == "IntegrityError" for kind in type(error).__mro__)
    else:
        from sqlalchemy import exc as sa_exc

        text = str(error.orig) if error.orig is not None else str(error)
        integrity = isinstance(error, sa_exc.IntegrityError)
    lowered = text.lower()
    if any(sign in lowered for sign in _UNREACHABLE_SIGNS):
        return CatalogUnreachableError(f"The catalog server cannot be reached ({_connection_reason(text)})")
    if integrity:
        return ConflictError(f"The change conflicts with what is already in the library ({text}).")
    if "database is locked" in lowered or "database table is locked" in lowered:
        return DatabaseLockedError(
            "The library database is busy: another Atelier window or program is writing to it. "
            "Try again in a moment."
        )
    if "file is not a database" in lowered or "malformed" in lowered:
        return NotACatalogError(
            f"The library database is damaged or is not an Atelier catalog ({text}). "
            "Restore a backup or choose another data folder."
        )
    if "unable to open" in lowered or "readonly" in lowered or "disk i/o" in lowered or "full" in lowered:
        return DatabaseAccessError(_cannot_write(text, folder))
    return CatalogError(f"The library database reported an error: {text}")


def _cannot_write(text: str, folder: Path | None) -> str:
    """The one line for a catalog file that cannot be written: where, and how much room is left there, so
    a full disk is told apart from a permission problem without a second command."""
    if folder is None:
        return (
            f"The library database cannot be written ({text}). Check the folder's permissions and free space."
        )
    try:
        room = f"{human_size(shutil.disk_usage(folder).free)} free there"
    except OSError:
        room = "its free space cannot be read"
    return (
        f"The library database in {folder} cannot be written ({text}; {room}). "
        "Free some space on that disk or check the folder's permissions, then try again."
    )


# What libpq (psycopg) says when there is no server to talk to, or it went away mid-session.
_UNREACHABLE_SIGNS = (
    "connection refused",
    "could not connect",
    "connection failed",
    "server closed the connection",
    "terminating connection due to administrator command",
    "the connection is closed",
    "the connection is lost",
    "no connection to the server",
    "connection timeout expired",
    "could not translate host name",
    "could not receive data from server",
    "could not send data to server",
)


def _connection_reason(text: str) -> str:
    """The driver's reason in a few words: "Connection refused", not the host/port preamble and hints."""
    first = text.strip().splitlines()[0] if text.strip() else "no answer"
    return first.rsplit("failed: ", 1)[-1].strip() or first
