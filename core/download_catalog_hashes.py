"""A download's catalog hashes (BLAKE3, CRC32, AutoV1, AutoV3), computed from its file behind the writer.

Why they do not run in step with the bytes: a download is verified by its SHA-256, which decides the
rename and so must have seen every byte when the body ends (``core.downloads`` feeds it from the receive
buffers). The catalog's other hashes decide nothing about the download. Fed from the same buffers, they
made the receiver wait whenever the link was faster than the CPU could hash: 1 GiB from loopback took
1.26 s with every hash in step against curl's 0.89 s on the 2-core dev machine, 0.8-0.9 s with the
SHA-256 alone (a second SHA-256 stream for AutoV3, BLAKE3 and CRC32 cost 0.68 s of CPU per GiB). So:

* **While bytes arrive**, a :class:`Follower` thread reads what the receiver has written (its own
  handle on the ``.part``: the pages were just written, so they come from the page cache) and feeds
  :data:`~core.hashing.CATALOG_LANES` through a :class:`~core.hashing.HashPipeline`. It and its hash
  threads run at the lowest CPU priority (Linux: nice 19, per thread), so on a saturated CPU they take
  only what the receiver and the SHA-256 leave; on a real link, slower than hashing, they keep pace and
  are done when the download is.
* **Once the file is verified and renamed**, :meth:`CatalogHashes.finish_behind` hashes what the follower
  had not reached, at normal priority, in a thread of its own (a new thread starts at its creator's
  priority; a niced thread cannot lower its nice value again without privileges), through a descriptor
  opened before the rename (on Windows, which renames no open file, the follower is stopped first and
  the descriptor opened by the new name just after). The caller gets a future
  (``Downloader.take_file_hashes`` waits for it), so the file is still read from the page cache, never
  from disk a second time.
* **A try that ends early** (a lost connection, a pause) stops the follower after the chunk it is on: its
  state then covers exactly the bytes it hashed, and the next try's follower continues from there,
  reading the ``.part``. A follower that failed (a read error) leaves a state that no longer matches the
  file; the next follower, or the finisher, starts that state again from the file's first byte.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

from core.file_hashes import FileHashes
from core.hashing import CATALOG_LANES, HashPipeline, HashState, feed_file

MIB = 1 << 20
_READ_SIZE = 4 * MIB  # one pread of the follower: large enough for the hash functions to release the GIL
_BUFFERS = 3  # one being read, two being hashed
_WAKE_EVERY = 4 * MIB  # the writer wakes a waiting follower once this much more has been written
_IDLE_WAIT_S = 0.05  # how long a follower that caught up waits for news before looking again
BACKGROUND_NICE = 19  # the follower's priority: CPU time the download itself does not want


def lower_thread_priority() -> None:
    """Run the calling thread, and the threads it starts from now on, at :data:`BACKGROUND_NICE`.

    Linux only, where ``setpriority(PRIO_PROCESS, tid)`` names one thread; elsewhere the same call would
    name the whole process (or nothing), so the follower runs at normal priority there and simply shares
    the CPU. A refusal (a sandbox without the call) changes nothing either.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except OSError:
        return


class Follower(threading.Thread):
    """Hashes a growing file into a catalog :class:`HashState` as far as the writer says it has written.

    The writer calls :meth:`wrote` after each write (cheap: a store, and a wake-up every few MiB) and
    :meth:`stop` when its try ends; it never waits for the follower. Whoever continues the state
    (the next try's follower, the finisher) calls :meth:`settle` first.
    """

    def __init__(self, state: HashState, part: Path, written: int) -> None:
        super().__init__(name="download-catalog-hashes-follower", daemon=True)
        self.state = state
        self._file = open(part, "rb", buffering=0)  # noqa: SIM115 - the thread closes it when it ends
        self._written = written
        self._next_wake = written + _WAKE_EVERY
        self._wake = threading.Event()
        self._stopping = False
        self.error: BaseException | None = None

    def wrote(self, written: int) -> None:
        """The file now holds ``written`` bytes (the writer's count: only bytes ``write`` accepted)."""
        self._written = written
        if written >= self._next_wake:
            self._next_wake = written + _WAKE_EVERY
            self._wake.set()

    def stop(self) -> None:
        """Stop after the chunk being read; does not wait (see :meth:`settle`)."""
        self._stopping = True
        self._wake.set()

    def settle(self) -> bool:
        """Stop, wait until every chunk handed over is hashed; True when :attr:`state` is sound."""
        self.stop()
        self.join()
        return self.error is None

    def run(self) -> None:
        lower_thread_priority()  # before the pipeline starts its hash threads, so they inherit it
        try:
            pipeline = HashPipeline(self.state, _READ_SIZE, _BUFFERS)
        except BaseException as error:  # threads could not start: the finisher does the work
            self.error = error
            self._file.close()
            return
        abandon = True
        try:
            self._follow(pipeline)
            abandon = False
        except BaseException as error:  # handed to whoever settles this follower
            self.error = error
        finally:
            try:
                pipeline.close(abandon=abandon)
            except BaseException as error:
                self.error = self.error or error
            self._file.close()

    def _follow(self, pipeline: HashPipeline) -> None:
        state = self.state
        while not self._stopping:
            left = self._written - state.length
            if left <= 0:
                self._wake.wait(_IDLE_WAIT_S)
                self._wake.clear()
                continue
            index = pipeline.take()
            pipeline.raise_lane_error()
            view = pipeline.views[index]
            if left < len(view):
                view = view[:left]
            self._file.seek(state.length)  # this thread is the handle's only reader
            n = self._file.readinto(view)
            if not n:  # the file is shorter than the writer said: leave the rest to the finisher
                pipeline.give_back(index)
                return
            pipeline.hand_over(index, n)


class CatalogHashes:
    """The catalog hashes of one download across its tries: a state, and the follower feeding it."""

    def __init__(self) -> None:
        self.state = HashState(CATALOG_LANES)
        self._follower: Follower | None = None

    def follow(self, part: Path, written: int) -> Follower:
        """Start following ``part``, which holds ``written`` bytes now and grows as the writer says."""
        self.settle()
        if written < self.state.length:  # the .part lost bytes this state has hashed: start it again
            self.state = HashState(CATALOG_LANES)
        self._follower = Follower(self.state, part, written)
        self._follower.start()
        return self._follower

    def reset(self) -> None:
        """Forget every byte hashed (the download starts again from its first byte)."""
        self.settle()
        self.state = HashState(CATALOG_LANES)

    def finish_behind(self, fd: int, size: int, sha256: str) -> Future[FileHashes]:
        """Every hash of the file open at ``fd`` (its first ``size`` bytes, SHA-256 given), in a thread of
        normal priority that owns and closes ``fd``; returns the future of the result."""
        follower, self._follower = self._follower, None
        state = self.state
        self.state = HashState(CATALOG_LANES)  # this download's next run (if any) starts afresh
        future: Future[FileHashes] = Future()

        def finish() -> None:
            try:
                with os.fdopen(fd, "rb", buffering=0) as file:
                    sound = follower is None or follower.settle()
                    catalog = state if sound and state.length <= size else HashState(CATALOG_LANES)
                    file.seek(catalog.length)
                    feed_file(file, catalog, until=size, chunk_size=_READ_SIZE)
                if catalog.length != size:
                    raise OSError(f"the downloaded file holds {catalog.length:,} bytes, not {size:,}")
                future.set_result(catalog.finish(sha256))
            except BaseException as error:  # the caller gets no hashes and hashes the file itself
                future.set_exception(error)

        threading.Thread(target=finish, name="download-catalog-hashes", daemon=True).start()
        return future

    def settle(self) -> None:
        """Stop the follower, if one runs, once its chunks are hashed; its handle on the file is closed
        when this returns (a move on Windows needs every handle closed)."""
        if self._follower is not None:
            if not self._follower.settle():
                self.state = HashState(CATALOG_LANES)
            self._follower = None
