"""Real drags in the test run: a ``real_drag`` test needs a Qt platform that runs QDrag's loop.

Qt's ``offscreen`` platform (the one the suite uses) ends every ``QDrag.exec`` at once without
delivering anything, so a drag test there could not fail. When the session runs on ``offscreen``, the
``real_drag`` tests of a module are run once, together, in a child pytest on Qt's ``minimal`` platform,
whose drag is Qt's own ``QSimpleDrag`` driven by the same mouse events a user's drag produces; each test
then reports the child's verdict (with its output on failure). On a real display (xcb, wayland) or
under ``minimal`` they simply run here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PySide6.QtGui import QGuiApplication

ROOT = Path(__file__).resolve().parents[3]
DRAG_PLATFORM = "minimal:enable_fonts"  # fontconfig fonts: the same widths as offscreen
_CHILD_TIMEOUT_S = 240


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_drag: drives a real QDrag (run on the minimal platform when Qt is offscreen)"
    )


def _platform_runs_drags() -> bool:
    return QGuiApplication.platformName() not in ("offscreen", "")


_verdicts: dict[Path, dict[str, str | None]] = {}


def _child_verdicts(module: Path, tmp_dir: Path) -> dict[str, str | None]:
    """Runs the module's ``real_drag`` tests in a child pytest; test name -> None (passed) or failure."""
    if module not in _verdicts:
        report = tmp_dir / f"{module.stem}-drag.xml"
        env = {**os.environ, "QT_QPA_PLATFORM": DRAG_PLATFORM, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "real_drag"]
        result = subprocess.run(
            [*command, f"--junitxml={report}", str(module)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=_CHILD_TIMEOUT_S,
            check=False,
        )
        verdicts: dict[str, str | None] = {}
        if report.is_file():
            for case in ElementTree.parse(report).getroot().iter("testcase"):
                problem = case.find("failure")  # (an Element without children is falsy: no ``or``)
                if problem is None:
                    problem = case.find("error")
                skipped = case.find("skipped")
                if problem is not None:
                    verdicts[case.get("name", "")] = (
                        (problem.get("message") or "") + "\n" + (problem.text or "")
                    )
                elif skipped is not None:
                    verdicts[case.get("name", "")] = "skipped in the child run: " + (
                        skipped.get("message") or ""
                    )
                else:
                    verdicts[case.get("name", "")] = None
        verdicts["__output__"] = result.stdout[-6000:] + result.stderr[-3000:]
        _verdicts[module] = verdicts
    return _verdicts[module]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if item.get_closest_marker("real_drag") is None or _platform_runs_drags():
        return
    tmp_dir = item.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    verdicts = _child_verdicts(Path(str(item.path)), Path(tmp_dir))
    name = item.name
    if name not in verdicts:
        pytest.fail(
            f"the {DRAG_PLATFORM} run did not report {name}:\n{verdicts['__output__']}", pytrace=False
        )
    failure = verdicts[name]
    if failure is not None:
        pytest.fail(f"on the {DRAG_PLATFORM} platform: {failure}", pytrace=False)
    # Passed in the child: the body must not run again here (offscreen would not drag).
    item.runtest = lambda: None  # type: ignore[method-assign]
