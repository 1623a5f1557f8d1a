"""Opening the window must not import torch or diffusers (they belong to the renderer, loaded lazily).

Checked in a fresh interpreter, because the test session itself may have imported them; the script
goes through ``run_gui`` as ``main.py`` would, so it also checks the whole start-up path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from catalog.library import Library
from tests.desktop.fresh_process import ROOT, last_line_of

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from catalog.library import Library
    from desktop.app import create_application, run_gui
    from desktop.main_window import MainWindow
    from desktop.services import DesktopServices
    from tests.desktop.conftest import FakeSettings, populate

    tmp = Path(sys.argv[1])
    library = Library.open(tmp / "catalog.sqlite3")
    populate(library, tmp / "models")
    scans = []
    services = DesktopServices(
        library=library,
        settings=FakeSettings(),
        scan_roots=lambda ids, progress, cancel: scans.append(ids) or "0 new",
        hash_pending=lambda progress, cancel: "nothing",
        discover_folders=list,
        add_root=library.add_root,
        cache_dir=tmp / "cache",
    )
    app = create_application(sys.argv)
    seen = {}

    def check():
        windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["rows"] = windows[0].model.rowCount() if windows else -1
        if scans or seen.get("waited", 0) > 40:
            app.quit()
        else:
            seen["waited"] = seen.get("waited", 0) + 1
            QTimer.singleShot(50, check)

    QTimer.singleShot(100, check)
    code = run_gui(services, sys.argv)
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "diffusers", "transformers", "peft"})
    print("rows", seen.get("rows"), "scans", len(scans), "code", code, "heavy", ",".join(heavy) or "-")
    library.close()
    """
)


def test_the_window_opens_without_torch(tmp_path: Path) -> None:
    last = last_line_of(SCRIPT, str(tmp_path))
    assert last == "rows 7 scans 1 code 0 heavy -", last


def test_the_window_modules_import_no_network_or_database_library() -> None:
    """The first paint must not wait for requests, SQLAlchemy or the Hub client: the window's modules
    (and the job runner every tab uses) import them only when a site or the catalog is first used."""
    script = (
        "import sys, desktop.launch, desktop.app, desktop.main_window, desktop.workers\n"
        "heavy = {'requests', 'sqlalchemy', 'alembic', 'huggingface_hub', 'numpy', 'torch', 'keyring'}\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & heavy)) or '-')\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-"


FIRST_FRAME_THROUGH_MAIN = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication
    from desktop.app import create_application
    import main

    app = create_application(["atelier"])  # made here only to watch the paint events; main finds it made
    seen = []

    class FirstFrame(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and not seen:
                seen.append(sorted(sys.modules))
                QTimer.singleShot(0, app.quit)
            return False

    first_frame = FirstFrame()
    app.installEventFilter(first_frame)
    code = main.main(["--data-dir", sys.argv[1]])
    print(json.dumps({"code": code, "modules": seen[0] if seen else None}))
    """
)


def test_main_draws_the_first_frame_before_the_parser_the_records_and_msgspec(tmp_path: Path) -> None:
    """``python main.py`` (here with ``--data-dir``, as the bench starts it) draws its first frame
    without the command-line parser (``app.cli``, every command's help), the catalog's records (a score
    of dataclasses, read with the rows after that frame), msgspec (the model-file readers') and the
    identification tables behind the base-model words (the tiles' and the table's, drawn with the rows):
    each costs the first frame milliseconds a bare Qt window does not pay (the tables ~4 ms)."""
    data = tmp_path / "profile"
    Library.open(data / "catalog.sqlite3").close()  # a library, empty: the window opens on it
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME_THROUGH_MAIN, str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0
    modules = set(seen["modules"])
    assert "desktop.main_window" in modules, "the frame seen is the window's"
    later = {"app.cli", "app.cli_registry", "catalog.records", "msgspec", "sqlalchemy", "alembic", "requests"}
    later |= {"core.identify.vocabulary", "core.sources.site_words"}  # identification's tables: with the rows
    assert sorted(modules & later) == [], "loaded before the first frame"
