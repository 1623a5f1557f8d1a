"""What Windows refuses in a file or folder name, said once for every place that makes or checks names.

Windows refuses ``<>:"/\\|?*`` and control characters, and opens a device instead of a file for the
reserved names (``CON``, ``NUL``, ``COM1``... with any extension, ``nul.txt`` included). Names Atelier
makes from outside text (downloads, templates) avoid them on every system, since a library may later be
read from Windows; names a user types are refused for them only on Windows (:mod:`core.organize.names`).
"""

from __future__ import annotations

import re

FORBIDDEN_CHARACTERS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{number}" for device in ("COM", "LPT") for number in (*"123456789", "¹", "²", "³")}
)


def is_reserved_name(name: str) -> bool:
    """Whether Windows takes ``name`` for a device: its part before the first dot, trailing spaces
    dropped as Windows drops them, is a reserved name in any case (``Con .txt``, ``lpt¹.safetensors``)."""
    return name.split(".", 1)[0].rstrip(" ").upper() in RESERVED_NAMES
