"""Locates the bundled style sheet and icons in ``resources/`` next to the packages.

Files are read from disk (no compiled Qt resource file) so an icon or the style sheet can be edited
without a build step; the project's package data ships them alongside the code.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"
ICONS_DIR = RESOURCES_DIR / "icons"


def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``; an empty icon if it is missing (never an error)."""
    path = ICONS_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def style_sheet() -> str:
    path = RESOURCES_DIR / "style.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
