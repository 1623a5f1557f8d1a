"""Which downloads a live process is running, told by operating-system file locks.

A download's row says ``running`` while some process works on it; if that process is killed (a crash,
a power cut, SIGKILL) the row keeps saying so. The next start must tell "running in the other window
or command right now" from "was running when its process died": only the second may be marked
interrupted and resumed, or two processes would write the same ``.part`` file. A lock that the
operating system drops with its process answers exactly that question, with no heartbeat to wait for.

One small lock file per download id in a folder of the data dir (never in the user's model folders).
A hashing job holds one the same way, under its job id (``catalog.hash_claims``: a claim of a job whose
process died is taken over at once on the machine that ran it).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO

from core.file_locks import try_lock, unlock


class HeldLock:
    """A download's lock while this process runs it; ``release`` (or leaving the ``with``) lets go."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file: IO[bytes] | None = file

    def release(self) -> None:
        if self._file is not None:
            unlock(self._file)
            self._file.close()
            self._file = None

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class RunLocks:
    """The lock files of one profile's download queue (``<data dir>/download-locks/<id>.lock``), or of
    another kind of job, each under its own key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _open(self, key: int | str) -> IO[bytes]:
        self.directory.mkdir(parents=True, exist_ok=True)
        return open(self.directory / f"{key}.lock", "a+b")  # kept open while the lock is held

    def acquire(self, key: int | str) -> HeldLock | None:
        """The lock, or None when another process (or another run here) holds it."""
        file = self._open(key)
        if try_lock(file):
            return HeldLock(file)
        file.close()
        return None

    def is_held(self, key: int | str) -> bool:
        """Whether some live process runs ``key`` (a download id) now (this one included)."""
        held = self.acquire(key)
        if held is None:
            return True
        held.release()
        return False

    def discard(self, key: int | str) -> None:
        """Remove the lock file of a key that is used once (a hashing job's) when its job has ended."""
        (self.directory / f"{key}.lock").unlink(missing_ok=True)
