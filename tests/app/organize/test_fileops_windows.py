"""Moves on Windows (taken on Linux through ``core.no_overwrite.RENAME_NEVER_REPLACES``) onto a FAT32 or
exFAT drive, where Windows refuses hard links with EINVAL: the file moves by a rename that never
replaces, instead of every move failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.organize.fileops import move_path, settle_move
from core.organize.errors import TargetExistsError
from tests.core.test_no_overwrite import windows_on_fat

__all__ = ["windows_on_fat"]  # the fixture


@pytest.mark.usefixtures("windows_on_fat")
def test_a_move_onto_a_drive_without_hard_links_happens(tmp_path: Path) -> None:
    source = tmp_path / "Lora" / "detail.safetensors"
    source.parent.mkdir()
    source.write_bytes(b"model")
    target = tmp_path / "Lora" / "SDXL" / "detail.safetensors"

    move_path(source, target)

    assert target.read_bytes() == b"model"
    assert not source.exists()


@pytest.mark.usefixtures("windows_on_fat")
def test_a_move_onto_an_existing_name_replaces_nothing(tmp_path: Path) -> None:
    source, target = tmp_path / "detail.safetensors", tmp_path / "other.safetensors"
    source.write_bytes(b"model")
    target.write_bytes(b"kept")

    with pytest.raises(TargetExistsError):
        move_path(source, target)

    assert (source.read_bytes(), target.read_bytes()) == (b"model", b"kept")


@pytest.mark.usefixtures("windows_on_fat")
def test_recovery_finishes_a_move_that_never_started(tmp_path: Path) -> None:
    source, target = tmp_path / "detail.safetensors", tmp_path / "SDXL" / "detail.safetensors"
    source.write_bytes(b"model")

    settle_move(source, target)

    assert target.read_bytes() == b"model"
    assert not source.exists()
