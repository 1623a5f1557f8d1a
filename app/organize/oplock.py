"""One organizing operation at a time per library, across threads and processes.

An operation left ``applying`` in the journal is either a crash's leftover (to recover) or one running
right now in the window while the CLI starts (to leave alone). The running one holds an exclusive lock
on ``<catalog>.organize.lock`` for its whole life; recovery only acts when it can take that lock, and the
kernel releases it when a process dies, even by SIGKILL. ``flock`` locks belong to an open file, so two
threads of one process exclude each other too. Where ``fcntl`` is missing (Windows) operations are not
serialized across processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def lock_path(catalog_path: Path) -> Path:
    return catalog_path.with_name(catalog_path.name + ".organize.lock")


@contextmanager
def operation_lock(catalog_path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold the library's operation lock; yields False (without waiting) when ``blocking`` is off and
    another operation holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    with lock_path(catalog_path).open("a") as handle:
        flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
