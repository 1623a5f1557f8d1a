"""Which processes have a data folder's catalog open, so that it is never set aside under them.

The window holds a lock in ``<data dir>/catalog-users/<process id>.lock`` while it runs (from its first
frame on); the operating system drops it with the process, however it ends. ``new-catalog`` moves the
catalog aside only where no other live process holds one: an outside tester started a new catalog from
the command line while the window was open, and the window went on writing to the file set aside (the
next start showed an empty library).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from core.download_locks import HeldLock, RunLocks

CATALOG_USERS_FOLDER = "catalog-users"


def _locks(catalog: Path) -> RunLocks:
    return RunLocks(catalog.parent / CATALOG_USERS_FOLDER)


def hold_catalog(catalog: Path) -> HeldLock | None:
    """This process's hold on ``catalog``, released with the lock or the process; None where the data
    folder cannot be written (a read-only folder, where no catalog is set aside either)."""
    try:
        return _locks(catalog).acquire(os.getpid())
    except OSError:
        return None


def other_users(catalog: Path) -> list[int]:
    """The ids of the other live processes that hold ``catalog``; the lock files of ended ones go."""
    locks = _locks(catalog)
    try:
        files = sorted(locks.directory.iterdir())
    except OSError:
        return []
    users: list[int] = []
    for file in files:
        key = file.stem
        if file.suffix != ".lock" or not key.isdigit() or int(key) == os.getpid():
            continue
        if locks.is_held(key):
            users.append(int(key))
        else:
            with suppress(OSError):
                locks.discard(key)
    return users
