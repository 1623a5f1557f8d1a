"""Locates the bundled style sheet and icons in ``resources/`` next to the packages.

Files are read from disk (no compiled Qt resource file) so an icon or the style sheet can be edited
without a build step; the project's package data ships them alongside the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"
ICONS_DIR = RESOURCES_DIR / "icons"


def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``; an empty icon if it is missing (never an error)."""
    path = ICONS_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


_SHEET_IMAGE = re.compile(r"url\(icons:([^)]+)\)")


def style_sheet() -> str:
    """``resources/style.qss``, its images (written ``url(icons:NAME.svg)``) given by their absolute path
    in ``resources/icons``: found from any working folder without a Qt search path (``QDir``, whose types
    PySide would make at start-up for that one call)."""
    path = RESOURCES_DIR / "style.qss"
    if not path.is_file():
        return ""

    def absolute(match: re.Match[str]) -> str:
        image = (ICONS_DIR / match.group(1)).as_posix().replace("\\", "\\\\").replace('"', '\\"')
        return f'url("{image}")'

    return _SHEET_IMAGE.sub(absolute, path.read_text(encoding="utf-8"))
