"""A script run in a fresh interpreter with an offscreen Qt: what a real start imports and builds, untouched
by the test process's own imports (a window start, a first frame, the modules it loads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESKTOP_SCREEN = (1920, 1080)  # a desktop's screen: the window opens at its full size there


def offscreen_platform(width: int, height: int) -> str:
    """``QT_QPA_PLATFORM`` for an offscreen screen of ``width`` x ``height`` pixels (Qt's own offscreen
    screen is 800x800, smaller than Atelier's window: it would open shrunk to fit)."""
    config = Path(tempfile.gettempdir()) / f"atelier-offscreen-{width}x{height}.json"
    screen = {"name": "Screen", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}
    text = json.dumps({"screens": [{**screen, "logicalBaseDpi": 96, "dpr": 1}]})
    if not config.exists() or config.read_text(encoding="utf-8") != text:
        partial = config.with_name(f"{config.name}.{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        partial.replace(config)
    return f"offscreen:configfile={config}"


def last_line_of(
    script: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    screen: tuple[int, int] = DESKTOP_SCREEN,
) -> str:
    """The last line ``script`` prints, run as ``python -c script args...`` from the repository on an
    offscreen ``screen`` (which must end with exit code 0: its stderr is the failure's message)."""
    platform = offscreen_platform(*screen)
    environment = {**os.environ, "QT_QPA_PLATFORM": platform, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]
