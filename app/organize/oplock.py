"""One organizing operation at a time per library, across threads and processes.

An operation left ``applying`` in the journal is either a crash's leftover (to recover) or one running
right now in the window while the CLI starts (to leave alone). The running one holds an exclusive lock
on ``<catalog>.organize.lock`` for its whole life; recovery only acts when it can take that lock, and the
operating system releases it when a process dies, even by SIGKILL. The lock is
:mod:`core.file_locks`' (``flock`` on POSIX, ``msvcrt.locking`` on Windows): it belongs to an open
file, so two threads of one process exclude each other too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.file_locks import try_lock, unlock, wait_for_lock


def lock_path(catalog_path: Path) -> Path:
    return catalog_path.with_name(catalog_path.name + ".organize.lock")


@contextmanager
def operation_lock(
    catalog_path: Path, *, blocking: bool = True, on_wait: Callable[[], None] | None = None
) -> Iterator[bool]:
    """Hold the library's operation lock; yields False (without waiting) when ``blocking`` is off and
    another operation holds it. ``on_wait`` is called once before waiting for another operation."""
    with lock_path(catalog_path).open("a+b") as handle:  # kept open, never truncated, while held
        if not try_lock(handle):
            if not blocking:
                yield False
                return
            if on_wait is not None:
                on_wait()
            wait_for_lock(handle)
        try:
            yield True
        finally:
            unlock(handle)
