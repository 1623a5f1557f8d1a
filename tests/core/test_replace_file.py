"""Replacing a file on Windows survives a scanner's brief lock and still fails on a lasting one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core import replace_file as module
from core.replace_file import RETRY_WAITS, replace_file


def _locked_for(tries: int) -> tuple[Callable[[Path, Path], Path], list[Path]]:
    """A ``Path.replace`` refused like a file a scanner holds for ``tries`` tries, then the real one."""
    real = Path.replace
    calls: list[Path] = []

    def replace(source: Path, target: Path) -> Path:
        calls.append(target)
        if len(calls) <= tries:
            raise PermissionError(13, "The process cannot access the file", str(target))
        return real(source, target)

    return replace, calls


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "settings.json.tmp").write_text("new", encoding="utf-8")
    (tmp_path / "settings.json").write_text("old", encoding="utf-8")
    return tmp_path / "settings.json.tmp", tmp_path / "settings.json"


def test_windows_waits_out_a_brief_lock(files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = files
    replace, calls = _locked_for(2)
    waits: list[float] = []
    monkeypatch.setattr(module, "SCANNERS_HOLD_FILES", True)
    monkeypatch.setattr(Path, "replace", replace)
    monkeypatch.setattr(module.time, "sleep", waits.append)
    replace_file(source, target)
    assert target.read_text(encoding="utf-8") == "new"
    assert not source.exists()
    assert len(calls) == 3
    assert waits == list(RETRY_WAITS[:2])


def test_windows_gives_up_after_about_a_second(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = files
    replace, calls = _locked_for(10**6)
    waits: list[float] = []
    monkeypatch.setattr(module, "SCANNERS_HOLD_FILES", True)
    monkeypatch.setattr(Path, "replace", replace)
    monkeypatch.setattr(module.time, "sleep", waits.append)
    with pytest.raises(PermissionError):
        replace_file(source, target)
    assert len(calls) == len(RETRY_WAITS) + 1
    assert 0.8 <= sum(waits) <= 1.5
    assert target.read_text(encoding="utf-8") == "old"
    assert source.exists()


def test_elsewhere_a_permission_error_is_raised_at_once(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = files
    replace, calls = _locked_for(1)
    monkeypatch.setattr(module, "SCANNERS_HOLD_FILES", False)
    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(PermissionError):
        replace_file(source, target)
    assert len(calls) == 1
    replace_file(source, target)  # nothing holds it any more
    assert target.read_text(encoding="utf-8") == "new"


def test_other_errors_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "SCANNERS_HOLD_FILES", True)
    monkeypatch.setattr(module.time, "sleep", lambda seconds: pytest.fail("waited on a missing file"))
    with pytest.raises(FileNotFoundError):
        replace_file(tmp_path / "absent.tmp", tmp_path / "target")
