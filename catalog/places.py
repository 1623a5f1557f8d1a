"""Where the library roots really are, so that a file reached through a link is cataloged once.

A file has one row however many paths reach it through symlinks: a symlinked file or folder whose real
target lies inside a library root is skipped by the walk (the file is cataloged at its real path when that
root is walked), and a root that is itself a link into another root (the Stability Matrix shared-folder
layout: ``a1111/models/Lora -> SharedModels/Lora``) is not walked a second time. A link pointing outside
every root is cataloged at the link path, as the user sees it. Hard links and bind mounts are real paths
and keep their rows; the duplicate finder knows them as one file by (device, inode).

Free of database imports: the walk (``catalog.examine``) runs in the scanner's process and uses this.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _Root(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def path(self) -> str: ...


def is_under(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies below it (plain string test on normalized absolute paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass(frozen=True, slots=True)
class LibraryPlaces:
    """The real (symlink-resolved) paths of every library root."""

    real_roots: tuple[str, ...] = ()

    @classmethod
    def of(cls, root_paths: Iterable[str | Path]) -> LibraryPlaces:
        return cls(tuple(os.path.realpath(path) for path in root_paths))

    def contains(self, real_path: str) -> bool:
        """Whether a resolved path lies inside a library root (then it is cataloged at that path)."""
        return any(is_under(real_path, root) for root in self.real_roots)


def alias_of(root: _Root, roots: Sequence[_Root]) -> _Root | None:
    """The root that really holds ``root``'s folder when ``root`` is only a link into it, else None.

    Two roots nested by their own paths (``/lib`` and ``/lib/Lora``) reach the same files by the same
    paths, so neither is an alias. Two roots that are links to one folder: the one named by its real path
    walks it, else the older one.
    """
    real = os.path.realpath(root.path)
    written = _written(root.path)
    for other in sorted(roots, key=lambda r: r.id):
        if other.id == root.id:
            continue
        other_real = os.path.realpath(other.path)
        other_written = _written(other.path)
        if not is_under(real, other_real) or is_under(written, other_written):
            continue
        if real == other_real and _rank(root, real) < _rank(other, other_real):
            continue  # both are links to one folder and this root is the one that walks it
        return other
    return None


def reached_through_link(start: Path, root_path: str | Path) -> str | None:
    """The real path of ``start`` (a folder below a root) when a link below the root leads to it."""
    real = os.path.realpath(start)
    try:
        relative = os.path.relpath(_written(start), _written(root_path))
    except ValueError:  # another drive (Windows)
        return real
    expected = os.path.normpath(Path(os.path.realpath(root_path), relative))
    return None if real == expected else real


def _rank(root: _Root, real: str) -> tuple[int, int]:
    return (0 if _written(root.path) == real else 1, root.id)


def _written(path: str | Path) -> str:
    """The absolute path as written, links left unresolved (a link is what these checks look for)."""
    return os.path.normpath(Path(path).absolute())
