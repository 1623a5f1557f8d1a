"""The folders ``Library.add_root`` refuses (catalog.root_guard), on both platforms' paths: the Windows
branch runs here with ``WINDOWS`` set, as it runs on Windows."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from catalog import root_guard
from catalog.library import Library
from catalog.root_guard import NotALibraryFolderError, refuse_unfit_root
from core.errors import UsageError


@pytest.mark.parametrize("folder", ["/", "/usr", "/etc", "/home", "/Users", "/home/someone"])
def test_the_disk_root_system_folders_and_the_home_folder_are_refused(folder: str) -> None:
    with pytest.raises(NotALibraryFolderError) as refused:
        refuse_unfit_root(Path(folder), home=Path("/home/someone"))
    assert isinstance(refused.value, UsageError), "the command line exits 2 for it"


@pytest.mark.parametrize("folder", ["/home/someone/models", "/mnt/models", "/usr/share/sd-models", "/srv"])
def test_folders_inside_them_are_library_folders(folder: str) -> None:
    refuse_unfit_root(Path(folder), home=Path("/home/someone"))


@pytest.mark.parametrize("folder", ["C:\\", "D:\\", "c:\\windows", "C:\\Program Files", "C:\\Users\\Ann"])
def test_on_windows_a_drive_root_and_the_system_folders_are_refused(
    monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    monkeypatch.setattr(root_guard, "WINDOWS", True)
    with pytest.raises(NotALibraryFolderError):
        refuse_unfit_root(PureWindowsPath(folder), home=PureWindowsPath("C:\\Users\\ann"))  # type: ignore[arg-type]


@pytest.mark.parametrize("folder", ["D:\\SD", "C:\\Users\\Ann\\models", "E:\\ComfyUI\\models"])
def test_on_windows_folders_inside_them_are_library_folders(
    monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    monkeypatch.setattr(root_guard, "WINDOWS", True)
    refuse_unfit_root(PureWindowsPath(folder), home=PureWindowsPath("C:\\Users\\ann"))  # type: ignore[arg-type]


def test_library_add_root_refuses_before_writing(tmp_path: Path) -> None:
    with Library.open(tmp_path / "catalog.sqlite3") as library:
        with pytest.raises(NotALibraryFolderError):
            library.add_root(Path("/"))
        assert library.roots() == []
