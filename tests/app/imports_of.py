"""What a ``main.py`` command imports, read from ``-X importtime`` (every module imported is named on
stderr): how the import-cost tests check a command's start without timing it, which a busy machine would
make flaky."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``main.py ARGS`` with ``-X importtime``; its result and the top-level packages it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", *args],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "app" in modules, "importtime printed nothing: the check would see nothing"
    return result, modules
