"""Benchmark: time until the Atelier window is on screen, against a bare PySide6 window.

Both are measured the same way, in fresh interpreters (so imports count): from process start until the
window's first frame has been drawn (the first paint event, handled on the event loop once the window is
exposed; ``show()`` returns long before). Atelier starts as ``python main.py`` does (through
``main.main``: the command line read, the window opened, the event loop run) on a catalog of 10,000 models
(``--rows``), as a large library would.

The probe watches the window it times (a Python event filter on that widget, installed by the event loop's
first event, before the window system has exposed the window), not the whole application. Until
2026-12-06 it filtered every event of the application: a Python call for each of the ~2,600 events of
building Atelier's window, and on meeting Qt's private classes (a combo box's popup, a line edit's icon
button) PySide made every Python type it had left for later (~130 enums, 20-35 ms): costs no user's
start pays, the bare window's the second one only.

Atelier's modules are imported where ``main.main`` imports them (the probe steps in where the window is
opened); until 2026-12-06 the probe imported them itself before calling ``main.main``, which put them
before anything ``main`` does first (such as pausing the cycle collector for the start).

The start timed is a returning user's, the one users have every day: the data folder's window has been
opened and closed once before (closing keeps the docks' state, the desktop's colour scheme and the status
line's height, with which the next first frame needs no ``Qt`` enum, see ``desktop.qt_namespace``, and
the catalog file's fingerprint, with which it does not read the catalog's schema revision: see
``desktop.catalog_check``; each timed start that runs to its rows closes as a user's does and keeps them
again). With
``--instructions`` the first start is counted too (a copy of the catalog in a data folder whose window
never closed: it asks the desktop its colour scheme and names the board's dock area, so PySide builds its
whole ``Qt`` namespace before the first frame).

Targets: first paint <= 1.5x the bare window; the models visible <= 0.4 s after it (the catalog is opened
and read on a job thread once the window is drawn).

Seconds depend on the machine's load (2 cores shared by several processes make every ratio wander);
``--instructions`` also counts, under valgrind's callgrind, the instructions each start executes until
its first frame, one run each: the same figure on a busy machine as on a quiet one.

Python writes its bytecode cache here as it does on a user's machine: ``PYTHONDONTWRITEBYTECODE`` (set in
some development shells) is dropped for the timed processes, since it would make every start compile
Atelier's modules from source while PySide6 is measured from its installed bytecode.

A checkout of another commit is timed the same way, in turn with this one, with ``--compare TREE``; where
its catalog schema differs (a migration added since), ``--compare-profile DIR`` gives it its own data folder
(built by that checkout with ``--profile DIR``, the same models from the same seed), since a checkout
refuses a catalog written by a newer one. On one data folder, a checkout from before 2026-12-07 leaves the
catalog's fingerprint changed at each close (``catalog.db_file.catalog_fingerprint``), so this one's next
start reads the schema revision again: give each its own folder for a returning user's start on both.

``--replica`` also times ``bench.startup_replica``: the first frame's widgets in stock PySide6, without any
of Atelier's code, which tells what a window of these widgets costs from what Atelier's own code adds; and
the bare window with its label centred (``BARE_QT_NAMESPACE``), which tells what PySide's ``Qt`` namespace
alone costs, a part of every real window that the bare one never pays.

    python -m bench.bench_startup [--rows 10000] [--runs 5] [--json] [--profile DIR] [--compare TREE]
        [--compare-profile DIR] [--instructions] [--replica]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.startup_replica import REPLICA_WINDOW
from bench.user_env import user_env

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
TARGET_ROWS_AFTER_PAINT_S = 0.4
START_TIMEOUT_S = 120  # a start that shows a dialog (a catalog it cannot open) would wait for ever

# Both scripts time the first frame the same way: a window's paint happens on the event loop once the
# window is exposed (``show()`` and ``repaint()`` return before anything is drawn), so the time is taken
# when the loop comes back from the window's first paint event, that is once the whole frame (the window,
# then its children) has been drawn. The probe watches the widgets it times, not the application: it is
# installed on the window by the event loop's first event (posted before the window is made), so it adds
# nothing to the building of either window (see the module's docstring).
FIRST_FRAME_ONLY = "ATELIER_BENCH_FIRST_FRAME_ONLY"  # set: the probed process ends at its first frame
PROBE = (
    f"FIRST_FRAME_ONLY = {FIRST_FRAME_ONLY!r}\n"
    + """
import os
import time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

class Frames(QObject):
    \"\"\"Times one frame per target: ``(widget, drawn)``, where ``widget()`` is the widget to watch, asked
    once the loop turns (the window) or once the previous frame is drawn, and ``drawn()`` says whether its
    paint is the one timed.\"\"\"
    def __init__(self, targets):
        super().__init__()
        self.targets, self.times, self.pending, self.watched = list(targets), [], False, None
        self.cpu = []  # the process's CPU time (every thread) at each frame
        QTimer.singleShot(0, self.watch_next)  # the loop's first event: the window is shown, not drawn
    def watch_next(self):
        widget, _drawn = self.targets[len(self.times)]
        self.watched = widget()
        self.watched.installEventFilter(self)
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not self.pending and self.targets[len(self.times)][1]():
            self.pending = True
            QTimer.singleShot(0, self.drawn)
        return False
    def drawn(self):
        self.times.append(time.time())
        self.cpu.append(time.process_time())
        self.pending = False
        self.watched.removeEventFilter(self)
        if os.environ.get(FIRST_FRAME_ONLY):  # counted to the first frame: nothing after it
            os._exit(0)
        if len(self.times) == len(self.targets):
            QApplication.instance().quit()
        else:
            self.watch_next()
"""
)

BARE = (
    PROBE
    + """
from PySide6.QtWidgets import QLabel, QMainWindow
app = QApplication([])
frames = Frames([(lambda: window, lambda: True)])  # the first frame
window = QMainWindow()
window.setCentralWidget(QLabel("hello"))
window.resize(1280, 800)
window.show()
app.exec()
print(frames.times[0], frames.times[0], frames.cpu[0])
"""
)

REPLICA = PROBE + REPLICA_WINDOW  # the first frame's widgets in stock PySide6 (bench.startup_replica)

# The bare window with its label centred: the one line reaches PySide's ``Qt`` namespace, whose 93 enums
# (1,195 members) PySide builds as Python ``enum`` classes all at once on first use, as any window does that
# names an alignment, an orientation, a dock area or an item role (PySide refuses plain integers for them).
# The bare window never touches it; measured 2026-12-07: ~127M instructions, 0.20x the bare window.
BARE_QT_NAMESPACE = BARE.replace(
    'window.setCentralWidget(QLabel("hello"))',
    "from PySide6.QtCore import Qt\n"
    'window.setCentralWidget(QLabel("hello", alignment=Qt.AlignmentFlag.AlignCenter))',
)

# Atelier as ``python main.py`` starts it on a catalog in its default place (argv[1] is the data home
# whose ``Atelier`` folder it is): ``main.main`` reads the command line, finds that folder, imports
# the window's modules, opens the window and runs the event loop, which the probe ends once the rows are
# drawn. The probe steps in where the window is opened (``desktop.launch.open_window``, once the modules
# are imported and the application made, as in ``main``'s own order) only to post its first event before
# the window is made; until 2026-12-06 it imported the window's modules itself, before ``main.main``.
ATELIER = (
    PROBE
    + """
import sys
import desktop.launch
import main

frames = None
open_window = desktop.launch.open_window

def probed_open_window(context, argv):
    global frames
    from desktop.app import create_application
    from desktop.main_window import MainWindow

    app = create_application(argv)
    def window():
        return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
    frames = Frames([
        (window, lambda: True),  # the first frame
        (lambda: window().current_view().viewport(), lambda: window().model.rowCount() > 0),  # its rows
    ])
    return open_window(context, argv)

desktop.launch.open_window = probed_open_window
import os
os.environ["XDG_DATA_HOME"] = sys.argv[1]  # where platformdirs finds the user's data folder
os.environ.pop("ATELIER_DATA_DIR", None)
code = main.main([])
assert code == 0 and frames is not None and len(frames.times) == 2, "the catalog was not loaded"
assert "torch" not in sys.modules, "the window must start without torch"
print(frames.times[0], frames.times[1], frames.cpu[0])
"""
)


# Atelier started as the ATELIER script starts it, its window closed with its own close once complete: what
# the window keeps for its next start (Settings.window_state, desktop_scheme, status_line_*) is written.
OPEN_AND_CLOSE = """
import os
import sys
from PySide6.QtCore import QTimer
import desktop.launch
import main

open_window = desktop.launch.open_window

def closing_open_window(context, argv):
    window = open_window(context, argv)
    window.when_ready(lambda: QTimer.singleShot(500, window.close))
    return window

desktop.launch.open_window = closing_open_window
os.environ["XDG_DATA_HOME"] = sys.argv[1]
os.environ.pop("ATELIER_DATA_DIR", None)
sys.exit(main.main([]))
"""


def _platform() -> str:
    """The caller's Qt platform (xcb under Xvfb...), else an offscreen desktop screen (1920x1080) for both
    windows: Qt's own offscreen screen is 800x800, and Atelier's window opens within the screen (board
    included, 1760x860 on a desktop). Until 2026-12-06 the bench ran on the 800x800 screen, where the
    window took 1360x860 and left the board no room of its own."""
    from tests.desktop.fresh_process import DESKTOP_SCREEN, offscreen_platform

    chosen = os.environ.get("QT_QPA_PLATFORM", "")
    return chosen if chosen not in ("", "offscreen") else offscreen_platform(*DESKTOP_SCREEN)


def _start_env(tree: Path) -> dict[str, str]:
    """A timed start's environment: a user's (``bench.user_env``), the screen of :func:`_platform`, and
    that checkout's packages rather than the installed ones."""
    return {**user_env(), "QT_QPA_PLATFORM": _platform(), "PYTHONPATH": str(tree)}


def _data_home(data_dir: Path, home: Path) -> str:
    """A data home whose default Atelier folder (``$XDG_DATA_HOME/Atelier``, platformdirs on Linux) is
    ``data_dir``: the start is timed as a user's plain ``python main.py`` finds its catalog, the default
    folder looked up included (``--data-dir`` skips that look-up, and its import of platformdirs)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "Atelier").symlink_to(data_dir.resolve(), target_is_directory=True)
    return str(home)


def _returning(data_dir: Path, home: str, tree: Path = ROOT) -> None:
    """Opens and closes the window on ``data_dir`` once where it never was, so the starts timed are a
    returning user's (see the module's docstring)."""
    settings = data_dir / "settings.json"
    kept = json.loads(settings.read_text(encoding="utf-8")) if settings.exists() else {}
    if kept.get("window_state") and kept.get("catalog_checked"):
        return
    subprocess.run(
        [sys.executable, "-c", OPEN_AND_CLOSE, home],
        cwd=tree,
        env=_start_env(tree),
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT_S,
    )


def _first_start_copy(data_dir: Path, tmp: Path) -> str:
    """A data home whose folder holds a copy of ``data_dir``'s catalog and settings without what a closed
    window keeps: a start as the first one is."""
    first = tmp / "first-start"
    first.mkdir()
    source = sqlite3.connect(data_dir / "catalog.sqlite3")  # with what its write-ahead log holds
    copy = sqlite3.connect(first / "catalog.sqlite3")
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    kept = (
        "window_state",
        "desktop_scheme",
        "status_line_font",
        "status_line_height",
        "window_geometry",
        "catalog_checked",
    )
    settings = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    first_settings = {key: value for key, value in settings.items() if key not in kept}
    (first / "settings.json").write_text(json.dumps(first_settings), encoding="utf-8")
    return _data_home(first, tmp / "first-start-home")


def _time_process(code: str, *args: str, tree: Path = ROOT) -> tuple[float, float, float]:
    """Seconds from spawning the interpreter until the window is drawn and until its first load ends,
    and the CPU seconds the process had used when its first frame was drawn."""
    env = _start_env(tree)
    started = time.time()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=tree,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        ).stdout
    except subprocess.TimeoutExpired:  # a dialog waits for an answer: the catalog could not be opened
        raise SystemExit(
            f"bench_startup: {tree} did not show its rows within {START_TIMEOUT_S} s "
            f"({' '.join(args) or 'the bare window'}): a catalog it cannot open, such as one a newer "
            "checkout migrated? (see --compare-profile)"
        ) from None
    shown, loaded, cpu = (float(x) for x in out.split())
    return shown - started, loaded - started, cpu


def _instructions(code: str, *args: str, tree: Path = ROOT) -> int:
    """Instructions the process executes from its start to its window's first frame, counted by
    valgrind's callgrind: the same on a busy machine as on a quiet one (where several processes share
    the cores, seconds say more about the others than about the start)."""
    env = {**_start_env(tree), FIRST_FRAME_ONLY: "1"}
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("bench_startup: --instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="atelier-bench-callgrind-") as tmp:
        command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, "-c"]
        done = subprocess.run(
            [*command, code, *args], check=False, cwd=tree, env=env, capture_output=True, text=True
        )
    counted = [line for line in done.stderr.splitlines() if "Collected :" in line]
    if done.returncode != 0 or not counted:
        raise SystemExit(f"bench_startup: valgrind did not count {tree}'s start:\n{done.stderr[-2000:]}")
    return int(counted[-1].rsplit(":", 1)[1].replace(",", "").strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        help="data folder to open; built with --rows models when it has no catalog yet, kept afterwards "
        "(so old and new code can be timed on the same catalog)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        help="another checkout (a git worktree of an earlier commit: its main.main is timed the same way) "
        "to time on the same catalog, its runs taken in turn with these; it must know the catalog's schema",
    )
    parser.add_argument(
        "--compare-profile",
        type=Path,
        help="the data folder the --compare checkout opens (default: the same as --profile); one it "
        "built itself where the two checkouts' catalog schemas differ",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions each start executes to its first frame (valgrind's callgrind, "
        "one run each, about a minute): a ratio that the machine's load does not move",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="also time a window of the first frame's widgets built from stock PySide6, without Atelier's "
        "code (bench.startup_replica): what these widgets cost, apart from what Atelier adds",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="atelier-bench-start-") as tmp:
        data_dir = args.profile or Path(tmp) / "profile"
        if not (data_dir / "catalog.sqlite3").exists():
            from bench.bench_search import build
            from catalog.library import Library

            library = Library.open(data_dir / "catalog.sqlite3")
            build(library, data_dir.parent / f"{data_dir.name}-models", args.rows, seed=1)
            library.close()
            (data_dir / "settings.json").write_text(json.dumps({"first_start_done": True}))
        home = _data_home(data_dir, Path(tmp) / "home")
        compared_home = _data_home(args.compare_profile or data_dir, Path(tmp) / "compared-home")
        _returning(data_dir, home)
        _time_process(BARE)  # warm the OS caches for both
        _time_process(ATELIER, home)
        if args.compare:
            _time_process(ATELIER, compared_home, tree=args.compare)
        bare: list[tuple[float, float, float]] = []
        ours: list[tuple[float, float, float]] = []
        earlier: list[tuple[float, float, float]] = []
        replica: list[tuple[float, float, float]] = []
        centred: list[tuple[float, float, float]] = []
        if args.replica:
            _time_process(REPLICA)
        for _ in range(args.runs):  # in turn, so a change in the machine's load touches each alike
            bare.append(_time_process(BARE))
            ours.append(_time_process(ATELIER, home))
            if args.replica:
                replica.append(_time_process(REPLICA))
                centred.append(_time_process(BARE_QT_NAMESPACE))
            if args.compare:
                earlier.append(_time_process(ATELIER, compared_home, tree=args.compare))

        counts: dict[str, int] = {}
        if args.instructions:
            counts["bare"] = _instructions(BARE)
            counts["atelier"] = _instructions(ATELIER, home)
            counts["first start"] = _instructions(ATELIER, _first_start_copy(data_dir, Path(tmp)))
            if args.replica:
                counts["replica"] = _instructions(REPLICA)
                counts["centred"] = _instructions(BARE_QT_NAMESPACE)
            if args.compare:
                counts["compared"] = _instructions(ATELIER, compared_home, tree=args.compare)

    bare_s = statistics.median(shown for shown, _, _ in bare)
    bare_cpu_s = statistics.median(cpu for _, _, cpu in bare)
    ours_s = statistics.median(shown for shown, _, _ in ours)
    ours_cpu_s = statistics.median(cpu for _, _, cpu in ours)
    loaded_s = statistics.median(loaded for _, loaded, _ in ours)
    after_paint_s = statistics.median(loaded - shown for shown, loaded, _ in ours)
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
        "bare_window_cpu_s": round(bare_cpu_s, 3),
        "atelier_window_cpu_s": round(ours_cpu_s, 3),
        "cpu_ratio": round(ours_cpu_s / bare_cpu_s, 2),
    }
    if earlier:
        result["compared_tree"] = str(args.compare)
        result["compared_window_s"] = round(statistics.median(shown for shown, _, _ in earlier), 3)
        result["compared_ratio"] = round(result["compared_window_s"] / bare_s, 2)
        result["compared_rows_visible_after_paint_s"] = round(
            statistics.median(loaded - shown for shown, loaded, _ in earlier), 3
        )
        compared_cpu_s = statistics.median(cpu for _, _, cpu in earlier)
        result["compared_cpu_ratio"] = round(compared_cpu_s / bare_cpu_s, 2)
    if replica:
        replica_s = statistics.median(shown for shown, _, _ in replica)
        result["replica_window_s"] = round(replica_s, 3)
        result["replica_ratio"] = round(replica_s / bare_s, 2)
        result["atelier_to_replica_ratio"] = round(ours_s / replica_s, 2)
        result["replica_cpu_ratio"] = round(statistics.median(cpu for _, _, cpu in replica) / bare_cpu_s, 2)
        result["qt_namespace_window_s"] = round(statistics.median(shown for shown, _, _ in centred), 3)
        result["qt_namespace_ratio"] = round(result["qt_namespace_window_s"] / bare_s, 2)
    if counts:
        result["bare_window_instructions"] = counts["bare"]
        result["atelier_window_instructions"] = counts["atelier"]
        result["instructions_ratio"] = round(counts["atelier"] / counts["bare"], 3)
        result["first_start_instructions"] = counts["first start"]
        result["first_start_instructions_ratio"] = round(counts["first start"] / counts["bare"], 3)
        if "replica" in counts:
            result["replica_window_instructions"] = counts["replica"]
            result["replica_instructions_ratio"] = round(counts["replica"] / counts["bare"], 2)
            result["atelier_to_replica_instructions_ratio"] = round(counts["atelier"] / counts["replica"], 2)
            result["qt_namespace_window_instructions"] = counts["centred"]
            result["qt_namespace_instructions_ratio"] = round(counts["centred"] / counts["bare"], 2)
        if "compared" in counts:
            result["compared_window_instructions"] = counts["compared"]
            result["compared_instructions_ratio"] = round(counts["compared"] / counts["bare"], 2)
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
    print(  # CPU seconds change least with the machine's load: a check on the ratio of a busy machine
        f"  CPU time to the first frame: Atelier {ours_cpu_s:.3f} s vs bare {bare_cpu_s:.3f} s; "
        f"ratio {result['cpu_ratio']}"
    )
    if counts:
        print(
            f"  instructions to the first frame: Atelier {counts['atelier']:,} vs bare {counts['bare']:,}; "
            f"ratio {result['instructions_ratio']}; a first start (no window closed yet) "
            f"{counts['first start']:,}, ratio {result['first_start_instructions_ratio']}"
        )
    if replica:
        line = (
            f"  the same widgets in stock PySide6 (bench.startup_replica): "
            f"{result['replica_window_s']:.3f} s, "
            f"ratio {result['replica_ratio']} to the bare window (CPU {result['replica_cpu_ratio']}); "
            f"Atelier {result['atelier_to_replica_ratio']}x the replica"
        )
        if "replica" in counts:
            line += (
                f"; instructions {counts['replica']:,}, ratio {result['replica_instructions_ratio']} "
                f"(Atelier {result['atelier_to_replica_instructions_ratio']}x)"
            )
        print(line)
        centred_line = (
            f"  the bare window with its label centred (PySide builds its Qt namespace's 93 enums): "
            f"{result['qt_namespace_window_s']:.3f} s, ratio {result['qt_namespace_ratio']}"
        )
        if "centred" in counts:
            centred_line += f"; instructions ratio {result['qt_namespace_instructions_ratio']}"
        print(centred_line)
    if earlier:
        compared = (
            f"  {args.compare}: window {result['compared_window_s']:.3f} s, "
            f"ratio {result['compared_ratio']} (CPU {result['compared_cpu_ratio']}); "
            f"models visible {result['compared_rows_visible_after_paint_s']:.3f} s after its first paint"
        )
        if "compared" in counts:
            compared += f"; instructions ratio {result['compared_instructions_ratio']}"
        print(compared)


if __name__ == "__main__":
    random.seed(0)
    main()
