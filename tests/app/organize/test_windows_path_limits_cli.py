"""On Windows without long paths, ``organize --dry-run`` lists a target whose path would pass MAX_PATH as
a conflict that says how to lift the limit, and ``move`` refuses it in one line: nothing moves, rather
than a WinError 206 half-way. The Windows branch runs on Linux (which takes these paths) by setting
``core.windows_paths``' constant and registry reader; off Windows the same organize moves the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import windows_paths
from tests.app.in_process import run_in_process as run_main
from tests.app.organize.template_library import linked_lora

TEMPLATE = "{kind}/{architecture}/{creator}"
# LoRA/SD 1.x/OedoSoldier/detail_tweaker.safetensors.atelier-part: 64 characters below the root
TAIL = len("/LoRA/SD 1.x/OedoSoldier/detail_tweaker.safetensors.atelier-part")


def _library(tmp_path: Path, *, root_length: int) -> tuple[Path, dict[str, str]]:
    root = str(tmp_path / "models")
    # Folders of "Stable-Diffusion-Models" up to exactly root_length characters (cutting a name with
    # spaces and stripping them could leave it short again, for ever, with some tmp_path lengths).
    while root_length - len(root) > 1:
        root += "/" + "Stable-Diffusion-Models"[: root_length - len(root) - 1]
    root += "x" * (root_length - len(root))  # one character short: the last name takes it
    model = linked_lora(Path(root) / "incoming")
    env = {"ATELIER_DATA_DIR": str(tmp_path / "data"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    run_main("scan", root, "--no-hash", env=env, check=True)
    return model, env


def _on_windows(monkeypatch: pytest.MonkeyPatch, long_paths_setting: int | None) -> None:
    monkeypatch.setattr(windows_paths, "WINDOWS", True)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: long_paths_setting)


def test_organize_dry_run_lists_a_path_too_long_for_windows_and_move_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, env = _library(tmp_path, root_length=259 - TAIL + 10)
    root = model.parent.parent
    _on_windows(monkeypatch, None)

    shown = run_main("organize", "--template", TEMPLATE, "--dry-run", env=env)

    assert (
        "  ! incoming/detail_tweaker.safetensors: its path would be 269 characters long "
        "(detail_tweaker.safetensors.atelier-part, the copy a move writes first), more than the 259 "
        "Windows allows: enable long paths in Windows (LongPathsEnabled), or use a shorter folder, name "
        "or template"
    ) in shown.stdout
    assert "0 to move, 1 conflict, 0 already in place" in shown.stdout

    dest = root / "LoRA" / "SD 1.x" / "OedoSoldier"
    dest.mkdir(parents=True)
    moved = run_main("move", str(model), f"{dest}/", env=env)
    assert moved.returncode == 1
    assert moved.stderr.strip().startswith("atelier move: its path would be 269 characters long")
    assert "use --rename-conflicts" not in moved.stderr  # a number only makes a path longer
    assert model.exists()


@pytest.mark.parametrize(("windows", "long_paths_setting"), [(False, None), (True, 1)])
def test_without_the_limit_the_same_organize_moves_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, windows: bool, long_paths_setting: int | None
) -> None:
    model, env = _library(tmp_path, root_length=259 - TAIL + 10)
    _on_windows(monkeypatch, long_paths_setting)
    monkeypatch.setattr(windows_paths, "WINDOWS", windows)

    run_main("organize", "--template", TEMPLATE, "--yes", env=env, check=True)

    moved = model.parent.parent / "LoRA" / "SD 1.x" / "OedoSoldier" / model.name
    assert moved.exists()
    assert moved.with_name("detail_tweaker.civitai.info").exists()
