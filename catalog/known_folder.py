"""Is a folder this machine is about to add a shared library folder it already knows under another path?

On shared storage every machine reaches the same folder at its own path (:mod:`catalog.machine_paths`).
A machine that has not mapped a shared folder yet and adds it as a new one (``roots add
/mnt/B/share/sd``, or ``scan`` of that path) would get a second folder of the same files: every file
cataloged twice and hashed again. The kernel cannot say that two machines' paths are one folder (a
device and inode mean nothing across machines), but the catalog holds enough to recognise it:

* **the path another machine recorded for it**: two machines mounting the share at one path;
* **its files**: the folder holds, at the same place relative to it, the files the catalog lists for the
  shared folder with the same size and the same modification time (within :data:`TIME_SLACK_NS`). Up to
  :data:`SAMPLE` of the folder's present rows are looked at; :data:`SHARE` of them or more must be there.
  A copy made without keeping times never matches; one kept with ``cp -a`` / ``rsync -a`` does, and is
  the same library for every purpose the catalog has (same files, same hashes).

A folder that holds the shared one (the parent of a mount) or lies inside it is recognised by its first
model files: a cataloged file of the same size and time at the same place below the shared folder says
where that folder is here, and the files there are then checked as above. Those first files may be
another folder's (a folder of one's own beside the mount, sorting first): the folders below it are then
looked through for one holding what the shared folder holds at its top (``Lora``...), checked the same
way, so a parent is refused whatever else it holds.

Only folders another machine added and this one never placed are candidates: a machine's own folders
(and every folder of a one-machine library) are never compared, so a backup copy beside one's library is
still a folder of its own.

The other way round, a machine that **maps** a shared folder to the wrong place (``roots map NAS
/wrong/dir``) would catalog that folder's own files into the shared one. :func:`require_its_files`
refuses such a folder when none of the first :data:`MAP_SAMPLE` files the catalog lists in the shared
folder is there (same place below it, same size), unless the user insists (``force``: the share is not
mounted yet); and a scan of a folder this machine reaches through a mapping catalogs nothing while none
of them is there (:func:`any_present`, called by ``catalog.scanner``).
"""

from __future__ import annotations

import os
import re
import stat
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from catalog.errors import ConflictError
from catalog.machine_paths import PathMap
from catalog.path_text import from_stored, to_stored

SAMPLE = 50
# Files looked for where a machine maps a shared folder (and where a scan of a mapped folder starts).
MAP_SAMPLE = 20
SHARE = 0.8
PROBES = 20
# Times agree within two seconds: a share's file system may keep them coarser than the machine that
# cataloged the files saw them (FAT keeps 2 s, SMB 100 ns).
TIME_SLACK_NS = 2_000_000_000
PROBE_FOLDERS = 2000
# How deep below a folder a shared folder is looked for, and how many places that may hold it are checked.
PROBE_DEPTH = 6
PROBE_CHECKS = 20
MODEL_SUFFIXES = frozenset((".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft"))


class _Reads(Protocol):
    def execute(self, sql: str, parameters: dict[str, Any] = ..., /) -> Any: ...


class NotTheSharedFolderError(ConflictError, ValueError):
    """A folder given as where this machine reaches a shared folder holds none of the files the catalog
    lists in it: mapped, its own files would be cataloged into the shared folder. Also a ``ValueError``
    (a wrong folder given), as :class:`KnownSharedFolderError`. ``folder``, ``name`` and ``sampled``: what
    a front end needs to offer mapping it anyway (``force=True``)."""

    def __init__(self, message: str, *, folder: str, name: str, sampled: int) -> None:
        super().__init__(message)
        self.folder = folder
        self.name = name
        self.sampled = sampled


class KnownSharedFolderError(ConflictError, ValueError):
    """A folder given to add is a shared folder the library already has: it is to be mapped, not added.
    Also a ``ValueError`` (a wrong folder given), as the window's "add folder" refuses the others.
    ``name`` and ``folder``: the shared folder and where it is on this machine, for a front end to offer
    mapping it there."""

    def __init__(self, message: str, *, name: str = "", folder: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.folder = folder


@dataclass(frozen=True, slots=True)
class KnownFolder:
    """A shared library folder ``path`` turned out to be, and why the catalog is sure."""

    root_id: int
    name: str
    evidence: str  # "studio-a reaches it at this path" / "48 of 50 of its files are here"
    folder: str  # where this machine reaches it: the folder given, or one inside or around it


_UNPLACED = (
    "SELECT r.id, r.name, r.path FROM roots AS r"
    " WHERE EXISTS (SELECT 1 FROM root_paths AS p WHERE p.root_id = r.id)"
    " AND NOT EXISTS (SELECT 1 FROM root_paths AS p WHERE p.root_id = r.id AND p.machine = :machine)"
    " ORDER BY r.id"
)
_MAP_SAMPLE_ROWS = (
    "SELECT path, size, format FROM assets WHERE root_id = :root AND status <> 'missing'"
    f" ORDER BY id LIMIT {MAP_SAMPLE}"
)
_PRESENT_COUNT = "SELECT count(*) FROM assets WHERE root_id = :root AND status <> 'missing'"
_OTHERS_PATHS = (
    "SELECT p.path, COALESCE(m.name, p.machine) FROM root_paths AS p"
    " LEFT JOIN machines AS m ON m.id = p.machine WHERE p.root_id = :root"
)
_SAMPLE_ROWS = (
    "SELECT path, size, mtime_ns FROM assets WHERE root_id = :root AND status <> 'missing'"
    " AND format <> 'diffusers'"
    f" ORDER BY id LIMIT {SAMPLE}"
)


def recognise(connection: _Reads, path: str, machine_id: str) -> KnownFolder | None:
    """The shared folder that ``path`` (this machine's absolute path, not yet a library folder) already
    is, holds or lies in, or None. Raw stored text is compared: call outside the machine's path
    translation."""
    stored = to_stored(path)
    candidates = {
        int(root_id): (str(name), from_stored(str(canonical)))
        for root_id, name, canonical in connection.execute(_UNPLACED, {"machine": machine_id}).fetchall()
    }
    if not candidates:
        return None
    for root_id, (name, _canonical) in candidates.items():
        for other_path, machine_name in connection.execute(_OTHERS_PATHS, {"root": root_id}).fetchall():
            if other_path == stored:
                return KnownFolder(root_id, name, f"{machine_name} reaches it at this same path", path)
    for root_id, (name, canonical) in candidates.items():
        evidence = _files_there(connection, root_id, canonical, path)
        if evidence:
            return KnownFolder(root_id, name, evidence, path)
    # The folder may hold the shared one (a parent of the mount) or lie inside it (one of its subfolders):
    # where the first model files found below it are cataloged tells where the shared folder would be.
    for (root_id, folder), _count in _placed_by_files(connection, candidates, path).most_common(2):
        name, canonical = candidates[root_id]
        evidence = _files_there(connection, root_id, canonical, folder)
        if evidence:
            return KnownFolder(root_id, name, evidence, folder)
    # The first model files below it may be another folder's (a parent holding the share and a folder of
    # its own that sorts first): the shared folder's own places, looked for in the folders below it.
    return _placed_by_known_paths(connection, candidates, path)


def require_its_files(connection: _Reads, root_id: int, name: str, canonical: str, folder: str) -> None:
    """Refuse ``folder`` as this machine's place for the shared folder ``root_id`` when it holds none of
    the :data:`MAP_SAMPLE` files the catalog lists first in it (at the same place below it, of the same
    size; a folder model only has to be there). A shared folder with no file yet maps anywhere. Times are
    not compared: a share may show them otherwise, and one known file is enough. Raw stored text is read:
    call outside the machine's path translation.

    Raises:
        NotTheSharedFolderError: none of the files is there (the message says how many were looked for).
    """
    rows = connection.execute(_MAP_SAMPLE_ROWS, {"root": root_id}).fetchall()
    if not rows:
        return
    here = PathMap.of([(canonical, folder)])
    places = (
        (here.to_local(from_stored(str(path))), int(size), fmt == "diffusers") for path, size, fmt in rows
    )
    if any_present(places):
        return
    try:
        empty = not any(True for _entry in os.scandir(folder))
    except OSError:
        empty = False
    total = int(connection.execute(_PRESENT_COUNT, {"root": root_id}).fetchone()[0])
    files = (
        f"the {len(rows)} checked (of {total})"
        if total > len(rows)
        else f"{len(rows)} known file{'s' if len(rows) != 1 else ''}"
    )
    why = (
        f"{folder} is empty, but the shared folder {name!r} has files (is the share mounted?)"
        if empty
        else f"{folder} does not hold the files of the shared folder {name!r}: none of {files} is there"
    )
    raise NotTheSharedFolderError(
        f"{why}. Check the path, or map it anyway with --force (a scan adds nothing while none of its "
        "files is there).",
        folder=folder,
        name=name,
        sampled=len(rows),
    )


def any_present(places: Iterable[tuple[str, int, bool | None]]) -> bool:
    """Whether one of ``places`` (this machine's path, size, whether it is a folder model: None, not
    known) is there: a file of that size, or a folder where a folder model may be. Stops at the first."""
    for path, size, is_folder in places:
        try:
            found = Path(path).stat()
        except (OSError, ValueError):
            continue
        folder = stat.S_ISDIR(found.st_mode)
        if (folder and is_folder is not False) or (not folder and not is_folder and found.st_size == size):
            return True
    return False


def _files_there(connection: _Reads, root_id: int, canonical: str, folder: str) -> str:
    """Why the shared folder ``root_id`` is at ``folder`` on this machine (empty: it is not)."""
    rows = connection.execute(_SAMPLE_ROWS, {"root": root_id}).fetchall()
    if not rows:
        return ""
    here = PathMap.of([(canonical, folder)])
    present = sum(_same_file(here.to_local(from_stored(str(p))), size, mtime) for p, size, mtime in rows)
    if present < SHARE * len(rows):
        return ""
    return f"{present} of {len(rows)} of its files are here, same size and time"


def _placed_by_files(
    connection: _Reads, candidates: dict[int, tuple[str, str]], path: str
) -> Counter[tuple[int, str]]:
    """For the first :data:`PROBES` model files below ``path``: the (shared folder, folder on this
    machine) that a cataloged file of the same size and time, at the same place below it, implies."""
    ids = ", ".join(str(root_id) for root_id in candidates)
    sql = (
        "SELECT root_id, path FROM assets WHERE size = :size AND mtime_ns BETWEEN :low AND :high"
        f" AND root_id IN ({ids})"
    )
    places: Counter[tuple[int, str]] = Counter()
    for local, size, mtime_ns in _model_files(path):
        local_parts = Path(local).parts
        for root_id, row_path in connection.execute(
            sql, {"size": size, "low": mtime_ns - TIME_SLACK_NS, "high": mtime_ns + TIME_SLACK_NS}
        ).fetchall():
            canonical = candidates[int(root_id)][1]
            rest = from_stored(str(row_path))[len(canonical) :]
            below = [part for part in re.split(r"[\\/]", rest) if part]
            if below and len(below) < len(local_parts) and list(local_parts[-len(below) :]) == below:
                places[(int(root_id), str(Path(*local_parts[: -len(below)])))] += 1
    return places


def _placed_by_known_paths(
    connection: _Reads, candidates: dict[int, tuple[str, str]], path: str
) -> KnownFolder | None:
    """The shared folder found in a folder below ``path`` that holds what it holds at its top (the first
    part of where its sampled files are, such as ``Lora``) and then passes :func:`_files_there`.

    Bounded work: the folders below ``path`` are listed breadth first (a share is usually near the top
    of what holds it), at most :data:`PROBE_FOLDERS` of them and :data:`PROBE_DEPTH` deep, and at most
    :data:`PROBE_CHECKS` places are checked file by file; no file is opened.
    """
    tops: dict[int, set[str]] = {}
    for root_id, (_name, canonical) in candidates.items():
        rows = connection.execute(_SAMPLE_ROWS, {"root": root_id}).fetchall()
        parts = (_below(canonical, from_stored(str(row[0]))) for row in rows)
        tops[root_id] = {below[0] for below in parts if below}
    if not any(tops.values()):
        return None
    checks = 0
    for folder, names in _folders_below(path):
        for root_id, top in tops.items():
            if not top or top.isdisjoint(names):
                continue
            name, canonical = candidates[root_id]
            evidence = _files_there(connection, root_id, canonical, folder)
            if evidence:
                return KnownFolder(root_id, name, evidence, folder)
            checks += 1
            if checks >= PROBE_CHECKS:
                return None
    return None


def _below(canonical: str, stored_path: str) -> list[str]:
    """The parts of ``stored_path`` below the folder ``canonical`` (either separator)."""
    return [part for part in re.split(r"[\\/]", stored_path[len(canonical) :]) if part]


def _folders_below(path: str) -> Iterator[tuple[str, set[str]]]:
    """Each folder below ``path`` (not itself; links to folders followed, hidden ones skipped) with the
    names it holds, breadth first, within :data:`PROBE_FOLDERS` and :data:`PROBE_DEPTH`."""
    queue: deque[tuple[str, int]] = deque([(path, 0)])
    listed = 0
    while queue and listed < PROBE_FOLDERS:
        folder, depth = queue.popleft()
        try:
            with os.scandir(folder) as entries:
                found = list(entries)
        except OSError:
            continue
        listed += 1
        if depth:
            yield folder, {entry.name for entry in found}
        if depth >= PROBE_DEPTH:
            continue
        for entry in sorted(found, key=lambda entry: entry.name):
            try:
                if entry.is_dir() and not entry.name.startswith("."):
                    queue.append((entry.path, depth + 1))
            except OSError:
                continue


def _model_files(path: str) -> list[tuple[str, int, int]]:
    """Up to :data:`PROBES` model files below ``path`` (path, size, mtime_ns), looking into at most
    :data:`PROBE_FOLDERS` folders (a parent of a large tree is not walked whole)."""
    found: list[tuple[str, int, int]] = []
    folders = 0
    for folder, subfolders, files in os.walk(path):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        folders += 1
        for name in sorted(files):
            if Path(name).suffix.lower() not in MODEL_SUFFIXES:
                continue
            try:
                found_stat = (Path(folder) / name).stat()
            except OSError:
                continue
            found.append((str(Path(folder) / name), found_stat.st_size, found_stat.st_mtime_ns))
            if len(found) >= PROBES:
                return found
        if folders >= PROBE_FOLDERS:
            break
    return found


def _same_file(path: str, size: int, mtime_ns: int) -> bool:
    try:
        found = Path(path).stat()
    except (OSError, ValueError):
        return False
    return found.st_size == size and abs(found.st_mtime_ns - mtime_ns) <= TIME_SLACK_NS
