"""On Windows without long paths, a planned move whose full path (with the ``.atelier-part`` copy a move
writes first) passes MAX_PATH is a conflict shown before anything moves, not a WinError 206 half-way.
The Windows branch runs on Linux by setting ``core.windows_paths``' constant and registry reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import windows_paths
from core.organize.plan import REASON_PATH_TOO_LONG, plan_moves

LORA = Path("D:/stable-diffusion-webui/models/Lora")  # 37 characters, as in an A1111 install
SOURCE = LORA / "detail_tweaker.safetensors"
DEEP = LORA / "LoRA" / "Stable Diffusion XL 1.0" / "Detail and Style Tweakers" / ("Creator" * 10)


def _on_windows(monkeypatch: pytest.MonkeyPatch, long_paths_setting: int | None) -> None:
    monkeypatch.setattr(windows_paths, "WINDOWS", True)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: long_paths_setting)


def _folder_of_length(length: int) -> Path:
    """``LORA`` extended by folders of at most 100 characters to exactly ``length`` characters."""
    folder = str(LORA)
    while len(folder) < length:
        folder += "/" + "f" * min(100, length - len(folder) - 1)
    assert len(folder) == length
    return Path(folder)


def _plan(
    target: Path, companions: list[Path] | None = None, *, rename: bool = False
) -> list[tuple[str, str]]:
    plan = plan_moves(
        [(1, SOURCE, target)],
        exists=lambda path: False,
        companions=lambda path: companions or [],
        rename_conflicts=rename,
    )
    return [(conflict.code, conflict.reason) for conflict in plan.conflicts]


def test_a_deep_template_target_is_a_conflict_naming_its_length_the_limit_and_the_way_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _on_windows(monkeypatch, None)
    name = "Detail Tweaker LoRA (Detail Slider) - v1.0 for SDXL and Pony Diffusion V6 XL.safetensors"
    target = DEEP / name
    length = len(str(target)) + len(".atelier-part")
    assert len(str(target)) <= 259 < length  # the file itself would fit: the move's copy would not

    assert _plan(target) == [
        (
            REASON_PATH_TOO_LONG,
            f"its path would be {length} characters long ({name}.atelier-part, the copy a move writes "
            "first), more than the 259 Windows allows: enable long paths in Windows (LongPathsEnabled), "
            "or use a shorter folder, name or template",
        )
    ]
    assert [code for code, _ in _plan(target, rename=True)] == [REASON_PATH_TOO_LONG]  # a number: longer


def test_with_long_paths_enabled_or_off_windows_the_same_move_is_planned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = _folder_of_length(300) / "detail_tweaker.safetensors"
    _on_windows(monkeypatch, 1)
    assert _plan(target) == []
    monkeypatch.setattr(windows_paths, "WINDOWS", False)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: None)
    assert _plan(target) == []


def test_the_limit_is_259_characters_with_the_part_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    _on_windows(monkeypatch, None)
    name = "m.safetensors"
    fits = _folder_of_length(259 - len(".atelier-part") - len(name) - 1) / name
    assert len(str(fits)) + len(".atelier-part") == 259
    assert _plan(fits) == []
    over = _folder_of_length(len(str(fits.parent)) + 1) / name
    assert [code for code, _ in _plan(over)] == [REASON_PATH_TOO_LONG]


def test_a_companion_that_passes_the_limit_is_a_conflict_though_the_model_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _on_windows(monkeypatch, None)
    name = "m.safetensors"
    target = _folder_of_length(259 - len(".atelier-part") - len(name) - 1) / name  # fits exactly
    preview = LORA / "detail_tweaker.preview.png"  # "m.preview.png": as long as "m.safetensors"
    info = LORA / "detail_tweaker.civitai.info"  # "m.civitai.info": one character longer

    assert _plan(target, [preview]) == []
    ((code, reason),) = _plan(target, [preview, info])
    assert code == REASON_PATH_TOO_LONG
    assert "its path would be 260 characters long (m.civitai.info.atelier-part," in reason


def test_a_folder_model_is_held_to_the_folder_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    _on_windows(monkeypatch, None)
    pipeline = _folder_of_length(247 - len(".atelier-part"))  # a diffusers folder: no model extension
    assert _plan(pipeline) == []
    longer = pipeline.with_name(pipeline.name + "x")
    ((code, reason),) = _plan(longer)
    assert code == REASON_PATH_TOO_LONG
    assert "more than the 247 Windows allows for a folder" in reason


def test_lengths_count_utf16_units(monkeypatch: pytest.MonkeyPatch) -> None:
    _on_windows(monkeypatch, None)
    name = "🎨.safetensors"  # 13 characters in Python, 14 UTF-16 units
    target = _folder_of_length(259 - len(".atelier-part") - 13 - 1) / name
    assert len(str(target)) + len(".atelier-part") == 259
    assert [code for code, _ in _plan(target)] == [REASON_PATH_TOO_LONG]
