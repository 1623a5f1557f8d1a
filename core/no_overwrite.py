"""Renaming a file or folder within one file system without ever replacing what is at the new name.

* Windows: ``os.rename`` (``MoveFileExW`` without ``MOVEFILE_REPLACE_EXISTING``) is atomic and refuses an
  existing target by itself. Hard links are no substitute there: FAT32, exFAT and many shares refuse
  them (with EINVAL, among others), and a file open in another program can be linked but not unlinked,
  which would leave it under two names.
* Linux: ``renameat2`` with ``RENAME_NOREPLACE`` does exactly that.
* Elsewhere, or where the flag is not supported (an old kernel, some file systems): a file is
  hard-linked to its target (``link`` fails on an existing name) and then unlinked; a folder, or a file
  on a file system without hard links, is renamed after an existence check.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

RENAME_NEVER_REPLACES = sys.platform == "win32"  # tests set it to take Windows' way on Linux
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_FLAG_NOT_SUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[..., int] = libc.renameat2
    except (OSError, AttributeError):
        return None
    return function


_RENAMEAT2 = _load_renameat2()


def rename_no_replace(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` on the same file system, atomically where the system allows.

    Raises FileExistsError when ``target`` exists (nothing is changed), OSError with ``EXDEV`` when the
    two are on different file systems, OSError for anything else the file system refuses.
    """
    if RENAME_NEVER_REPLACES:
        source.rename(target)  # os.rename: FileExistsError when target exists; EXDEV across drives
        return
    if _RENAMEAT2 is not None:
        result = _RENAMEAT2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE)
        if result == 0:
            return
        code = ctypes.get_errno()
        if code not in _FLAG_NOT_SUPPORTED:
            raise OSError(code, os.strerror(code), str(source), None, str(target))  # EEXIST: FileExistsError
    if not source.is_dir() or source.is_symlink():
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise  # FileExistsError when target exists
        else:
            source.unlink()
            return
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    source.rename(target)
