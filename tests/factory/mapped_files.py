"""Which files this process has memory-mapped, as Linux lists them in ``/proc/self/maps``.

A file a tensor is still mapped from cannot be deleted, moved or replaced on Windows; the render tests
check on Linux that the renderer lets go of the files it read. Where the list does not exist (macOS,
Windows) those tests are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_MAPS = Path("/proc/self/maps")


def mapped_paths() -> set[Path]:
    """Every file mapped into this process (skips the calling test where the system does not say)."""
    if not _MAPS.exists():
        pytest.skip("/proc/self/maps lists mapped files on Linux only")
    found: set[Path] = set()
    for line in _MAPS.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            found.add(Path(fields[5].removesuffix(" (deleted)")))
    return found


def mapped_among(paths: list[Path]) -> list[Path]:
    """The ``paths`` (resolved) that are mapped into this process right now."""
    mapped = mapped_paths()
    return [path for path in (p.resolve() for p in paths) if path in mapped]
