"""The window's first frame is drawn without PySide's QStyle type, and the app is in Fusion all the same.

PySide builds a class's Python enums when the class is first used; QStyle's are hundreds of members
(about 8 ms). The first frame does not need them: the style is named on the command line Qt reads
(``desktop.app.create_application``), and the sidebar's headings, all it shows then, are drawn by Qt's
own delegate. Checked in a fresh interpreter, since the test session has long used QStyle.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.desktop.fresh_process import last_line_of

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import PySide6.QtWidgets as widgets
    from PySide6.QtCore import QEvent, QObject, QTimer
    from catalog.library import Library
    from desktop.app import create_application, show_main_window
    from desktop.services import DesktopServices
    from tests.desktop.conftest import FakeSettings, populate

    tmp = Path(sys.argv[1])
    library = Library.open(tmp / "catalog.sqlite3")
    populate(library, tmp / "models")
    services = DesktopServices(
        library=library,
        settings=FakeSettings(),
        scan_roots=lambda ids, progress, cancel: "0 new",
        hash_pending=lambda progress, cancel: "nothing",
        discover_folders=list,
        add_root=library.add_root,
        cache_dir=tmp / "cache",
    )
    app = create_application(sys.argv)
    window = show_main_window(services, sys.argv)
    seen = {}

    def drawn():
        seen["first frame uses QStyle"] = "QStyle" in widgets.__dict__
        window.when_ready(lambda: QTimer.singleShot(200, app.quit))

    class FirstFrame(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and not seen:
                seen["painted"] = True
                QTimer.singleShot(0, drawn)  # once the whole frame (the window, then its children) is drawn
            return False

    first_frame = FirstFrame()
    window.installEventFilter(first_frame)
    app.exec()
    tiles = window.model.rowCount()
    app.setStyleSheet("")  # the style itself, not the sheet's layer over it
    print("qstyle", seen.get("first frame uses QStyle"), "style", app.style().name().lower(), "rows", tiles)
    library.close()
    """
)


def test_the_first_frame_is_drawn_without_qstyle_in_fusion(tmp_path: Path) -> None:
    # A desktop asking for another style (as KDE or GNOME may) still gets Fusion.
    last = last_line_of(SCRIPT, str(tmp_path), env={"QT_STYLE_OVERRIDE": "windows"})
    # The rows (drawn with the style's classes, once the first frame is on screen) show as before.
    assert last == "qstyle False style fusion rows 7", last
