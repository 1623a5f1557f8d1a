"""Renaming without replacing: Windows' way (``os.rename``, which refuses an existing target) taken on
Linux by setting ``RENAME_NEVER_REPLACES``, with the file systems a USB drive brings (FAT32, exFAT:
``CreateHardLinkW`` refused with EINVAL) and ``MoveFileExW``'s refusal of an existing name emulated."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from core import no_overwrite
from core.no_overwrite import rename_no_replace


def _refuse_hard_links(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.EINVAL, "Incorrect function")  # what Windows answers on FAT32 and exFAT


@pytest.fixture
def windows_on_fat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' rename on a drive without hard links: ``os.rename`` never replaces (MoveFileExW without
    MOVEFILE_REPLACE_EXISTING), and a hard link is refused."""
    real_rename: Callable[..., None] = os.rename

    def windows_rename(source: str | Path, target: str | Path) -> None:
        if os.path.lexists(target):
            raise FileExistsError(
                errno.EEXIST, "Cannot create a file when that file already exists", str(target)
            )
        real_rename(source, target)

    monkeypatch.setattr(no_overwrite, "RENAME_NEVER_REPLACES", True)
    monkeypatch.setattr(no_overwrite, "_RENAMEAT2", None)  # Linux's own call, absent on Windows
    monkeypatch.setattr(os, "rename", windows_rename)
    monkeypatch.setattr(os, "link", _refuse_hard_links)


@pytest.mark.usefixtures("windows_on_fat")
def test_on_windows_a_file_moves_where_hard_links_are_refused(tmp_path: Path) -> None:
    source, target = tmp_path / "a.safetensors", tmp_path / "sub" / "b.safetensors"
    target.parent.mkdir()
    source.write_bytes(b"model")

    rename_no_replace(source, target)

    assert target.read_bytes() == b"model"
    assert not source.exists()


@pytest.mark.parametrize("platform", ["windows on FAT", "here"])
def test_an_existing_target_is_never_replaced(
    tmp_path: Path, request: pytest.FixtureRequest, platform: str
) -> None:
    if platform == "windows on FAT":
        request.getfixturevalue("windows_on_fat")
    source, target = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    source.write_bytes(b"new")
    target.write_bytes(b"kept")

    with pytest.raises(FileExistsError):
        rename_no_replace(source, target)

    assert (source.read_bytes(), target.read_bytes()) == (b"new", b"kept")


@pytest.mark.usefixtures("windows_on_fat")
def test_on_windows_a_folder_moves_whole(tmp_path: Path) -> None:
    source = tmp_path / "diffusers model"
    (source / "unet").mkdir(parents=True)
    (source / "unet" / "weights.bin").write_bytes(b"w")

    rename_no_replace(source, tmp_path / "moved")

    assert (tmp_path / "moved" / "unet" / "weights.bin").read_bytes() == b"w"
    assert not source.exists()
