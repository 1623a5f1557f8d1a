"""Opening the window must not import torch or diffusers (they belong to the renderer, loaded lazily).

Checked in a fresh interpreter, because the test session itself may have imported them; the script
goes through ``run_gui`` as ``main.py`` would, so it also checks the whole start-up path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last == "rows 7 scans 1 code 0 heavy -", result.stdout + result.stderr


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
