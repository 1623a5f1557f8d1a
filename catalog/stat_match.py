"""Is a file another machine cataloged the same file here? The stat comparison of shared storage.

One catalog row serves every machine that reaches a shared folder, but machines do not see a file's stat
alike:

* **modification times at another precision.** A Linux machine sees a file on ext4 to the nanosecond; a
  Windows SMB client reports times to 100 ns; some NFS and macOS SMB clients to whole seconds. Compared
  exactly, every file of the share looks changed to one machine after the other scanned it, and each scan
  rewrites and reads everything again. :func:`same_mtime` compares two times at the coarser of the two
  precisions, read from their trailing zeros (a multiple of 1e9 ns was seen at whole seconds, of 100 ns
  at 100 ns), like rsync's ``--modify-window`` but exact where both sides are fine-grained. A time seen at
  whole seconds is a truncation (what SMB and NFS clients do), so the finer time is truncated too.
* **inode and device numbers.** Each machine numbers the files of a mount its own way. For the rows of a
  folder several machines use (:func:`shared_with_others`) they are the hints of the machine that wrote
  the row: a difference says nothing against the file being the one cataloged, and a scan neither reads
  the file again for it nor rewrites the shared row with its own numbers (which the next machine would
  rewrite back on every alternating scan). They are kept, not per machine, because they only ever help a
  scan decide "unchanged" faster and spot a move by inode, and on shared storage the size and time decide
  both anyway (a move another machine made is found by hash, as a copy is).

Also here: :func:`empty_shared_folder`, why a shared folder that is empty here marks nothing missing
whatever the number of its files (a share not mounted on this machine, for every machine sharing it), and
:func:`mostly_not_here`, why a shared folder where most of its files are not is not scanned at all (mapped
to an old copy, or to another folder: what it holds would overwrite the rows every machine reads).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from catalog.records import IndexedFile, RootPlaces, RootRecord
from core.taxonomy import FileStatus

# A shared folder is not scanned here when more than this share of the files sampled from it are not here
# (same place, same size) and that many of all its files would be gone (catalog.scanner's own thresholds
# for "marks nothing missing").
NOT_HERE_SHARE = 0.5
NOT_HERE_MIN = 20
NOT_HERE_SAMPLE = 50
_SECOND = 1_000_000_000
_TICK = 100  # Windows' FILETIME unit, in ns


def _grain(mtime_ns: int) -> int:
    """The precision a time was seen at, read from its trailing zeros (1 ns when nothing says coarser)."""
    if mtime_ns % _SECOND == 0:
        return _SECOND
    if mtime_ns % _TICK == 0:
        return _TICK
    return 1


def same_mtime(cataloged: int, seen: int) -> bool:
    """Whether two modification times are one at the coarser of the precisions they were seen at."""
    if cataloged == seen:
        return True
    grain = max(_grain(cataloged), _grain(seen))
    return grain > 1 and cataloged // grain == seen // grain


def shared_with_others(catalog: object, root: RootRecord) -> bool:
    """Whether ``root`` is a folder other machines use too: this machine reaches it through a mapping
    (``roots map``), or the catalog records another machine's path for it. ``catalog`` answers
    ``root_places()`` (the Library, the light reader); one without it knows no other machine."""
    if root.path != (root.canonical_path or root.path):
        return True
    if not root.name:
        return False
    places: Callable[[], Iterable[RootPlaces]] | None = getattr(catalog, "root_places", None)
    if places is None:
        return False
    return any(place.root.id == root.id and place.elsewhere for place in places())


def holds_nothing(folder: Path) -> bool | None:
    """Whether ``folder`` has no entry at all (an unmounted share's mount point), None when it cannot be
    listed: the guards below read an empty folder as "not mounted", never as "every file deleted"."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return None


def empty_shared_folder(root_path: Path, gone: int, index: dict[str, IndexedFile], shared: bool) -> str:
    """Why none of the ``gone`` files of a shared folder is marked missing (empty: no such reason): the
    folder is empty here while the catalog lists files in it. On one machine a folder of one or two
    models emptied by hand is a deletion; a shared folder empty on one machine is a share not mounted
    there, and marking its files missing would mark them missing for every machine (and empty their
    mirrors)."""
    if not shared or not gone or holds_nothing(root_path) is not True:
        return ""
    listed = sum(entry.status is not FileStatus.MISSING for entry in index.values())
    files = f"{listed} file{'s' if listed != 1 else ''}"
    return (
        f"the shared folder is empty here but the catalog lists {files} in it (is the share mounted on "
        "this machine?)"
    )


def mostly_not_here(root_path: Path, index: dict[str, IndexedFile], shared: bool, map_command: str) -> str:
    """Why a shared folder is not scanned on this machine at all (empty: it is scanned).

    Most of the files the catalog lists in it are not here: the machine maps it to the wrong folder (an
    old copy with a few of the same files, another store). Scanned, the files that are here would be
    written as "changed" over the rows every machine reads (and rehashed, then written back by the next
    machine's scan, on every scan), and the others' own files added as new rows. So nothing is written:
    :data:`NOT_HERE_SAMPLE` files spread over the folder are looked for (same place, same size: a folder
    model as a folder), and the folder is refused when more than :data:`NOT_HERE_SHARE` of them are not
    there and that share of all its files is more than :data:`NOT_HERE_MIN`. An empty folder is left to
    :func:`empty_shared_folder` (nothing to write there). ``map_command``: how to map it elsewhere.
    """
    if not shared:
        return ""
    listed = [entry for entry in index.values() if entry.status is not FileStatus.MISSING]
    sample = listed[:: max(1, len(listed) // NOT_HERE_SAMPLE)][:NOT_HERE_SAMPLE]
    absent = sum(not _there(entry) for entry in sample)
    if (
        not sample
        or absent <= NOT_HERE_SHARE * len(sample)
        or absent * len(listed) <= NOT_HERE_MIN * len(sample)
    ):
        return ""
    if holds_nothing(root_path) is not False:
        return ""
    return (
        f"{absent} of {len(sample)} files checked of the {len(listed)} the catalog lists in this shared "
        f"folder are not here (is the share mapped to the right folder? {map_command})"
    )


def _there(entry: IndexedFile) -> bool:
    """Whether the cataloged ``entry`` is here: a file of its size, or a folder (a diffusers model)."""
    try:
        found = os.stat(entry.path)  # noqa: PTH116 - one call per sampled file
    except (OSError, ValueError):
        return False
    return stat.S_ISDIR(found.st_mode) or found.st_size == entry.size
