"""PySide's look into each module imported after it is a plain read of the file, with PySide's answer.

PySide6 records, for every module imported once it is loaded, whether the module's source mentions
"PySide6" (0 in its feature table: the module may switch PySide features; -1: ignore it). ``desktop``
puts a file read in place of its ``inspect.getsource`` (see ``desktop.pyside_sources``); the table must
hold the same answers.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import core.taxonomy
import desktop.main_window
from desktop.pyside_sources import uses_pyside


def _pyside_answer(module: ModuleType) -> bool:
    """PySide's own definition: the module's source, as ``inspect`` reads it, mentions PySide6."""
    try:
        return "PySide6" in inspect.getsource(module)
    except (TypeError, OSError):
        return False


@pytest.mark.parametrize("module", [desktop.main_window, core.taxonomy, json, inspect])
def test_the_file_read_gives_pysides_answer(module: ModuleType) -> None:
    def not_asked(_module: ModuleType) -> bool:
        raise AssertionError("a .py module is answered from its file")

    assert uses_pyside(module, not_asked) is _pyside_answer(module)


def test_a_module_without_a_source_file_gets_pysides_own_check() -> None:
    asked: list[ModuleType] = []

    def fallback(module: ModuleType) -> bool:
        asked.append(module)
        return False

    assert uses_pyside(sys, fallback) is False
    assert asked == [sys]


PROBE = """
import json, sys
import desktop  # installs the file read (desktop.pyside_sources)
feature = sys.modules["shibokensupport.feature"]
table = getattr(feature, "pyside_feature_dict", None)
if not isinstance(table, dict):
    print(json.dumps(None))
    raise SystemExit(0)
import atelier_probe_qt, atelier_probe_plain  # import statements: PySide's hook is on __import__
print(json.dumps({
    "in_place": getattr(getattr(feature, "_mod_uses_pyside", None), "reads_files", False),
    "qt": table.get("atelier_probe_qt"),
    "plain": table.get("atelier_probe_plain"),
}))
"""


def test_modules_imported_after_the_window_package_get_pysides_entries(tmp_path: Path) -> None:
    """In a fresh interpreter, as the app starts: in the test process, what other tests imported and
    patched before (xdist runs them in one worker, in an order that varies) once left PySide's table
    without the probe's entry."""
    (tmp_path / "atelier_probe_qt.py").write_text("from PySide6.QtCore import QObject\n", encoding="utf-8")
    (tmp_path / "atelier_probe_plain.py").write_text("VALUE = 1\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    if answers is None:
        pytest.skip("this PySide has no per-module feature table")
    assert answers["in_place"], "in place once desktop is imported"
    assert answers["qt"] == 0, "a module using PySide: features may switch there"
    assert answers["plain"] == -1, "any other module: ignored"
