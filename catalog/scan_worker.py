"""What a scan's worker process runs, in a module light enough for the fork server to preload.

Each worker is forked from the fork server (:func:`catalog.scanner.worker_context`) and unpickles its
tasks by name: the function here, the reader it is given (``catalog.examine.examine``) and the files.
Keeping the task out of :mod:`catalog.scanner` means the fork server imports the readers and
identification (what every worker needs) but not the scanner's own machinery, and no worker imports
anything after it is forked.

Most files a first scan reads are plain: a regular file with no sidecar beside it. The walk hands those
on as a :data:`PlainFile` tuple of strings and numbers, and the ``FoundFile`` (with its ``Path``) is built
here, in the worker that reads it: the scan's own process, which walks, collects and writes for every
worker, no longer builds a ``Path`` and a ``FoundFile`` per file only to pickle them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from catalog.examine import FoundFile
from catalog.records import ScannedFile

# Imported by the fork server before it forks a worker (see catalog.scanner.worker_context): the task
# below, the readers and matchers it runs, and the pool's own worker loop.
PRELOAD = [__name__, "core.identify.engine", "concurrent.futures.process"]

# A regular file without sidecars, as the walk listed it: (path, size, mtime_ns, inode, device).
PlainFile = tuple[str, int, int, int, int]
Queued = FoundFile | PlainFile


def as_found(item: Queued) -> FoundFile:
    """The ``FoundFile`` of a queued file: ``catalog.examine.found_listed``'s, for a plain one."""
    if isinstance(item, FoundFile):
        return item
    path, size, mtime_ns, inode, device = item
    return FoundFile(path=Path(path), size=size, mtime_ns=mtime_ns, inode=inode, device=device)


def path_text(item: Queued) -> str:
    """The queued file's path as text, without building a ``Path`` for a plain one."""
    return str(item.path) if isinstance(item, FoundFile) else item[0]


def examine_chunk(chunk: list[Queued], examine_file: Callable[[FoundFile], ScannedFile]) -> list[ScannedFile]:
    """``examine_file`` of each file of a chunk, in order (``examine`` never raises for a bad file)."""
    return [examine_file(as_found(item)) for item in chunk]
