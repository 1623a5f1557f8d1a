"""How a profile reaches its catalog: read-only where its folder cannot be written, never a silent new
catalog where one was, and a new or restored catalog only when the user asks for it.

* **Read-only data folder** (a read-only mount, a folder or catalog without write permission): the
  catalog is opened read-only (see ``catalog.db``), no migration, recovery or settings write is tried,
  and every change is refused with ``ReadOnlyCatalogError``'s one sentence.
* **A catalog that was there before** and is now missing, empty, unreadable, a folder, overwritten or
  truncated is reported (``CatalogMissingError``, ``DatabaseAccessError``, ``NotACatalogError``) and left
  exactly as it is. Atelier knows a catalog existed because ``settings.json`` records when it was created
  (``catalog_created_at``); for a profile older than that record, a migration backup next to the catalog,
  a leftover ``-wal`` file, or the window's first start having been done say the same.
* **A fresh data folder** still gets its catalog silently, as it always did.
* ``app.new_catalog.start_new_catalog`` (``atelier new-catalog``, the window's dialog) moves whatever
  is at the catalog's path aside under a dated name, then creates an empty catalog or copies a chosen
  backup into place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from app.live_settings import LiveSettings
from catalog.db_file import WAL_SUFFIXES, CatalogFileState, examine_catalog_file

if TYPE_CHECKING:  # catalog.errors imports SQLAlchemy: loaded only when a catalog is opened or refused
    from catalog.errors import CatalogError
    from catalog.library import Library
    from catalog.machine_paths import Machine
    from catalog.read_connection import CatalogReader

NEW_CATALOG_COMMAND = "atelier new-catalog"
_COMMAND_HINT = f" with `{NEW_CATALOG_COMMAND}`"
_RESTORE = f"restore it from a backup, or start a new empty library{_COMMAND_HINT}"


def without_command_hint(message: str) -> str:
    """A catalog problem as the window says it: its dialog offers the new library as a button."""
    return message.replace(_COMMAND_HINT, "")


def data_folder_read_only(data_dir: Path, catalog: Path) -> bool:
    """Whether Atelier cannot write its data folder (or the catalog in it).

    ``os.access`` answers for this process: a folder without write permission for this user, or any
    folder on a read-only mount (``EROFS``, which even root gets); a data folder not made yet is judged
    by the nearest folder above it that exists.
    """
    folder = next((part for part in (data_dir, *data_dir.parents) if part.exists()), data_dir)
    if not os.access(folder, os.W_OK):
        return True
    return catalog.is_file() and not os.access(catalog, os.W_OK)


def catalog_was_created(catalog: Path, settings: LiveSettings) -> bool:
    """Whether this data folder had a catalog before (so a missing one was lost, not never made)."""
    if settings.catalog_created_at or settings.first_start_done:
        return True
    folder = catalog.parent
    if any(catalog.with_name(catalog.name + suffix).exists() for suffix in WAL_SUFFIXES):
        return True
    return folder.is_dir() and any(folder.glob(f"{catalog.name}.before-*.bak"))


def catalog_problem(catalog: Path, settings: LiveSettings, *, read_only: bool) -> CatalogError | None:
    """What keeps the catalog from being opened, as the error to report; None when it can be opened
    (or made: a fresh data folder). Reads one header, imports no SQLAlchemy (the window asks this
    before it is drawn)."""
    problem = examine_catalog_file(catalog)
    if problem is None:
        return None
    from catalog.errors import CatalogMissingError, DatabaseAccessError, NotACatalogError

    fresh = problem.state in (CatalogFileState.MISSING, CatalogFileState.EMPTY)
    if fresh and not catalog_was_created(catalog, settings):
        if read_only:
            return CatalogMissingError(
                f"The data folder {catalog.parent} is read-only and holds no catalog yet: make it writable, "
                "or use --data-dir with a folder Atelier can write."
            )
        return None  # a first start: the catalog is made, as always
    if problem.state is CatalogFileState.MISSING:
        return CatalogMissingError(f"{problem.sentence} (it was there before). {_RESTORE.capitalize()}.")
    if problem.state is CatalogFileState.UNREADABLE:
        return DatabaseAccessError(
            f"{problem.sentence}. It was left as it is: fix its permissions, {_RESTORE} "
            "(which moves it aside)."
        )
    error = DatabaseAccessError if problem.state is CatalogFileState.FOLDER else NotACatalogError
    return error(f"{problem.sentence}. It was left as it is: {_RESTORE} (which moves it aside).")


def open_catalog(
    catalog: Path, settings: LiveSettings, *, read_only: bool, machine: Machine | None = None
) -> Library:
    """The profile's library: checked first, then opened read-only or migrated and recovered.

    A new catalog, or an existing one first opened by this version, is recorded in the settings, so
    that losing it later is noticed.
    """
    from catalog.db import CatalogDatabase
    from catalog.library import Library
    from catalog.migrate import require_head

    problem = catalog_problem(catalog, settings, read_only=read_only)
    if problem is not None:
        raise problem
    if read_only:
        database = CatalogDatabase(catalog, read_only=True)
        try:
            require_head(database.engine, str(catalog))
        except BaseException:
            database.close()
            raise
        # A move cut off by a crash is completed by the next writable start; until then the catalog is
        # read as it stands.
        return Library(database, machine)

    from catalog.migrate import refuse_foreign

    if catalog.exists():  # another program's database is refused before anything writes to it
        probe = CatalogDatabase(catalog, read_only=True)
        try:
            refuse_foreign(probe.engine, str(catalog))
        finally:
            probe.close()
    library = Library.open(catalog, machine)
    # A move, delete or organize cut off by a crash or a kill is completed before anything reads the
    # catalog: one indexed query when nothing is pending, and the organize engine loaded only when some is.
    if library.applying_operations():
        from app.organize.engine import recover

        recover(library)
    record_catalog(settings)
    return library


def open_catalog_reader(
    catalog: Path, settings: LiveSettings, *, read_only: bool, machine_id: str | None = None
) -> CatalogReader | None:
    """The profile's catalog for reading only, through ``sqlite3`` alone (``catalog.read_connection``),
    after the same checks as :func:`open_catalog`; None when :func:`open_catalog` must open it (no
    catalog yet, a migration due, another program's database, an interrupted operation...), so every
    such case keeps its one behaviour and message."""
    from catalog.read_connection import open_reader

    problem = catalog_problem(catalog, settings, read_only=read_only)
    if problem is not None:
        raise problem
    reader = open_reader(catalog, read_only=read_only, machine_id=machine_id)
    if reader is not None:
        record_catalog(settings)
    return reader


def record_catalog(settings: LiveSettings) -> None:
    """Note in ``settings.json`` that this data folder has a catalog (once; a failed write is harmless:
    the catalog is there, and the next start records it)."""
    if settings.catalog_created_at or settings.read_only:
        return
    from datetime import UTC, datetime  # here: every start after the first has returned above

    settings.catalog_created_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        settings.save()
    except OSError:
        settings.catalog_created_at = ""
