"""Once the window's package is imported, import statements run Python's own ``__import__``, not PySide's
feature hook (see ``desktop.pyside_imports``), and Atelier relies on no PySide feature switch.

Checked in fresh interpreters, as the app starts: in the test process, pytest-qt and other tests have
imported PySide and ``desktop`` long before, in an order that varies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "catalog", "core", "desktop")
FEATURE_IMPORT = re.compile(r"^\s*(from __feature__ import|import __feature__)", re.MULTILINE)

PROBE = """
import builtins, json, sys
import PySide6.QtCore
hooked = getattr(builtins, "__feature_import__", None)
if hooked is None or builtins.__import__ is not hooked:
    print(json.dumps(None))  # this PySide installs no import hook
    raise SystemExit(0)
import desktop
import atelier_probe_qt  # a module using PySide, imported afterwards
table = getattr(sys.modules["shibokensupport.feature"], "pyside_feature_dict", {})
print(json.dumps({
    "python_import": builtins.__import__ is builtins.__orig_import__,
    "widget_text": atelier_probe_qt.text(),
    "looked_at": "atelier_probe_qt" in table,
}))
"""

ANOTHER_HOOK = """
import builtins, json
import PySide6.QtCore
def tracing_import(*args, **kwargs):
    return builtins.__orig_import__(*args, **kwargs)
builtins.__import__ = tracing_import
import desktop
print(json.dumps(builtins.__import__ is tracing_import))
"""


def _run(code: str, tmp_path: Path) -> object:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_import_statements_after_the_window_package_skip_pysides_hook(tmp_path: Path) -> None:
    (tmp_path / "atelier_probe_qt.py").write_text(
        "from PySide6.QtCore import QObject\n\n"
        "def text():\n"
        "    item = QObject()\n"
        "    item.setObjectName('probe')\n"
        "    return item.objectName()\n",
        encoding="utf-8",
    )
    answers = _run(PROBE, tmp_path)
    if answers is None:
        pytest.skip("this PySide installs no import hook")
    assert answers == {"python_import": True, "widget_text": "probe", "looked_at": False}


def test_an_import_hook_installed_by_someone_else_stays(tmp_path: Path) -> None:
    assert _run(ANOTHER_HOOK, tmp_path) is True


def test_no_module_of_atelier_switches_a_pyside_feature() -> None:
    """With the hook off, ``from __feature__ import snake_case`` would silently switch nothing."""
    users = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if FEATURE_IMPORT.search(path.read_text(encoding="utf-8"))
    ]
    assert users == []
