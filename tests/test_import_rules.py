"""The layering rules of ARCHITECTURE.md as a failing check.

Imports point down only (desktop -> app -> catalog -> core); core and catalog never touch Qt; torch,
diffusers, transformers and peft are imported only inside core/render (anywhere else, even inside a
function, they would slow start-up and make scanning depend on them).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"torch", "diffusers", "transformers", "peft", "safetensors.torch"}
QT = {"PySide6", "shiboken6"}
# package -> top-level names it must never import
FORBIDDEN: dict[str, set[str]] = {
    "core": {"catalog", "app", "desktop"} | QT,
    "catalog": {"app", "desktop"} | QT,
    "app": {"desktop"} | QT,
}


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _matches(module: str, names: set[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downwards_only(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _python_files(package)
        for line, module in _imported_modules(path)
        if _matches(module, FORBIDDEN[package])
    ]
    assert not offences, "\n".join(offences)


def test_heavy_ml_libraries_only_in_core_render() -> None:
    render = ROOT / "core" / "render"
    files = [
        ROOT / "main.py",
        *(p for pkg in ("core", "catalog", "app", "desktop") for p in _python_files(pkg)),
    ]
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        if render not in path.parents
        for line, module in _imported_modules(path)
        if _matches(module, HEAVY)
    ]
    assert not offences, "\n".join(offences)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """Guard against a checker that silently matches nothing."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    import torch\n    from PySide6.QtWidgets import QWidget\n", encoding="utf-8"
    )
    modules = [m for _, m in _imported_modules(bad)]
    assert _matches(modules[0], HEAVY)
    assert _matches(modules[1], QT)


def test_library_and_cli_import_without_torch_or_qt() -> None:
    code = (
        "import sys, app.cli, catalog.library, core.identify, core.formats.reader\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch','diffusers','transformers','peft','PySide6'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing the library pulled in: {out}"
