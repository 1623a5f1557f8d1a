"""Commands start at once: ``--help``, ``inspect`` and a command's own ``--help`` load none of the heavy
libraries, ``--help`` lists every command from the registry, and a command line loads only the module
of the command it names.

Measured the way a user starts them (``python -X importtime main.py ...``: every module the process
imported is named on stderr), not by timing, which a busy machine would make flaky.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser
from app.cli_registry import COMMAND_ENTRIES, module_commands
from tests.app.catalog_profiles import make_profile
from tests.app.imports_of import imports_of
from tests.factory.models import kohya_lora, write_case

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "huggingface_hub", "numpy", "torch", "PySide6")


def _imported(*args: str, data_dir: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``main.py --data-dir DATA_DIR ARGS``: its result and the top-level packages it imported."""
    return imports_of("--data-dir", str(data_dir), *args)


def test_help_lists_every_command_and_loads_nothing_heavy(tmp_path: Path) -> None:
    result, modules = _imported("--help", data_dir=tmp_path / "d")
    assert result.returncode == 0, result.stderr[-2000:]
    listed = " ".join(result.stdout.split())  # argparse wraps long help lines
    for entry in COMMAND_ENTRIES:
        assert f"{entry.name} {' '.join(entry.help.split())}" in listed, entry.name
    assert not modules & set(HEAVY), f"--help imported {sorted(modules & set(HEAVY))}"
    command_modules = {entry.module for entry in COMMAND_ENTRIES}
    loaded = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not command_modules & loaded, f"--help imported {sorted(command_modules & loaded)}"


def test_inspect_of_a_real_lora_loads_nothing_heavy(tmp_path: Path) -> None:
    lora = write_case(kohya_lora("sd1", rank=4), tmp_path)
    result, modules = _imported("inspect", str(lora), data_dir=tmp_path / "d")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kind:         lora / sd1" in result.stdout
    assert not modules & set(HEAVY), f"inspect imported {sorted(modules & set(HEAVY))}"


@pytest.mark.parametrize("command", ["search", "show", "scan"])
def test_a_commands_help_loads_nothing_heavy(command: str, tmp_path: Path) -> None:
    result, modules = _imported(command, "--help", data_dir=tmp_path / "d")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"usage: atelier {command}" in result.stdout
    assert not modules & set(HEAVY), f"{command} --help imported {sorted(modules & set(HEAVY))}"


@pytest.fixture(scope="module")
def scanned_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder whose catalog ``atelier scan`` made from a real LoRA (at this version's schema)."""
    return make_profile(tmp_path_factory.mktemp("reading-commands"))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["search", "pixel"], "pixel-art.safetensors"),
        (["show", "1"], "file name:         pixel-art.safetensors"),
        (["roots"], "1 file "),
    ],
)
def test_reading_commands_on_a_real_catalog_load_no_sqlalchemy(
    command: list[str], expected: str, scanned_profile: tuple[Path, Path]
) -> None:
    """search, show and roots read the catalog with sqlite3 alone (catalog.read_connection)."""
    result, modules = _imported(*command, data_dir=scanned_profile[0])
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
    assert not modules & {"sqlalchemy", "alembic"}, f"{command[0]} imported {sorted(modules & set(HEAVY))}"


def test_an_unchanged_rescan_loads_no_sqlalchemy(scanned_profile: tuple[Path, Path]) -> None:
    """Nothing changed on disk: the scan compares the walk with the catalog through the light reader and
    never opens the Library (which a new, changed or missing file would)."""
    result, modules = _imported("scan", "--no-hash", data_dir=scanned_profile[0])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 file (0 new, 0 changed, 1 unchanged)" in result.stdout
    assert not modules & {"sqlalchemy", "alembic"}, f"scan imported {sorted(modules & set(HEAVY))}"


ONLY_ITS_OWN_MODULE = """
import sys
from app.cli import build_parser
from app.cli_registry import COMMAND_ENTRIES
modules = {entry.module for entry in COMMAND_ENTRIES}
for entry in COMMAND_ENTRIES:
    for name in modules:
        sys.modules.pop(name, None)
    build_parser(entry.name)
    loaded = sorted(name for name in modules if name in sys.modules)
    print(entry.name, *loaded)
"""


def test_a_command_line_loads_only_its_own_command_module() -> None:
    out = subprocess.run(
        [sys.executable, "-c", ONLY_ITS_OWN_MODULE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert loaded == {entry.name: [entry.module] for entry in COMMAND_ENTRIES}


@pytest.mark.parametrize("module", sorted({entry.module for entry in COMMAND_ENTRIES}))
def test_each_module_declares_and_handles_exactly_its_registered_commands(module: str) -> None:
    names = [entry.name for entry in module_commands(module)]
    parser = build_parser(names[0])
    sub = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert list(sub.choices) == [entry.name for entry in COMMAND_ENTRIES if entry.module != module] + names
    assert all(sub.choices[name].add_help for name in names), "the module's own parsers are the full ones"
    assert sorted(importlib.import_module(module).COMMANDS) == sorted(names)
