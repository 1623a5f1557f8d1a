"""The disk keeps room while a download writes: its free space is looked at as the bytes land.

Why: a download's size is not always known (a plain link, a Hub file without a listed size, a server that
sends no ``Content-Length``), and a server that never ends its body would otherwise be written until the
disk is full, taking the catalog's database, the system's logs and every other program's writes down with
it. So every download, whatever it knows of its size, stops while its disk still has its reserve free
(``reserve_of``), with one line that says so, and keeps its ``.part`` for a resume once space is freed.

The free space is looked at as the bytes land (one ``statvfs``, microseconds: never the pace setter): at the
first MiB, then again after half the room left above the reserve, at most ``CHECK_EVERY`` bytes later, so
a small disk (a 300 MiB tmpfs, whose reserve is 3 MiB) is looked at often enough to stop in time, and a
disk that other programs fill meanwhile stops the download too. It is not checked
against the listed size before the first byte: a compressing file system (btrfs, ZFS) or a network share
may take a file larger than the free space it reports, and the download would be refused for nothing;
a disk that really cannot take the file fills to its reserve and stops there, the bytes kept.

The reserve is small next to a model: ``FREE_SPACE_RESERVE`` (256 MiB), or ``RESERVE_SHARE`` of a small
disk's size: enough for the catalog's writes and the system to go on, never a reason to stop a file that
fits with room to spare.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.sizes import human_size
from core.sources.errors import DiskFullError

MIB = 1024 * 1024
FREE_SPACE_RESERVE = 256 * MIB  # a download never leaves less than this free on its disk…
RESERVE_SHARE = 0.01  # …or this share of a disk smaller than 25.6 GiB
CHECK_EVERY = 64 * MIB  # at most this many bytes written between two looks at the free space
FIRST_CHECK = MIB  # the first look, and the least between two


def reserve_of(total: int) -> int:
    """The bytes a download leaves free on a disk of ``total`` bytes."""
    return min(FREE_SPACE_RESERVE, int(total * RESERVE_SHARE))


class RoomGuard:
    """Stops, with ``DiskFullError``, a download that is leaving its disk under the reserve."""

    def __init__(self, part: Path) -> None:
        self._part = part
        self._next_check = FIRST_CHECK

    def wrote(self, done: int) -> None:
        """``done`` bytes are in the ``.part``: look at the free space when due, stop under the reserve."""
        if done < self._next_check:
            return
        try:
            usage = shutil.disk_usage(self._part.parent)
        except OSError:  # the system cannot say: the disk's own "full" error is the guard left
            self._next_check = done + CHECK_EVERY
            return
        reserve = reserve_of(usage.total)
        room = usage.free - reserve
        self._next_check = done + max(FIRST_CHECK, min(CHECK_EVERY, room // 2))
        if usage.free < reserve:
            name = self._part.name.removesuffix(".part")
            raise DiskFullError(
                f"The disk is nearly full ({human_size(usage.free)} free) while saving {name}: the download "
                f"stopped to keep {human_size(reserve)} free. {human_size(done)} are kept in "
                f"{self._part.name}; free some space and resume."
            )
