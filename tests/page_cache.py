"""What the kernel's page cache holds of a file: whether its bytes are on disk yet (tests only).

``cachestat(2)`` (Linux 6.5+) counts a file's pages in memory that are dirty (not written yet) or under
writeback (being written). A file with neither is on disk as far as the kernel knows: this is how the
download tests tell "flushed" from "still in memory" without trusting the code under test. On a
filesystem that never writes back (tmpfs) or a kernel without the call, :func:`observes_writeback` is
False and those tests skip: they could not fail there.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path

_SYS_CACHESTAT = 451  # the same number in every architecture's syscall table


class _Range(ctypes.Structure):
    _fields_ = (("off", ctypes.c_uint64), ("len", ctypes.c_uint64))


class _Stat(ctypes.Structure):
    _fields_ = tuple(
        (name, ctypes.c_uint64) for name in ("cache", "dirty", "writeback", "evicted", "recently_evicted")
    )


@dataclass(frozen=True)
class PageCounts:
    cached: int
    dirty: int
    writeback: int

    @property
    def on_disk(self) -> bool:
        """No page of the file waits to be written."""
        return self.dirty == 0 and self.writeback == 0


def page_counts(path: Path) -> PageCounts:
    """The file's cached, dirty and under-writeback pages; OSError where the kernel cannot say."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "cachestat is Linux's")
    libc = ctypes.CDLL(None, use_errno=True)
    whole, stat = _Range(0, 0), _Stat()
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.syscall(_SYS_CACHESTAT, fd, ctypes.byref(whole), ctypes.byref(stat), 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(fd)
    return PageCounts(int(stat.cache), int(stat.dirty), int(stat.writeback))


def observes_writeback(folder: Path) -> bool:
    """Whether a file just written in ``folder`` shows dirty pages (so a test can see them go)."""
    probe = folder / ".page-cache-probe"
    probe.write_bytes(os.urandom(64 * 1024))
    try:
        return page_counts(probe).dirty > 0
    except OSError:  # no cachestat here (an old kernel, not Linux)
        return False
    finally:
        probe.unlink()
