"""Moving one file or folder without ever overwriting or losing anything, on one disk or across two.

* Same file system: a rename that refuses an existing target (:func:`core.no_overwrite.rename_no_replace`:
  atomic on Windows and Linux, a hard link then an unlink elsewhere).
* Across file systems (``EXDEV``): the bytes are copied to ``<target>.atelier-part``, flushed to disk,
  read back and compared (SHA256) with the catalog's hash or, when the catalog has none, with the hash of
  the source taken while copying; only then is the copy renamed into place and the source removed.

:func:`settle_move` is the same move made idempotent for recovery: whatever state a crash left (nothing
done, a half-written ``.atelier-part``, a hard link made but the source not yet unlinked, a copy in place
but the source not yet removed), it finishes the move, or raises when it cannot decide safely.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from pathlib import Path

from core.download_names import partial_path
from core.no_overwrite import rename_no_replace
from core.organize.errors import OrganizeError, TargetExistsError
from core.organize.plan import MOVE_PART_SUFFIX

PART_SUFFIX = MOVE_PART_SUFFIX  # the planner counts it in a path's length, so it is named there
CHUNK = 1 << 20


def part_path(target: Path) -> Path:
    """Where a copy across file systems is written before it is verified."""
    return partial_path(target, PART_SUFFIX)


def sha256_of(path: Path) -> str:
    """The SHA256 of a file (upper-case hex, as the catalog stores it)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest().upper()


def tree_size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (links not followed)."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size
    return sum((Path(top) / name).lstat().st_size for top, _, names in os.walk(path) for name in names)


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (a hard link, a case-only rename on a case-insensitive disk)."""
    try:
        first, second = a.lstat(), b.lstat()
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def move_path(source: Path, target: Path, *, expected_sha256: str | None = None) -> None:
    """Move ``source`` to ``target`` (a file or a folder); never replaces an existing ``target``.

    Raises TargetExistsError when ``target`` exists (and is not ``source`` itself), OrganizeError when a
    copy across file systems does not read back identical, OSError for what the file system refuses.
    """
    if not os.path.lexists(source):
        raise OrganizeError(f"{source} is missing: nothing was moved (rescan its folder)")
    if os.path.lexists(target):
        if same_file(source, target) and str(source).casefold() == str(target).casefold():
            source.rename(target)  # a case-only rename on a case-insensitive disk
            return
        raise TargetExistsError(f"{target} already exists: nothing was overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _rename_no_replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(source, target, expected_sha256)


def settle_move(source: Path, target: Path, *, expected_sha256: str | None = None) -> None:
    """Finish a move that may have been interrupted at any point (see the module docstring)."""
    part = part_path(target)
    if os.path.lexists(part):
        _remove(part)  # a copy cut short: start it again from the intact source
    has_source, has_target = os.path.lexists(source), os.path.lexists(target)
    if has_source and not has_target:
        move_path(source, target, expected_sha256=expected_sha256)
    elif has_source and has_target:
        if same_file(source, target):
            if str(source).casefold() == str(target).casefold():
                source.rename(target)
            else:
                source.unlink()  # the link to the target was made; only the old name was left
        elif source.is_dir() or _same_bytes(target, source, expected_sha256):
            _remove(source)  # the verified copy is in place; only the source was left
        else:
            raise TargetExistsError(f"{source} and {target} both exist and differ: both were kept")
    elif not has_target:
        raise OrganizeError(f"{source} is missing and {target} was never written")


def read_only_file_system(folder: Path) -> bool:
    """Whether ``folder`` (or, when it is not there yet, the nearest folder above it that is) is on a file
    system mounted read-only, where no file can be added, renamed or removed whatever its permissions.
    False where the system cannot say (Windows has no ``statvfs``; a read-only volume then fails at the
    first write, with its own words)."""
    if not hasattr(os, "statvfs"):
        return False
    current = folder
    while True:
        try:
            return bool(os.statvfs(current).f_flag & os.ST_RDONLY)
        except OSError:
            if current.parent == current:
                return False
            current = current.parent


def _same_bytes(copy: Path, source: Path, expected: str | None) -> bool:
    return sha256_of(copy) == (expected.upper() if expected else sha256_of(source))


def _rename_no_replace(source: Path, target: Path) -> None:
    try:
        rename_no_replace(source, target)
    except FileExistsError:
        raise TargetExistsError(f"{target} already exists: nothing was overwritten") from None


def _copy_across(source: Path, target: Path, expected_sha256: str | None) -> None:
    if not os.access(source.parent, os.W_OK):  # the source could not be removed after the copy
        raise OrganizeError(f"{source.parent} is read-only: {source.name} cannot be moved out of it")
    part = part_path(target)
    _remove(part)  # a copy an earlier run left cut short (the name is Atelier's own)
    try:  # a copy that fails (a full disk, a read error, Ctrl+C) leaves no partial file behind
        if source.is_symlink():
            part.symlink_to(source.readlink())  # the link itself moves, as a rename would move it
        elif source.is_dir():
            shutil.copytree(source, part, symlinks=True)
            _verify_tree(source, part)
        else:
            source_hash = _copy_file(source, part)
            copied = sha256_of(part)
            wanted = expected_sha256.upper() if expected_sha256 else source_hash
            if copied != wanted:
                raise OrganizeError(
                    f"the copy of {source} on the other disk read back different: the source was kept"
                )
        _rename_no_replace(part, target)
    except BaseException:
        _remove(part)
        raise
    _fsync_folder(target.parent)
    try:
        _remove(source)
    except OSError:
        if source.is_dir() and not source.is_symlink():
            raise  # part of the folder is gone already: the complete copy must stay
        target.unlink()  # one file at a time: never leave two copies behind
        raise


def _copy_file(source: Path, part: Path) -> str:
    """Copy ``source`` to ``part`` (created exclusively), flushed to disk; returns the source's SHA256."""
    digest = hashlib.sha256()
    with source.open("rb") as reader, part.open("xb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, part)
    return digest.hexdigest().upper()


def _verify_tree(source: Path, copy: Path) -> None:
    for top, _, names in os.walk(source):
        for name in names:
            original = Path(top) / name
            copied = copy / original.relative_to(source)
            if original.is_symlink():
                continue
            with copied.open("rb") as handle:
                os.fsync(handle.fileno())
            if sha256_of(original) != sha256_of(copied):
                raise OrganizeError(f"the copy of {original} on the other disk read back different: kept")


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
