"""Folders that are never a library folder: the whole disk, the user's home itself, the system's own.

Adding one is a slip (``download … --to /``, ``scan ~``), and its cost is high: the next scan walks the
whole disk, catalogs thousands of files that are no models and hashes every one. ``Library.add_root``
asks this module before anything is written, so ``scan DIR``, ``roots add``, ``download --to``, ``mirror
--add-roots`` and the window all refuse the same folders with the same sentence. A folder *inside* one of
these (``~/models``, ``/mnt/models``, ``D:\\SD``) is what users mean and is accepted.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath, PureWindowsPath

from catalog.errors import CatalogError
from core.errors import UsageError

WINDOWS = os.name == "nt"

# The system's own folders (compared by name under the file-system root): never where a user keeps models.
_POSIX_SYSTEM = frozenset(
    {"bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys"}
    | {"usr", "var", "Applications", "Library", "System", "Users", "Volumes"}
)
_WINDOWS_SYSTEM = frozenset({"windows", "program files", "program files (x86)", "programdata", "users"})


class NotALibraryFolderError(CatalogError, UsageError):
    """A folder that must not become a library folder (see the module docstring)."""


def refuse_unfit_root(folder: Path, home: Path | None = None) -> None:
    """Raise :class:`NotALibraryFolderError` when ``folder`` (resolved) is the file-system or a drive's
    root, ``home`` (default: the user's home) itself, or one of the system's folders."""
    why = _unfit(folder, home if home is not None else Path.home())
    if why is not None:
        raise NotALibraryFolderError(
            f"{folder} is {why}, not a library folder: its next scan would catalog every file on it. "
            "Give the folder that holds your models (e.g. ~/stable-diffusion-webui or a folder inside it)."
        )


def _unfit(folder: Path, home: Path) -> str | None:
    path: PurePath = PureWindowsPath(folder) if WINDOWS else folder
    anchor = type(path)(path.anchor)
    if path == anchor or not path.name:
        return "the root of a drive" if WINDOWS else "the root of the file system"
    if _same(path, home):
        return "your home folder itself"
    if path.parent == anchor:
        system = _WINDOWS_SYSTEM if WINDOWS else _POSIX_SYSTEM
        if (path.name.lower() if WINDOWS else path.name) in system:
            return "a folder of the system"
    return None


def _same(path: PurePath, home: Path) -> bool:
    if WINDOWS:
        return str(path).rstrip("\\").lower() == str(PureWindowsPath(home)).rstrip("\\").lower()
    try:
        return path == home or path == home.resolve()
    except OSError:
        return path == home
