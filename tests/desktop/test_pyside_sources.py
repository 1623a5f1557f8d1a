"""PySide's look into each module imported after it is a plain read of the file, with PySide's answer.

PySide6 records, for every module imported once it is loaded, whether the module's source mentions
"PySide6" (0 in its feature table: the module may switch PySide features; -1: ignore it). ``desktop``
puts a file read in place of its ``inspect.getsource`` (see ``desktop.pyside_sources``); the table must
hold the same answers.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

import core.taxonomy
import desktop.main_window
from desktop.pyside_sources import read_sources_quickly, uses_pyside


def _pyside_answer(module: ModuleType) -> bool:
    """PySide's own definition: the module's source, as ``inspect`` reads it, mentions PySide6."""
    try:
        return "PySide6" in inspect.getsource(module)
    except (TypeError, OSError):
        return False


def _feature_table() -> dict[str, int]:
    feature = sys.modules.get("shibokensupport.feature")
    table = getattr(feature, "pyside_feature_dict", None)
    if not isinstance(table, dict):
        pytest.skip("this PySide has no per-module feature table")
    return table


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


def test_modules_imported_after_the_window_package_get_pysides_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_sources_quickly(), "in place once desktop is imported"
    table = _feature_table()
    (tmp_path / "atelier_probe_qt.py").write_text("from PySide6.QtCore import QObject\n", encoding="utf-8")
    (tmp_path / "atelier_probe_plain.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        for name in ("atelier_probe_qt", "atelier_probe_plain"):
            __import__(name)  # an import statement's path: PySide's hook is on ``__import__``
        assert table["atelier_probe_qt"] == 0, "a module using PySide: features may switch there"
        assert table["atelier_probe_plain"] == -1, "any other module: ignored"
    finally:
        for name in ("atelier_probe_qt", "atelier_probe_plain"):
            sys.modules.pop(name, None)
            table.pop(name, None)
