"""Byte counts as people read them: B, KiB, MiB or GiB, whichever fits (a 9 KB file is not "0.0 MiB")."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(size: int | float) -> str:
    """``9216`` -> ``"9.0 KiB"``, ``512`` -> ``"512 B"``, ``6.9e9`` -> ``"6.4 GiB"`` (binary units)."""
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
