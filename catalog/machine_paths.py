"""One library on shared storage, reached by each machine at its own path.

A team keeps its models on a NAS: ``/mnt/nas/sd`` on one machine, ``Z:\\sd`` on another, ``/Volumes/sd``
on a third. The catalog's rows are shared (one row per file, its hashes, Civitai links, tags and notes),
so every path column holds the **canonical** path: the one of the machine that added the library folder
(``roots.path``). Each other machine records where the folder is mounted there (``root_paths``: root,
machine, path), and its catalog translates at the boundary:

* a path written by this machine is its local path made canonical (:meth:`PathMap.to_canonical`);
* a path read is the canonical path made local (:meth:`PathMap.to_local`);

by the longest mapped prefix, with the separators of the other side (a Windows path below ``Z:\\sd``
becomes ``/mnt/nas/sd/...`` and back). A path below no mapped folder is left as it is, and a machine that
maps nothing (every single-machine user) pays nothing: :data:`IDENTITY` is never asked.

The translation in effect is the one of the unit of work running in this thread: the catalog sets it for
the length of a transaction (:func:`in_effect`), the ORM's path columns use it
(:class:`catalog.shared_path.SharedPath`) and the plain-SQL reads of :mod:`catalog.queries` call
:func:`read_path` / :func:`write_path` where they turn stored text into paths. Two Library objects of
two machines in one process (the tests) each translate their own units of work, since each transaction
sets its own map. Outside a unit of work (copying a catalog, migrations) nothing is translated: rows
are copied as stored.

Free of SQLAlchemy: the light ``sqlite3`` reader (:mod:`catalog.read_connection`) uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from catalog.path_text import from_stored, to_stored

_WINDOWS = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


class _Reads(Protocol):
    def execute(self, sql: str, parameters: dict[str, Any] = ..., /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Machine:
    """This computer as the catalog knows it: a stable ``id`` (a UUID kept in the settings) and the
    ``name`` people read in listings (the host name)."""

    id: str
    name: str


def is_windows_path(path: str) -> bool:
    """A drive path (``Z:\\sd``) or a UNC share (``\\\\nas\\sd``): its separator is the backslash."""
    return _WINDOWS.match(path) is not None


def _trimmed(path: str) -> str:
    """``path`` without trailing separators, except a filesystem's own top (``/``, ``Z:\\``)."""
    if is_windows_path(path):
        trimmed = path.rstrip("\\/")
        return trimmed + "\\" if re.fullmatch(r"[A-Za-z]:", trimmed) else trimmed
    return path.rstrip("/") or "/"


@dataclass(frozen=True, slots=True)
class _Prefix:
    """One side of a mapping: a folder and how to recognise paths below it."""

    folder: str
    windows: bool
    below: str  # the folder with its separator: what every path below it starts with

    @classmethod
    def of(cls, folder: str) -> _Prefix:
        folder = _trimmed(folder)
        windows = is_windows_path(folder)
        below = folder if folder.endswith(("/", "\\")) else folder + ("\\" if windows else "/")
        return cls(folder, windows, below)

    def rest(self, path: str) -> str | None:
        """What follows the folder in ``path`` (empty or starting with a separator), None when ``path``
        is not the folder or below it. Windows folders compare without case and take either separator."""
        if path.startswith(self.below):
            return path[len(self.folder) :]
        if path == self.folder:
            return ""
        if not self.windows:
            return None
        size = len(self.folder)
        if path[:size].casefold() != self.folder.casefold():
            return None
        rest = path[size:]
        if not rest or self.folder.endswith(("/", "\\")) or rest[0] in "/\\":
            return rest
        return None

    def join(self, rest: str, source_windows: bool) -> str:
        """This folder followed by ``rest`` written with the other side's separators."""
        if source_windows != self.windows:
            rest = rest.replace("\\", "/") if source_windows else rest.replace("/", "\\")
        if self.below == self.folder:  # a filesystem's top ("/", "Z:\\"): it ends with its separator
            rest = rest.lstrip("/\\")
        return self.folder + rest


def _translate(path: str, pairs: tuple[tuple[_Prefix, _Prefix], ...]) -> str:
    for source, target in pairs:
        rest = source.rest(path)
        if rest is not None:
            return target.join(rest, source.windows)
    return path


@dataclass(frozen=True, slots=True)
class PathMap:
    """This machine's folders for the shared roots: pairs of (canonical path, local path); and
    ``unplaced``, the roots another machine added and this one never placed (its scans leave them alone:
    the stored path may be another folder here)."""

    pairs: tuple[tuple[str, str], ...] = ()
    _to_local: tuple[tuple[_Prefix, _Prefix], ...] = ()
    _to_canonical: tuple[tuple[_Prefix, _Prefix], ...] = ()
    unplaced: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls, pairs: Iterator[tuple[str, str]] | list[tuple[str, str]] | tuple[tuple[str, str], ...]
    ) -> PathMap:
        """The map of ``(canonical, local)`` pairs; a folder mapped to itself is left out (nothing to do)."""
        kept = tuple(
            sorted({(_trimmed(c), _trimmed(local)) for c, local in pairs if _trimmed(c) != _trimmed(local)})
        )
        prefixes = [(_Prefix.of(c), _Prefix.of(local)) for c, local in kept]
        # Longest prefix first: a folder nested in another mapped folder wins for the paths below it.
        to_local = tuple(sorted(prefixes, key=lambda pair: -len(pair[0].folder)))
        to_canonical = tuple(sorted(((b, a) for a, b in prefixes), key=lambda pair: -len(pair[0].folder)))
        return cls(kept, to_local, to_canonical)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def to_local(self, canonical: str) -> str:
        """A path as the catalog stores it (canonical) as this machine reaches it."""
        return _translate(canonical, self._to_local) if self.pairs else canonical

    def to_canonical(self, local: str) -> str:
        """A path of this machine as the catalog stores it."""
        return _translate(local, self._to_canonical) if self.pairs else local


IDENTITY = PathMap()
_ACTIVE: ContextVar[PathMap] = ContextVar("atelier_machine_paths", default=IDENTITY)


def active() -> PathMap:
    """The translation of the unit of work running in this thread (:data:`IDENTITY` outside one)."""
    return _ACTIVE.get()


@contextmanager
def in_effect(paths: PathMap) -> Iterator[None]:
    """Translate with ``paths`` until the block ends (one unit of work)."""
    token = _ACTIVE.set(paths)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def read_path(stored: str) -> str:
    """A path column's stored text as this machine's path (exact bytes of names that are not UTF-8)."""
    paths = _ACTIVE.get()
    path = stored if stored.isascii() else from_stored(stored)
    return paths.to_local(path) if paths.pairs else path


def path_reader() -> Callable[[str], str] | None:
    """:func:`read_path` for the many rows of one read, the unit of work's map looked up once; None where
    this machine maps nothing (the caller then only decodes: ``stored if stored.isascii() else
    from_stored(stored)``, inline, as every row of a page or a rescan pays for it)."""
    paths = _ACTIVE.get()
    if not paths.pairs:
        return None
    pairs = paths._to_local
    return lambda stored: _translate(stored if stored.isascii() else from_stored(stored), pairs)


def write_path(local: str) -> str:
    """This machine's path as a path column stores it (canonical, valid Unicode)."""
    paths = _ACTIVE.get()
    return to_stored(paths.to_canonical(local) if paths.pairs else local)


_PLACES = (
    "SELECT p.root_id, CASE WHEN p.machine = :machine THEN 1 ELSE 0 END, r.path, p.path"
    " FROM root_paths AS p JOIN roots AS r ON r.id = p.root_id"
)


def load(connection: _Reads, machine_id: str | None) -> PathMap:
    """The map of ``machine_id`` as the catalog holds it now (one query on a tiny table; none without a
    machine). Raw text, never translated: these are the two sides of the translation."""
    if not machine_id:
        return IDENTITY
    rows = connection.execute(_PLACES, {"machine": machine_id}).fetchall()
    if not rows:
        return IDENTITY
    mine = [(from_stored(canonical), from_stored(local)) for _root, here, canonical, local in rows if here]
    placed_here = {root_id for root_id, here, _c, _l in rows if here}
    # Added by another machine (its row is the stored path itself) and never placed by this one. A folder
    # of an older catalog has no rows: every machine reaches it at its stored path, as before.
    added_elsewhere = {root_id for root_id, here, canonical, local in rows if not here and canonical == local}
    unplaced = frozenset(added_elsewhere - placed_here)
    paths = PathMap.of(mine)
    return PathMap(paths.pairs, paths._to_local, paths._to_canonical, unplaced) if unplaced else paths
