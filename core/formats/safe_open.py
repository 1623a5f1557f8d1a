"""Open a file for reading only when it is a regular file, so no name can make a reader block or lie.

A named pipe called ``model.safetensors`` (or ``model.civitai.info``) blocks ``open()`` forever until a
writer appears; a character device streams without end; a symlink loop or a link to nothing fails with an
errno that reads as "damaged". Every reader of a user's file goes through here: the path is checked with
``stat`` before anything is opened, opened with ``O_NONBLOCK`` (a FIFO swapped in after the check opens at
once rather than blocking) and checked again on the open descriptor, so what is read is the regular file
that was checked.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from core.formats.errors import UnreadableFileError

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# How a file's bytes are opened for reading by descriptor. ``O_BINARY`` matters on Windows: a descriptor
# from ``os.open`` without it is in the C runtime's text mode there, whose reads turn CR LF into LF and
# stop at the first 0x1A byte, so headers would be misread and every hash wrong (``open()`` by name adds
# it itself; ``tempfile`` adds it the same way). Elsewhere it is 0.
READ_BYTES = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS = READ_BYTES | _NONBLOCK | getattr(os, "O_NOCTTY", 0)
_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def special_kind(mode: int) -> str | None:
    """What a non-regular file is, in words ("a named pipe (FIFO)"); None for a regular file."""
    if stat.S_ISREG(mode):  # nearly every call: one test instead of the five below
        return None
    for test, words in _SPECIAL:
        if test(mode):
            return words
    return "not a regular file"


def unreadable_reason(path: Path, exc: OSError) -> str:
    """Why ``path`` could not be opened, in words that tell a broken link from a missing permission."""
    code = exc.errno
    if code == errno.ELOOP:
        return "a symbolic link that loops back on itself; there is no file at its end"
    if code in {errno.ENOENT, errno.ENOTDIR} and path.is_symlink():
        try:
            target = str(path.readlink())
        except OSError:
            target = "?"
        return f"a symbolic link to {target}, which does not exist"
    if code in {errno.EACCES, errno.EPERM}:
        return "no permission to read the file"
    if code == errno.ENAMETOOLONG:
        return "the name is longer than the file system allows"
    return f"cannot read the file: {exc.strerror or exc}"


def check_regular(path: Path) -> os.stat_result:
    """``stat`` of ``path`` (following links) if it is a regular file; ``UnreadableFileError`` otherwise."""
    try:
        st = path.stat()
    except OSError as exc:
        raise UnreadableFileError(unreadable_reason(path, exc)) from None
    kind = special_kind(st.st_mode)
    if kind is not None:
        raise UnreadableFileError(f"{kind}, not a file; it was not opened")
    return st


def open_regular(path: Path, *, buffering: int = -1) -> BinaryIO:
    """Open ``path`` for binary reading if, and only if, it is a regular file.

    Raises ``UnreadableFileError`` with a specific reason for special files, link loops, dangling links
    and missing permissions; a plain missing file raises ``FileNotFoundError`` as ``open`` would, because
    callers already treat a file that vanished between the walk and the read as gone.
    """
    try:
        st = path.stat()
    except ValueError:  # a NUL in the name: no such file, as ``Path.exists`` says
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path)) from None
    except OSError as exc:
        if exc.errno not in _NOTHING_THERE:
            raise  # a permission refused on the way, as ``Path.exists`` raises it
        if not path.is_symlink():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path)) from None
        raise UnreadableFileError(unreadable_reason(path, exc)) from None
    return _open_checked(path, st, buffering)[0]


def open_file(path: Path, *, buffering: int = -1) -> tuple[BinaryIO, os.stat_result]:
    """Open a path found as a file (a scan's): one ``stat``, one ``open``, one ``fstat``.

    Unlike :func:`open_regular`, anything but a regular file - a folder, a path that is gone - raises
    ``UnreadableFileError`` with :func:`check_regular`'s reason. Returns the open file and the ``fstat``
    of its descriptor (its size, read once).
    """
    check_regular(path)
    return _open_verified(path, buffering)


# The errnos ``Path.exists`` reads as "nothing there" (pathlib's _IGNORED_ERRNOS).
_NOTHING_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _open_checked(path: Path, st: os.stat_result, buffering: int) -> tuple[BinaryIO, os.stat_result]:
    """Open ``path``, whose ``stat`` was ``st``, if that and its open descriptor are a regular file."""
    kind = special_kind(st.st_mode)
    if kind is not None:
        raise UnreadableFileError(f"{kind}, not a file; it was not opened")
    return _open_verified(path, buffering)


def _open_verified(path: Path, buffering: int) -> tuple[BinaryIO, os.stat_result]:
    """Open ``path``, whose ``stat`` said a regular file, if its open descriptor is one too."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise UnreadableFileError(unreadable_reason(path, exc)) from None
    try:
        opened = os.fstat(fd)
        kind = special_kind(opened.st_mode)
        if kind is not None:  # swapped after the check
            raise UnreadableFileError(f"{kind}, not a file; it was not opened")
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return open(fd, "rb", buffering=buffering), opened
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: int) -> bytes:
    """The whole of a small regular file (a sidecar, a config), refusing one larger than ``limit`` bytes.

    Raises ``UnreadableFileError`` as ``open_regular`` does, and ``ValueError`` naming the limit when the
    file is larger: a 2 GB ``.json`` beside a model is not a sidecar and must not be read into memory.
    """
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path.name} is larger than {limit:,} bytes; it was not read")
    return data
