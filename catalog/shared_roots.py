"""Library folders by name, and where each machine reaches them (the writes and listing of ``roots`` /
``root_paths`` / ``machines``, migration 0012; the translation itself is :mod:`catalog.machine_paths`).

Rules, each checked before anything is written (one unit of work, one transaction):

* a folder's name is unique without regard to case ("Lora" and "lora" would be one name to a person
  typing it); a folder added without a name is named after its last path component, made unique with
  " 2", " 3"...;
* a machine maps a folder to one existing folder of its own, never inside or around another library
  folder as this machine reaches it (a file would then belong to two folders, as ``scan`` refuses), and
  to one that holds the folder's files when it has some (``catalog.known_folder.require_its_files``; a
  user sure of the path, a share not mounted yet, says ``force``);
* the machine that adds a folder records its own path too, so a listing names every machine's path.
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from catalog import queries
from catalog.db import driver_connection, utc_now
from catalog.dialect_insert import insert_for
from catalog.errors import ConflictError, InvalidValueError, NotFoundError
from catalog.known_folder import (
    KnownSharedFolderError,
    NotTheSharedFolderError,
    recognise,
    require_its_files,
)
from catalog.machine_paths import Machine
from catalog.orm import MachineRow, Root, RootPath
from catalog.path_text import from_stored
from catalog.places import is_under
from core.shell_words import map_command, shell_word
from core.taxonomy import LibraryLayout

MAX_NAME = 100


def clean_name(name: str) -> str:
    """``name`` as stored: trimmed, one line of text, at most :data:`MAX_NAME` characters."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidValueError("A library folder's name cannot be empty.")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in cleaned):
        raise InvalidValueError("A library folder's name must be plain text (no control characters).")
    if len(cleaned) > MAX_NAME:
        raise InvalidValueError(f"A library folder's name has at most {MAX_NAME} characters.")
    return cleaned


def _names(session: Session, *, besides: int | None = None) -> dict[str, tuple[int, str]]:
    """Every folder's name by its case-folded form: (id, name)."""
    stmt = select(Root.id, Root.name).where(Root.name.is_not(None))
    return {
        str(name).casefold(): (root_id, str(name))
        for root_id, name in session.execute(stmt)
        if root_id != besides
    }


def _free_name(session: Session, base: str) -> str:
    taken = _names(session)
    name, number = base, 2
    while name.casefold() in taken:
        name, number = f"{base} {number}", number + 1
    return name


def default_name(path: str) -> str:
    """The name of a folder added without one: its last path component."""
    last = re.split(r"[\\/]", path.rstrip("/\\"))[-1] or path
    try:
        return clean_name(last)
    except InvalidValueError:
        return "library"


def _require_free(session: Session, name: str, root_id: int | None) -> None:
    other = _names(session, besides=root_id).get(name.casefold())
    if other is not None:
        raise ConflictError(f"Another library folder is already named {other[1]!r}: choose another name.")


def root_named(session: Session, name: str) -> int:
    """The id of the folder called ``name`` (case does not matter)."""
    found = _names(session).get(" ".join(name.split()).casefold())
    if found is None:
        known = sorted(value for _id, value in _names(session).values())
        listed = ", ".join(repr(value) for value in known) if known else "none yet"
        raise NotFoundError(f"No library folder is named {name!r} (the library's folders: {listed}).")
    return found[0]


def register(session: Session, machine: Machine) -> None:
    """Record (or refresh) this machine's name for listings."""
    insert = insert_for(session)
    values: dict[str, Any] = {"id": machine.id, "name": machine.name, "seen_at": utc_now()}
    stmt = insert(MachineRow).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"], set_={"name": machine.name, "seen_at": values["seen_at"]}
        )
    )


def _record_path(session: Session, root_id: int, machine: Machine, path: str) -> None:
    register(session, machine)
    insert = insert_for(session)
    stmt = insert(RootPath).values(root_id=root_id, machine=machine.id, path=path)
    session.execute(stmt.on_conflict_do_update(index_elements=["root_id", "machine"], set_={"path": path}))


def add_root(
    session: Session, path: str, layout: LibraryLayout, *, name: str | None, machine: Machine | None
) -> int:
    """Add the folder at ``path`` (this machine's path; stored canonical) or update the one there: its
    layout, and its name when ``name`` is given. Returns its id."""
    wanted = clean_name(name) if name is not None else None
    root_id = session.scalar(select(Root.id).where(Root.path == path))
    if root_id is None and machine is not None:
        _refuse_known_folder(session, path, machine)
    if root_id is None:
        if wanted is not None:
            _require_free(session, wanted, None)
        root = Root(
            path=path,
            layout=layout.value,
            added_at=utc_now(),
            name=wanted or _free_name(session, default_name(path)),
        )
        session.add(root)
        session.flush()
        root_id = root.id
    else:
        values: dict[str, Any] = {}
        if _may_set_layout(session, root_id, path, machine):
            values["layout"] = layout.value
        if wanted is not None:
            _require_free(session, wanted, root_id)
            values["name"] = wanted
        if values:
            session.execute(update(Root).where(Root.id == root_id).values(**values))
    if machine is not None:
        _record_path(session, root_id, machine, path)
    return root_id


def _may_set_layout(session: Session, root_id: int, path: str, machine: Machine | None) -> bool:
    """Whether adding (or scanning) an existing folder at ``path`` may set its layout from what is there.

    A folder other machines use has one layout for all of them: the one its files are laid out in. A
    machine whose folder does not hold those files (mapped to the wrong place with ``--force``, a share not
    mounted: an empty folder reads as a flat layout) would change it for everyone, and downloads on the
    other machines would land in the wrong sub-folder. So the layout of a shared folder follows only a
    folder that holds its files (:func:`catalog.known_folder.require_its_files`); a machine's own folder
    follows whatever is there, as it always did.
    """
    if machine is None:
        return True
    others = select(RootPath.machine).where(RootPath.root_id == root_id, RootPath.machine != machine.id)
    if session.execute(others.limit(1)).first() is None:
        return True
    connection = driver_connection(session)
    stored = connection.execute("SELECT name, path FROM roots WHERE id = :id", {"id": root_id}).fetchone()
    try:
        require_its_files(connection, root_id, str(stored[0]), from_stored(str(stored[1])), path)
    except NotTheSharedFolderError:
        return False
    return True


def _refuse_known_folder(session: Session, path: str, machine: Machine) -> None:
    """Refuse to add, as a new folder, a shared folder this machine reaches at a path of its own (see
    :mod:`catalog.known_folder`): its files would be cataloged and hashed a second time."""
    known = recognise(driver_connection(session), path, machine.id)
    if known is None:
        return
    relation = "is" if known.folder == path else "holds" if is_under(known.folder, path) else "is inside"
    where = "" if known.folder == path else f", here at {known.folder}"
    raise KnownSharedFolderError(
        f"{path} {relation} the shared library folder {known.name!r}{where} ({known.evidence}): map it on "
        f"this machine instead: {map_command(known.name, shell_word(known.folder))}",
        name=known.name,
        folder=known.folder,
    )


def map_root(session: Session, name: str, path: str, machine: Machine, *, force: bool = False) -> int:
    """Record that ``machine`` reaches the folder called ``name`` at ``path`` (an existing folder there,
    checked by the caller). Unless ``force``, ``path`` must hold at least one of the files the catalog
    lists in the folder (:func:`catalog.known_folder.require_its_files`). Returns the folder's id."""
    root_id = root_named(session, name)
    real = os.path.realpath(path)  # a link into another folder is that folder
    for other in queries.root_records(driver_connection(session)):
        if other.id == root_id:
            continue
        other_real = os.path.realpath(other.path)
        inside = is_under(path, other.path) or is_under(real, other_real)
        if inside or is_under(other.path, path) or is_under(other_real, real):
            where = "is inside" if inside else "holds"
            raise ConflictError(
                f"{path} {where} the library folder {other.name!r} ({other.path}) on this machine: "
                "map each shared folder to its own place."
            )
    if not force:
        connection = driver_connection(session)
        stored = connection.execute("SELECT name, path FROM roots WHERE id = :id", {"id": root_id}).fetchone()
        require_its_files(connection, root_id, str(stored[0]), from_stored(str(stored[1])), path)
    _record_path(session, root_id, machine, path)
    return root_id


def unmap_root(session: Session, name: str, machine: Machine) -> int:
    """Forget this machine's own path for the folder called ``name`` (it is then reached at its canonical
    path again). Returns the folder's id."""
    root_id = root_named(session, name)
    result = session.execute(
        delete(RootPath).where(RootPath.root_id == root_id, RootPath.machine == machine.id)
    )
    removed = int(getattr(result, "rowcount", 0) or 0)
    if not removed:
        raise NotFoundError(f"This machine has no path of its own for the library folder {name!r}.")
    return root_id
