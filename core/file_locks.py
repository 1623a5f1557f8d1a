"""Exclusive locks on small lock files that the operating system drops with the process holding them.

A lock that dies with its process answers "is another live process doing this now?" without a
heartbeat: a crash, a power cut or SIGKILL frees it. ``flock`` (POSIX) and ``msvcrt.locking`` (Windows)
both lock per open file, so two threads of one process that each open the lock file exclude each other
too. Lock files are opened ``"a+b"`` (created when missing, never truncated) and stay open while held.
"""

from __future__ import annotations

import sys
import time
from typing import IO

WAIT_POLL_SECONDS = 0.05  # how often a waiting holder tries again; short next to any operation it waits on

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(file: IO[bytes]) -> bool:
        """Take the lock (the file's first byte) now; False when another holder has it."""
        file.seek(0)  # msvcrt locks from the current position, and "a+b" may start at the end
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(file: IO[bytes]) -> bool:
        """Take the lock now; False when another holder has it."""
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def unlock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def wait_for_lock(file: IO[bytes]) -> None:
    """Take the lock, waiting as long as another holder keeps it.

    Polls rather than blocking in the kernel: Windows' blocking ``LK_LOCK`` gives up after 10 seconds,
    and one loop on every platform is the one way tests exercise.
    """
    while not try_lock(file):
        time.sleep(WAIT_POLL_SECONDS)
