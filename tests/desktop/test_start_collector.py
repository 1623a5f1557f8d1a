"""The window's start pauses Python's cycle collector until the first frame is drawn
(``desktop.launch.pause_collector``): once the window is on screen the collector runs again, with the
start's objects set aside for good; a start that fails gives it back as it was."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.library import Library
from desktop.launch import launch_gui, pause_collector

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector enabled with nothing set aside, and left as the test found it."""
    was_enabled = gc.isenabled()
    gc.unfreeze()
    gc.enable()
    yield
    gc.unfreeze()
    if not was_enabled:
        gc.disable()


def test_the_collector_waits_until_resumed(collector: None) -> None:
    resume = pause_collector()
    assert not gc.isenabled()
    resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the start made is not walked again
    gc.disable()
    resume()  # once only: a later call changes nothing
    assert not gc.isenabled()


def test_a_start_that_failed_resumes_without_setting_anything_aside(collector: None) -> None:
    pause_collector()(freeze=False)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_disabled_before_the_start_stays_disabled(collector: None) -> None:
    gc.disable()
    pause_collector()()
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_catalog_url_refused_before_the_window_gives_the_collector_back(
    collector: None, tmp_path: Path
) -> None:
    assert launch_gui(tmp_path, ["atelier"], catalog="mysql://team@db.example/atelier") == 2
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


START = textwrap.dedent(
    """
    import gc, json, sys, time
    from PySide6.QtCore import QTimer
    from desktop.app import create_application
    from desktop.launch import launch_gui
    from desktop.main_window import MainWindow

    app = create_application(["atelier"])  # launch_gui finds it made
    seen = []  # (the window is on screen, the collector runs), each turn of the event loop
    deadline = time.monotonic() + 20

    def look():
        shown = any(isinstance(w, MainWindow) and w.isVisible() for w in app.topLevelWidgets())
        seen.append((shown, gc.isenabled()))
        if gc.isenabled() or time.monotonic() > deadline:
            app.quit()
        else:
            QTimer.singleShot(5, look)

    QTimer.singleShot(0, look)  # the event loop's first turn: the window is shown, not yet drawn
    code = launch_gui(sys.argv[1], ["atelier"])
    print(json.dumps({"code": code, "seen": seen, "frozen": gc.get_freeze_count()}))
    """
)


def test_the_window_runs_with_the_collector_once_its_first_frame_is_drawn(tmp_path: Path) -> None:
    """In its own interpreter: the test runs the application's event loop to its end, as ``main.py``."""
    data = tmp_path / "profile"
    Library.open(data / "catalog.sqlite3").close()
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", START, str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0
    assert result["seen"][0] == [True, False]  # paused while the window was being made and drawn
    assert result["seen"][-1] == [True, True]  # and running again once it was drawn
    assert result["frozen"] > 0  # the start's objects set aside
