"""A returning user's first frame is drawn without PySide's ``Qt`` namespace, and looks as it did.

PySide builds the namespace's 93 enum types at once (~127M instructions) the first time anything reaches
it (see ``desktop.qt_namespace``). A first start asks the desktop's colour scheme and places the board
by its dock area, both ``Qt`` enums; closing the window keeps what the next start needs instead (the
docks' state, the scheme, the status line's height). Run as the user runs it, in fresh interpreters:
``open_window`` on a data folder, closed with the window's own close, started again.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from catalog.library import Library
from tests.desktop.conftest import populate
from tests.desktop.fresh_process import last_line_of

# Nothing here names ``Qt`` before the first frame: the script would build the namespace itself.
START_AND_CLOSE = textwrap.dedent(
    """
    import json, sys
    from PySide6 import QtCore
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication
    from app.context import AppContext
    from desktop.launch import open_window

    window = open_window(AppContext(sys.argv[1]), ["atelier"])  # as main.py opens it
    app = QApplication.instance()
    seen = {}

    def shape():
        dock = window.compose_dock
        return {
            "window": window.size().toTuple(),
            "status bar": window.statusBar().geometry().getRect(),
            "splitter": window.splitter.sizes(),
            "board": dock.geometry().getRect() if dock is not None and dock.isVisible() else None,
            "window colour": app.palette().window().color().name(),
        }

    class FirstFrame(QObject):
        def eventFilter(self, watched, event):
            if watched is window and event.type() == QEvent.Type.Paint and "first" not in seen:
                seen["namespace at the first frame"] = "Qt" in vars(QtCore)
                seen["first"] = shape()
            return False

    first_frame = FirstFrame()
    window.installEventFilter(first_frame)

    def complete():
        seen["complete"] = shape()
        Qt = QtCore.Qt
        area = window.dockWidgetArea(window.compose_dock)
        seen["board on the right"] = area == Qt.DockWidgetArea.RightDockWidgetArea
        seen["board width"] = window.compose_dock.width()
        window.close()  # the window's own close: what it keeps for the next start
        app.quit()

    window.when_ready(lambda: QTimer.singleShot(300, complete))
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    print(json.dumps(seen))
    """
)


def _start_and_close(data: Path) -> dict[str, object]:
    seen = json.loads(last_line_of(START_AND_CLOSE, str(data), timeout=90))
    assert isinstance(seen, dict)
    return seen


def test_a_returning_users_first_frame_needs_no_qt_namespace_and_has_the_shape_left(tmp_path: Path) -> None:
    data = tmp_path / "profile"
    library = Library.open(data / "catalog.sqlite3")
    try:
        populate(library, tmp_path / "models")
    finally:
        library.close()
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))

    first_start = _start_and_close(data)
    assert first_start["namespace at the first frame"] is True, "a first start asks the desktop"
    assert first_start["first"] == first_start["complete"]
    assert first_start["board on the right"] is True
    kept = json.loads((data / "settings.json").read_text())
    assert kept["window_state"]
    assert kept["desktop_scheme"] == "light"  # Qt's offscreen desktop is not dark
    assert kept["status_line_font"]
    assert kept["status_line_height"] > 0
    assert kept["board_width"] == first_start["board width"]

    returning = _start_and_close(data)
    assert returning["namespace at the first frame"] is False
    assert returning["first"] == returning["complete"], "the first frame has the window's final shape"
    assert returning["first"] == first_start["complete"], "as the user left it"
    assert returning["board on the right"] is True
    assert returning["board width"] == kept["board_width"]
