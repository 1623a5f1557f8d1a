"""The window on a read-only data folder: it shows the library and says, in a banner, why nothing changes.

The catalog is opened read-only below (``app.catalog_access``); here the window is told so in plain
sight: a strip above the library with the refusal sentence, "read-only" in the title, and no background
work that writes (first-start offer, watching, scanning, hashing; ``desktop.launch`` leaves the site,
download and render parts out). A change the user still asks for (a rating, a tag, a move) reaches the
catalog, which refuses it with an ``AtelierError``; wherever a widget did not catch it itself, the
refusal is shown in a message box instead of ending as a traceback on the terminal.
"""

from __future__ import annotations

import sys
from types import TracebackType

from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSizePolicy, QToolBar

from core.errors import AtelierError
from desktop.qt_namespace import Qt

BANNER_NAME = "readOnlyBanner"


def mark_read_only(window: QMainWindow, message: str) -> QToolBar:
    """Add the read-only banner (a fixed strip at the top) and say it in the title; returns the strip."""
    banner = QToolBar("Read-only", window)
    banner.setObjectName(BANNER_NAME)
    banner.setMovable(False)
    banner.setFloatable(False)
    banner.toggleViewAction().setEnabled(False)  # not hidden by the toolbar context menu by mistake
    label = QLabel(f"Read-only.  {message}")
    label.setObjectName("readOnlyMessage")
    label.setToolTip(message)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    label.setContentsMargins(10, 6, 10, 6)
    label.setStyleSheet("font-weight: 600; color: #4a3b00;")
    banner.addWidget(label)
    banner.setStyleSheet("QToolBar#readOnlyBanner { background: #fff4ce; border-bottom: 1px solid #e0c060; }")
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, banner)
    # Qt adds " — Atelier" (the application's display name) to a title that does not end with it.
    window.setWindowTitle("Read-only library")
    _show_refusals_in(window)
    return banner


def _show_refusals_in(window: QMainWindow) -> None:
    """Route an ``AtelierError`` escaping a slot (a write the catalog refused) to a message box."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if isinstance(error, AtelierError):
            QMessageBox.information(window, "Read-only library", error.message)
            # A widget may already show the change it asked for (a star lit): show the catalog's truth.
            reload = getattr(window, "reload", None)
            if callable(reload):
                reload()
            return
        previous(kind, error, trace)

    sys.excepthook = hook
