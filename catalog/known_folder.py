"""Is a folder this machine is about to add a shared library folder it already knows under another path?

On shared storage every machine reaches the same folder at its own path (:mod:`catalog.machine_paths`).
A machine that has not mapped a shared folder yet and adds it as a new one (``roots add
/mnt/B/share/sd``, or ``scan`` of that path) would get a second folder of the same files: every file
cataloged twice and hashed again. The kernel cannot say that two machines' paths are one folder (a
device and inode mean nothing across machines), but the catalog holds enough to recognise it:

* **the path another machine recorded for it**: two machines mounting the share at one path;
* **its files**: the folder holds, at the same place relative to it, the files the catalog lists for the
  shared folder with the same size and the same modification time to the nanosecond. Up to
  :data:`SAMPLE` of the folder's present rows are looked at; :data:`SHARE` of them or more must be there.
  A copy made without keeping times never matches; one kept with ``cp -a`` / ``rsync -a`` does, and is
  the same library for every purpose the catalog has (same files, same hashes).

Only folders another machine added and this one never placed are candidates: a machine's own folders
(and every folder of a one-machine library) are never compared, so a backup copy beside one's library is
still a folder of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from catalog.errors import ConflictError
from catalog.machine_paths import PathMap
from catalog.path_text import from_stored, to_stored

SAMPLE = 50
SHARE = 0.8


class _Reads(Protocol):
    def execute(self, sql: str, parameters: dict[str, Any] = ..., /) -> Any: ...


class KnownSharedFolderError(ConflictError, ValueError):
    """A folder given to add is a shared folder the library already has: it is to be mapped, not added.
    Also a ``ValueError`` (a wrong folder given), as the window's "add folder" refuses the others."""


@dataclass(frozen=True, slots=True)
class KnownFolder:
    """A shared library folder ``path`` turned out to be, and why the catalog is sure."""

    root_id: int
    name: str
    evidence: str  # "studio-a reaches it at this path" / "48 of 50 of its files are here"


_UNPLACED = (
    "SELECT r.id, r.name, r.path FROM roots AS r"
    " WHERE EXISTS (SELECT 1 FROM root_paths AS p WHERE p.root_id = r.id)"
    " AND NOT EXISTS (SELECT 1 FROM root_paths AS p WHERE p.root_id = r.id AND p.machine = :machine)"
    " ORDER BY r.id"
)
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
    is, or None. Raw stored text is compared: call outside the machine's path translation."""
    stored = to_stored(path)
    candidates = connection.execute(_UNPLACED, {"machine": machine_id}).fetchall()
    for root_id, name, _canonical in candidates:
        for other_path, machine_name in connection.execute(_OTHERS_PATHS, {"root": root_id}).fetchall():
            if other_path == stored:
                return KnownFolder(int(root_id), str(name), f"{machine_name} reaches it at this same path")
    for root_id, name, canonical in candidates:
        rows = connection.execute(_SAMPLE_ROWS, {"root": root_id}).fetchall()
        if not rows:
            continue
        here = PathMap.of([(from_stored(str(canonical)), path)])
        present = sum(_same_file(here.to_local(from_stored(str(p))), size, mtime) for p, size, mtime in rows)
        if present >= SHARE * len(rows):
            return KnownFolder(
                int(root_id), str(name), f"{present} of {len(rows)} of its files are here, same size and time"
            )
    return None


def _same_file(path: str, size: int, mtime_ns: int) -> bool:
    try:
        found = Path(path).stat()
    except (OSError, ValueError):
        return False
    return found.st_size == size and found.st_mtime_ns == mtime_ns
