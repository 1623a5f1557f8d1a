"""The longest full path this system accepts: Windows' MAX_PATH limits unless long paths are enabled,
no limit elsewhere. The Windows branch runs on Linux by setting the module's constant and registry reader."""

from __future__ import annotations

import sys

import pytest

from core import windows_paths
from core.windows_paths import MAX_FILE_PATH, MAX_FOLDER_PATH, PathLimits, path_length, path_limits


@pytest.mark.parametrize(
    ("windows", "setting", "expected"),
    [
        (True, None, PathLimits(259, 247)),  # the key is missing: Windows' default
        (True, 0, PathLimits(259, 247)),
        (True, 1, None),  # LongPathsEnabled = 1: no practical limit
        (False, None, None),  # Linux, macOS: only a name's 255 bytes, checked elsewhere
    ],
)
def test_the_limits_follow_the_system_and_the_long_paths_setting(
    monkeypatch: pytest.MonkeyPatch, windows: bool, setting: int | None, expected: PathLimits | None
) -> None:
    monkeypatch.setattr(windows_paths, "WINDOWS", windows)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: setting)
    assert path_limits() == expected


def test_the_limits_are_max_path_less_the_nul_and_less_an_8_3_name_for_a_folder() -> None:
    assert (MAX_FILE_PATH, MAX_FOLDER_PATH) == (260 - 1, 260 - 12 - 1)


def test_lengths_are_counted_as_windows_counts_them() -> None:
    assert path_length("D:\\models\\Lora") == 14
    assert path_length("D:\\é") == 4  # one UTF-16 unit, two UTF-8 bytes
    assert path_length("D:\\🎨") == 5  # outside the BMP: a surrogate pair


@pytest.mark.skipif(sys.platform == "win32", reason="reads the real registry there")
def test_the_registry_is_not_read_off_windows() -> None:
    assert windows_paths._long_paths_setting_in_registry() is None
