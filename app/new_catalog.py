"""Starting a new catalog where one cannot be used: ``atelier new-catalog`` and the window's dialog.

Whatever is at the catalog's path is moved aside under a dated name (never deleted), then an empty catalog
is created or a chosen backup copied into place. Its own module: nothing of it is needed to open a
catalog, and its record type is one class less to make before the window's first frame.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.catalog_access import record_catalog
from app.catalog_users import other_users
from app.live_settings import LiveSettings
from catalog.db_file import WAL_SUFFIXES, CatalogFileState, examine_catalog_file, known_revisions


@dataclass(frozen=True, slots=True)
class NewCatalog:
    """What ``start_new_catalog`` did: the catalog made, and where the old file (if any) went."""

    catalog: Path
    set_aside: tuple[Path, ...]
    restored_from: Path | None

    def __str__(self) -> str:
        if self.restored_from is not None:
            made = f"Restored the catalog {self.catalog} from {self.restored_from}"
        else:
            made = f"Started a new empty library: {self.catalog}"
        if not self.set_aside:
            return f"{made}."
        return f"{made}; the old catalog was kept as {self.set_aside[0]}."


def start_new_catalog(
    catalog: Path, settings: LiveSettings, *, read_only: bool, source: Path | None = None
) -> NewCatalog:
    """Move what is at ``catalog`` aside and create an empty catalog there, or a copy of ``source``.

    ``source`` must be an Atelier catalog this version can open (checked by opening it read-only, before
    anything is moved: a backup from a newer Atelier is refused with the catalog in place untouched);
    it is copied with SQLite's backup, so a source in use by another program is copied consistently.
    Nothing is deleted: the old file (and its ``-wal``/``-shm``) is renamed ``<name>.set-aside-<time>``.
    """
    from catalog.errors import CatalogError, CatalogInUseError, ReadOnlyCatalogError

    if read_only:
        raise ReadOnlyCatalogError.for_folder(catalog.parent)
    users = other_users(catalog)
    if users:
        raise CatalogInUseError(
            f"The catalog {catalog} is open in Atelier (process {users[0]}): close that window first, then "
            "start the new catalog (it would go on writing to the file set aside)."
        )
    if source is not None:
        source = source.expanduser().resolve()
        if source == catalog.resolve():
            raise CatalogError(f"{source} is the catalog being replaced: choose a backup or another catalog.")
        _check_is_catalog(source)
    catalog.parent.mkdir(parents=True, exist_ok=True)
    set_aside = _set_aside(catalog)
    if source is not None:
        _copy_catalog(source, catalog)
    from catalog.library import Library

    Library.open(catalog).close()  # made (or brought to this version's schema) now, not on first use
    settings.catalog_created_at = ""
    record_catalog(settings)
    return NewCatalog(catalog, set_aside, source)


def _check_is_catalog(source: Path) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from catalog.db import CatalogDatabase
    from catalog.errors import CatalogMissingError, NotACatalogError, SchemaTooNewError
    from catalog.migrate import current_revision

    problem = examine_catalog_file(source)
    if problem is not None:
        raise (CatalogMissingError if problem.state is CatalogFileState.MISSING else NotACatalogError)(
            f"{problem.sentence}: choose another file."
        )
    database = CatalogDatabase(source, read_only=True)
    try:
        revision = current_revision(database.engine)
    except SQLAlchemyError as error:  # "file is not a database", "malformed"...
        why = getattr(error, "orig", None) or error
        raise NotACatalogError(
            f"{source} cannot be read as a catalog ({why}): choose another file."
        ) from error
    finally:
        database.close()
    if revision is None:
        raise NotACatalogError(
            f"{source} is an SQLite database but not an Atelier catalog: choose another file."
        )
    if revision not in known_revisions():  # refused now, before the catalog in place is moved aside
        raise SchemaTooNewError(
            f"{source} was written by a newer version of Atelier (schema {revision}): update Atelier to "
            "restore it, or choose another file. Nothing was changed."
        )


def _set_aside(catalog: Path) -> tuple[Path, ...]:
    """Rename the catalog and its companions to ``<name>.set-aside-<time>`` (never deleting anything)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    moved: list[Path] = []
    for suffix in ("", *WAL_SUFFIXES):
        path = catalog.with_name(catalog.name + suffix)
        if not (path.exists() or path.is_symlink()):
            continue
        target = catalog.with_name(f"{catalog.name}.set-aside-{stamp}{suffix}")
        number = 2
        while target.exists() or target.is_symlink():
            target = catalog.with_name(f"{catalog.name}.set-aside-{stamp}-{number}{suffix}")
            number += 1
        path.rename(target)
        moved.append(target)
    return tuple(moved)


def _copy_catalog(source: Path, target: Path) -> None:
    """Copy an SQLite database page by page (consistent even while another program writes to it)."""
    partial = target.with_name(f".{target.name}.restoring")
    partial.unlink(missing_ok=True)
    from catalog.db_file import read_only_uri
    from catalog.sqlite_copy import copy_database

    try:
        copy_database(read_only_uri(source), partial, uri=True)
    except sqlite3.Error as error:
        from catalog.errors import NotACatalogError

        raise NotACatalogError(f"{source} could not be copied ({error}): choose another file.") from error
    partial.replace(target)
