"""Benchmark: time until the Atelier window is on screen, against a bare PySide6 window.

Both are measured the same way, in fresh interpreters (so imports count): from process start until the
window has been shown and painted. Atelier opens on a catalog of 10,000 models (``--rows``), as a large
library would. Targets: first paint <= 1.5x the bare window; the models visible <= 0.4 s after it (the
catalog is opened and read on a job thread once the window is drawn).

Python writes its bytecode cache here as it does on a user's machine: ``PYTHONDONTWRITEBYTECODE`` (set in
some development shells) is dropped for the timed processes, since it would make every start compile
Atelier's modules from source while PySide6 is measured from its installed bytecode.

    python -m bench.bench_startup [--rows 10000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_search import build
from catalog.library import Library

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
TARGET_ROWS_AFTER_PAINT_S = 0.4

BARE = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication([])
window = QMainWindow()
window.setCentralWidget(QLabel("hello"))
window.resize(1280, 800)
window.show()
window.repaint()
shown = time.time()
QTimer.singleShot(0, app.quit)
app.exec()
print(shown, time.time())
"""

ATELIER = """
import sys, time
from PySide6.QtCore import QTimer
from desktop.app import create_application
from app.context import AppContext
from desktop.launch import build_services
from desktop.main_window import MainWindow
from desktop.theme import apply_theme
services = build_services(AppContext(sys.argv[1]))
app = create_application(["atelier"])
apply_theme(app, services.settings.theme)
window = MainWindow(services, load_later=True)
window.resize(1280, 800)
window.show()
window.repaint()
shown = time.time()
visible = []
def rows_shown():
    if window.model.rowCount() > 0 and not visible:
        visible.append(time.time())
        QTimer.singleShot(0, app.quit)
window.model.modelReset.connect(rows_shown)
window.model.rowsInserted.connect(rows_shown)
app.exec()
assert visible, "the catalog was not loaded"
assert "torch" not in sys.modules, "the window must start without torch"
print(shown, visible[0])
"""


def _time_process(code: str, *args: str) -> tuple[float, float]:
    """Seconds from spawning the interpreter until the window is drawn, and until its first load ends."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    shown, loaded = (float(x) for x in out.split())
    return shown - started, loaded - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="atelier-bench-start-") as tmp:
        data_dir = Path(tmp) / "profile"
        library = Library.open(data_dir / "catalog.sqlite3")
        build(library, Path(tmp) / "models", args.rows, seed=1)
        library.close()
        (data_dir / "settings.json").write_text(json.dumps({"first_start_done": True}))
        _time_process(BARE)  # warm the OS caches for both
        _time_process(ATELIER, str(data_dir))
        bare = [_time_process(BARE)[0] for _ in range(args.runs)]
        ours = [_time_process(ATELIER, str(data_dir)) for _ in range(args.runs)]

    bare_s = statistics.median(bare)
    ours_s = statistics.median(shown for shown, _ in ours)
    loaded_s = statistics.median(loaded for _, loaded in ours)
    after_paint_s = statistics.median(loaded - shown for shown, loaded in ours)
    result = {
        "rows": args.rows,
        "bare_window_s": round(bare_s, 3),
        "atelier_window_s": round(ours_s, 3),
        "ratio": round(ours_s / bare_s, 2),
        "target_ratio": TARGET_RATIO,
        "atelier_rows_visible_s": round(loaded_s, 3),
        "rows_visible_ratio": round(loaded_s / bare_s, 2),
        "rows_visible_after_paint_s": round(after_paint_s, 3),
        "target_rows_after_paint_s": TARGET_ROWS_AFTER_PAINT_S,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"window start: Atelier {ours_s:.3f} s vs bare PySide6 window {bare_s:.3f} s; "
        f"ratio {result['ratio']} (target <= {TARGET_RATIO})"
    )
    print(
        f"  {args.rows} models visible {after_paint_s:.3f} s after the first paint "
        f"(target <= {TARGET_ROWS_AFTER_PAINT_S} s); {loaded_s:.3f} s from start: "
        f"ratio {result['rows_visible_ratio']} to the bare window"
    )


if __name__ == "__main__":
    random.seed(0)
    main()
