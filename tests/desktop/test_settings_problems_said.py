"""A settings.json that cannot be used as it is (damaged: moved aside; values of the wrong type: ignored) is
said in the window once it is drawn, not only on stderr, which a start from a desktop launcher shows nobody.

Run as the user runs it: ``launch_gui`` (what ``main.py`` calls) in a fresh interpreter on a real data
folder; the message box is read and closed, then the window.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from catalog.library import Library
from tests.desktop.fresh_process import last_line_of

LAUNCH_AND_READ_THE_NOTICE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox
    from desktop.app import create_application
    from desktop.launch import launch_gui
    from desktop.main_window import MainWindow

    app = create_application(["atelier"])  # launch_gui goes on with this one
    seen = {}

    def look(left=300):
        boxes = [w for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if boxes and windows:
            box = boxes[0]
            seen["title"] = box.windowTitle()
            seen["text"] = box.text()
            seen["details"] = box.informativeText()
            seen["over the window"] = box.parent() is windows[0]
            box.accept()
            windows[0].close()
        elif left == 0:
            seen["timed out"] = True
            app.quit()
        else:
            QTimer.singleShot(50, lambda: look(left - 1))

    QTimer.singleShot(0, look)
    seen["exit"] = launch_gui(sys.argv[1], ["atelier"])
    print(json.dumps(seen))
    """
)


def test_a_damaged_settings_file_is_said_in_the_window_with_where_it_went(tmp_path: Path) -> None:
    data = tmp_path / "profile"
    Library.open(data / "catalog.sqlite3").close()
    (data / "settings.json").write_text('["theme", "dark"]')  # JSON, but not settings

    seen = json.loads(last_line_of(LAUNCH_AND_READ_THE_NOTICE, str(data), timeout=90))

    assert "timed out" not in seen
    assert seen["exit"] == 0
    assert seen["title"] == "Settings not read"
    assert seen["over the window"] is True
    assert f"it was moved to {data / 'settings.json.bad'}" in seen["details"]
    assert (data / "settings.json.bad").read_text() == '["theme", "dark"]'


def test_settings_of_the_wrong_type_are_said_and_the_rest_kept(tmp_path: Path) -> None:
    data = tmp_path / "profile"
    Library.open(data / "catalog.sqlite3").close()
    (data / "settings.json").write_text(json.dumps({"first_start_done": True, "thumbnail_size": "big"}))

    seen = json.loads(last_line_of(LAUNCH_AND_READ_THE_NOTICE, str(data), timeout=90))

    assert "timed out" not in seen
    assert seen["title"] == "Settings not read"
    assert "thumbnail_size" in seen["details"]
