"""Entry point of the desktop app: ``run_gui(services, argv)`` sets up Qt and shows the main window.

The window is shown before any work starts; the first-start offer and the first scan are scheduled on
the event loop right after, so the user sees the library (as last cataloged) immediately and the scan's
progress in the status bar.

On a read-only data folder (``read_only`` is the sentence that says so) the window opens with a banner
saying it, and none of the background work that writes is started.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from desktop.main_window import MainWindow
from desktop.resources import icon
from desktop.services import DesktopServices
from desktop.theme import (
    FUSION,
    IN_FUSION,
    apply_style_sheet,
    apply_theme,
    follow_system_scheme,
)
from desktop.widgets.after_paint import after_next_paint


def create_application(argv: Sequence[str]) -> QApplication:
    """The QApplication in the Fusion style (see ``desktop.theme``), created once (tests and embedding
    may already have one).

    The style is named on the command line Qt reads as it makes the application: set from Python
    (``setStyle``, or ``style()`` to check it), PySide would build its QStyle type, hundreds of enum
    members, about 8 ms before the window's first frame, which draws without it. Fractional screen
    scales are used as they are: Qt 6's default rounding (PassThrough), which set from Python would
    build PySide's whole ``Qt`` namespace first (see ``desktop.qt_namespace``).
    """
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication([*argv, "-style", FUSION])
    app.setProperty(IN_FUSION, True)
    app.setApplicationName("Atelier")
    app.setApplicationDisplayName("Atelier")
    app.setOrganizationName("Atelier")
    app.setDesktopFileName("atelier")
    app.setWindowIcon(icon("app"))
    return app


def show_main_window(
    services: DesktopServices, argv: Sequence[str], *, read_only: str | None = None
) -> MainWindow:
    """Builds the main window, styles it and shows it; the rows and the rest follow on the event loop.

    The style sheet is set once the window's widgets exist: set before, Qt matches its rules again for
    every widget as it is added to its parent (see ``desktop.theme.apply_theme``).
    """
    app = create_application(argv)
    settings = services.settings
    apply_theme(app, settings.theme, with_style_sheet=False, desktop_scheme=settings.desktop_scheme)
    window = MainWindow(services, load_later=True)
    if read_only is not None:
        from desktop.read_only import mark_read_only

        mark_read_only(window, read_only)
    apply_style_sheet(app)
    window.show()
    # The sheet's paddings and fonts change sizes the layouts had already worked out: lay them out again
    # now, before the first frame is drawn, so that frame is not redrawn with the status bar taller.
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    window.take_its_first_size()  # laid out: its minimum is known (a screen smaller than that)
    # Drawn in the desktop's scheme of the last session (Settings.desktop_scheme): asked once drawn, and
    # followed from then on.
    after_next_paint(window, lambda: follow_system_scheme(app))
    if read_only is None:  # first-start offer, watching and scanning all write to the catalog
        window.when_ready(window.start_background_work)  # once the rows are shown
    return window


def run_gui(services: DesktopServices, argv: Sequence[str], *, read_only: str | None = None) -> int:
    """Shows the main window and runs the event loop; returns the process exit code."""
    window = show_main_window(services, argv, read_only=read_only)  # kept while the loop runs
    code = int(create_application(argv).exec())
    del window
    return code
