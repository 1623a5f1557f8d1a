"""Ids typed on the command line: whole numbers a catalog row can have.

SQLite stores integers in 64 bits, so a longer number typed by hand ("show 99999999999999999999999")
cannot name any row; it is refused as "no such id" instead of reaching the database and overflowing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.errors import NotFoundError

if TYPE_CHECKING:
    from catalog.read_connection import CatalogReads
    from catalog.records import AssetRecord, RootRecord

MAX_ROW_ID = 2**63 - 1  # SQLite's largest INTEGER


def is_row_id(value: int) -> bool:
    """Whether ``value`` could be the id of a catalog row."""
    return 0 <= value <= MAX_ROW_ID


def row_id(text: str) -> int:
    """An argparse ``type`` for an id: a whole number within SQLite's range (one-line error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an id is a whole number, not {text!r}") from None
    if not -MAX_ROW_ID <= value <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"no id is as large as {text}")
    return value


def asset_by_id_or_path(library: CatalogReads, target: str) -> AssetRecord:
    """The asset ``target`` names: a row id (unless a file of that name exists here) or a path.

    Every command that takes an asset accepts either, the way users copy them from ``search`` or a file
    manager; a path is resolved (``~``, relative, symlinks) before it is looked up. Raises NotFoundError
    with a line that says what to do.
    """
    text = target.strip()
    if text.isdigit() and not Path(text).exists():
        record = library.get(int(text)) if is_row_id(int(text)) else None
        if record is None:
            raise NotFoundError(f"no asset with id {text} in the library (see `atelier search`)")
        return record
    path = Path(text).expanduser()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (cataloged as unreadable) has no end to resolve to
        resolved = path.absolute()
    record = library.get_by_path(resolved) or library.get_by_path(path.absolute())
    if record is None:
        raise NotFoundError(f"no asset with id or path {target!r} in the library")
    return record


def assets_by_ids_or_paths(library: CatalogReads, targets: Sequence[str]) -> list[AssetRecord]:
    """:func:`asset_by_id_or_path` for each of ``targets``, in order, each asset once."""
    found: dict[int, AssetRecord] = {}
    for target in targets:
        record = asset_by_id_or_path(library, target)
        found.setdefault(record.id, record)
    return list(found.values())


def root_by_id_name_or_path(roots: Sequence[RootRecord], target: str) -> RootRecord | None:
    """The library folder ``target`` names, as ``roots`` lists it: its id (unless a folder of that name
    exists here), its name (case does not matter) or its path (``~``, relative and links resolved; this
    machine's path or the one the catalog stores). None when it names none; each command says so its way."""
    text = target.strip()
    if text.isdigit() and not Path(text).exists():
        return next((root for root in roots if is_row_id(int(text)) and root.id == int(text)), None)
    wanted = " ".join(text.split()).casefold()  # as the catalog compares names (catalog.shared_roots)
    named = next((root for root in roots if root.name and root.name.casefold() == wanted), None)
    if named is not None:
        return named
    try:
        resolved = str(Path(text).expanduser().resolve())
    except (OSError, RuntimeError):  # a link loop names no folder
        return None
    return next((root for root in roots if resolved in (root.path, root.canonical_path)), None)
