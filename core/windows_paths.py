"""The longest full path this system lets Atelier create, so a plan refuses what would fail half-way.

Windows (the Win32 file functions every Python file call goes through) refuses a path longer than
``MAX_PATH``, 260 UTF-16 units counting the terminating NUL: a file's full path is at most 259 characters.
Creating a folder is stricter: ``CreateDirectory`` keeps room for an 8.3 name after it ("the directory name
cannot exceed MAX_PATH minus 12", Microsoft's "Naming Files, Paths, and Namespaces"), so a folder's full
path is at most 247 characters (248 with the NUL). Past either limit a step fails with
``ERROR_PATH_NOT_FOUND`` (WinError 3) or ``ERROR_FILENAME_EXCED_RANGE`` (206), in the middle of a move or
when a download creates its ``.part``; a plan checked against these numbers shows the problem first.

Windows 10 1607 and later lift both limits when ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem``
``LongPathsEnabled`` is 1 and the program says it is ``longPathAware`` in its manifest, as python.org's
``python.exe`` does. Windows reads the value once when a process starts, so it is read once here too.
Elsewhere (Linux, macOS) only the 255-byte limit of one name applies, which the planners check on their own.

Lengths are counted in UTF-16 units as Windows counts them: a character outside the Basic Multilingual
Plane (an emoji) counts two. Tests set ``WINDOWS`` and ``read_long_paths_setting`` to take the Windows
branch on Linux.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

WINDOWS = os.name == "nt"  # tests set it to take Windows' limits on Linux
MAX_FILE_PATH = 259  # MAX_PATH (260) less the terminating NUL
MAX_FOLDER_PATH = 247  # MAX_PATH less room for an 8.3 name (12), less the NUL
LONG_PATHS_KEY = r"SYSTEM\CurrentControlSet\Control\FileSystem"
LONG_PATHS_VALUE = "LongPathsEnabled"
HOW_TO_LIFT = "enable long paths in Windows (LongPathsEnabled)"


@dataclass(frozen=True)
class PathLimits:
    """The longest full path, in characters, of a file and of a folder this system lets a program create."""

    file: int
    folder: int


WINDOWS_LIMITS = PathLimits(MAX_FILE_PATH, MAX_FOLDER_PATH)


def _long_paths_setting_in_registry() -> int | None:
    """``LongPathsEnabled`` as the registry holds it; None when it is missing or cannot be read."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, LONG_PATHS_KEY) as key:
            value, kind = winreg.QueryValueEx(key, LONG_PATHS_VALUE)
    except OSError:
        return None
    return value if kind == winreg.REG_DWORD and isinstance(value, int) else None


read_long_paths_setting: Callable[[], int | None] = functools.cache(_long_paths_setting_in_registry)


def path_limits() -> PathLimits | None:
    """The limits of full paths here, or None when there is no practical limit (long paths enabled, or
    not Windows). Costs one registry read per process, then nothing."""
    if not WINDOWS or read_long_paths_setting() == 1:
        return None
    return WINDOWS_LIMITS


def path_length(path: str | os.PathLike[str]) -> int:
    """``path``'s length as Windows counts it (UTF-16 units); a plain length for ASCII, the usual case."""
    text = os.fspath(path)
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2
