"""A digest of everything a mirror's sync depends on, so that a mirror already up to date is checked in
a few plain system calls instead of a full plan (it is checked after every scan and organize operation).

The digest covers the mirror's settings, the library folders, the catalog's rows for the files it
shares and for the entries it holds, every file in the library folders those files are in (name, inode,
size, time: a sidecar added, edited in place or replaced by an atomic rename changes it), their covers,
every recorded entry as it stands in the mirror (``lstat``, and where a symlink points), and the folders
between the mirror and its entries (a folder turned into a link is seen). A sync whose plan found nothing
to do stores the digest taken *before* it planned; the next sync with the same digest has the same
inputs, hence the same empty plan, and skips planning. Any difference, however harmless, means a full
sync, which is always right.
"""

# Paths stay text here, on purpose: building a Path per file is what made a full check slow.
# ruff: noqa: PTH115, PTH116, PTH120

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from catalog.library import Library
from catalog.mirrors import MirrorRecord
from core.organize.mirror_plan import MirrorMode

_PATH, _COVER = 1, 11  # columns of the shared rows (catalog.mirrors._shared_statement)
_Stat = tuple[int, int, int, int] | None


def mirror_fingerprint(library: Library, mirror: MirrorRecord, accepted: Iterable[MirrorMode]) -> str:
    """The digest of the state a sync of ``mirror`` (accepting entries made in ``accepted``) reads."""
    shared, recorded, roots = library.mirror_state_rows(mirror.id, mirror.kinds, mirror.collections)
    digest = hashlib.blake2b(digest_size=20)

    def add(value: Any) -> None:
        digest.update(repr(value).encode("utf-8", "surrogateescape"))

    add((mirror.ui.value, mirror.mode.value, mirror.kinds, mirror.collections, sorted(accepted), roots))
    add(shared)
    for folder in sorted({os.path.dirname(row[_PATH]) for row in shared}):
        add((folder, _listing(folder)))
    add([_stat(cover) for cover in sorted({row[_COVER] for row in shared if row[_COVER]})])
    add(recorded)
    add([_entry(row[0]) for row in recorded])
    add(_folders_down_to_entries(mirror.target, (row[0] for row in recorded)))
    return digest.hexdigest()


def _listing(folder: str) -> list[tuple[str, _Stat]]:
    """Every name in ``folder`` with what it is now (links followed, as the sync reads sources)."""
    try:
        with os.scandir(folder) as entries:
            return sorted((entry.name, _entry_stat(entry)) for entry in entries)
    except OSError:
        return []


def _entry_stat(entry: os.DirEntry[str]) -> _Stat:
    try:
        st = entry.stat()
    except OSError:
        return None
    return (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns)


def _stat(path: str) -> _Stat:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns)


def _entry(path: str) -> tuple[_Stat, str | None]:
    """An entry as it stands in the mirror: not followed, and where it points when it is a link."""
    try:
        st = os.lstat(path)
    except OSError:
        return None, None
    target = None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = ""
    return (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns), target


def _folders_down_to_entries(
    target: Path, paths: Iterable[str]
) -> list[tuple[str, tuple[_Stat, str | None]]]:
    """The folders from the mirror down to each entry's, as they stand (a real folder, or a link and where
    it points)."""
    top = str(target)
    folders: set[str] = set()
    for path in paths:
        folder = os.path.dirname(path)
        while folder not in folders and len(folder) > len(top) and folder.startswith(top):
            folders.add(folder)
            folder = os.path.dirname(folder)
    folders.add(top)
    return [(folder, _folder(folder)) for folder in sorted(folders)]


def _folder(path: str) -> tuple[_Stat, str | None]:
    """A folder's kind and identity (not its times: adding an entry changes them) and a link's target."""
    kind, target = _entry(path)
    if kind is None:
        return None, None
    mode, inode, _size, _mtime = kind
    return (mode, inode, 0, 0), target
