"""The last flush of a finished download, done behind the caller: its bytes, then its name, onto the disk.

Why it is built this way:

* A verified download is renamed into place at once and the caller (the ingest, the next download, the
  command's result line) goes on; making the file durable (``fdatasync`` of the file, then ``fsync`` of
  its folder so the new name survives too) is the disk's work, not the user's wait. While the download
  ran, ``core.download_body.WriteBehind`` kept the disk writing behind it, so what is left here is
  usually the last second or so of bytes; where the link outruns the disk (loopback, a fast LAN) it is
  the disk's backlog, and that is exactly the wait this moves off the caller.
* The file is flushed through a descriptor opened *before* the rename: it names the inode, so a file the
  library moves or renames right after still gets flushed, and no path is looked up again. On Windows,
  which renames no file a handle has open, it is opened by the new name just after
  (``core.downloads.OPEN_HANDLES_BLOCK_MOVES``).
* The flushing thread is started when there is work and ends when the queue is empty; it is not a daemon,
  so even a process that never calls :meth:`FinalFlush.wait_all` does not end before its flushes are
  done (the interpreter joins non-daemon threads at exit). The app still calls :meth:`wait_all` at exit
  (``DownloadService.close``, the ``download`` command) to say, in one line, why an exit takes longer
  than a second, and to report a flush that failed.
* A failed flush (the disk reported a write error) cannot be undone by the download that already
  finished; it is kept and reported by :meth:`wait_all`, so the user hears which file to check.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.sizes import human_size

# Reading is enough to fsync a file on POSIX; Windows' _commit needs a descriptor open for writing.
_OPEN_FOR_FLUSH = os.O_RDONLY if os.name == "posix" else os.O_RDWR | getattr(os, "O_BINARY", 0)
SAY_AFTER_S = 1.0  # an exit that waits longer than this for the disk says so


@dataclass(frozen=True, slots=True)
class _Pending:
    fd: int
    path: Path
    size: int


class FinalFlush:
    """A queue of finished files whose bytes and names are made durable by a thread of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[_Pending] = deque()
        self._busy: _Pending | None = None
        self._worker: threading.Thread | None = None
        self._failures: list[str] = []
        self.completed: list[Path] = []  # the files made durable, in order (the tests read it)

    def open(self, part: Path) -> int:
        """A descriptor of ``part`` to hand over once it is renamed (see the module's docstring)."""
        return os.open(part, _OPEN_FOR_FLUSH)

    def hand_over(self, fd: int, path: Path) -> None:
        """Flush the file ``fd`` (now at ``path``), then ``path``'s folder; this object closes ``fd``."""
        try:
            size = os.fstat(fd).st_size
        except OSError:
            size = 0
        with self._lock:
            self._queue.append(_Pending(fd, path, size))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="download-final-flush", daemon=False)
                self._worker.start()

    def _pending(self) -> tuple[int, int]:
        """How many files wait for (or are in) their final flush, and their size in bytes."""
        with self._lock:
            items = [*self._queue, *([self._busy] if self._busy is not None else [])]
        return len(items), sum(item.size for item in items)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every file handed over is durable; False when ``timeout`` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._queue or self._busy is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def wait_all(self, say: Callable[[str], None], *, say_after_s: float = SAY_AFTER_S) -> list[str]:
        """The exit join: wait for every flush; ``say`` one line if that takes over ``say_after_s``.

        Returns the failures met since the last call, one line each (empty when every file is on disk).
        """
        files, size = self._pending()  # what the exit found to wait for
        if not self.wait(say_after_s):
            what = "the downloaded file" if files == 1 else f"{files} downloaded files"
            say(f"waiting for the disk to store {what} ({human_size(size)})...")
            self.wait()
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._busy = None
                    self._worker = None
                    self._changed.notify_all()
                    return
                self._busy = item = self._queue.popleft()
            failure = _flush(item)
            with self._lock:
                self._busy = None
                if failure is None:
                    self.completed.append(item.path)
                else:
                    self._failures.append(failure)
                self._changed.notify_all()


def _flush(item: _Pending) -> str | None:
    """``fdatasync`` the file, then ``fsync`` its folder (the new name); the failure in words, or None."""
    try:
        try:
            getattr(os, "fdatasync", os.fsync)(item.fd)
        finally:
            os.close(item.fd)
        fsync_folder(item.path.parent)
    except OSError as error:
        return (
            f"the disk reported an error while writing {item.path} ({error.strerror or error}); "
            "check the disk and download the file again"
        )
    return None


def fsync_folder(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX); Windows cannot open folders, and NTFS journals
    renames. A folder removed meanwhile has no entry left to keep: nothing to do."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
