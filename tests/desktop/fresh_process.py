"""A script run in a fresh interpreter with an offscreen Qt: what a real start imports and builds, untouched
by the test process's own imports (a window start, a first frame, the modules it loads)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def last_line_of(script: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60) -> str:
    """The last line ``script`` prints, run as ``python -c script args...`` from the repository (which
    must end with exit code 0: its stderr is the failure's message)."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), **(env or {})}
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
