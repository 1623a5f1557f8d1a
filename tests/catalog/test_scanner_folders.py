"""Diffusers folders are identified again by every scan, so a folder an older version misidentified (a
tiny StableDiffusionPipeline cataloged as "other") is corrected without the user touching it, and keeps
its user data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from catalog.examine import examine, walk_root
from catalog.library import Library
from catalog.records import UserDataChanges
from catalog.scanner import Scanner
from core.identify.result import Identification
from core.taxonomy import Architecture, LibraryLayout
from tests.factory.diffusers_configs import write_pipeline


@pytest.fixture
def library(lib: Library) -> Library:
    """The catalog under test: on SQLite and on the PostgreSQL server (``lib``, tests/catalog/conftest.py)."""
    return lib


def test_a_rescan_corrects_a_folder_identified_by_an_older_version(library: Library, tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = write_pipeline(models / "tiny-sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 32})
    root = library.add_root(models, LibraryLayout.FLAT)
    (found,) = list(walk_root(models))
    scanned = examine(found)
    assert scanned.identification is not None
    # What an older version wrote for this unchanged folder: the same stat, "other" as architecture.
    old = dataclasses.replace(scanned.identification, architecture=Architecture.OTHER)
    assert isinstance(old, Identification)
    (asset_id,) = library.apply_scan_batch(root.id, [dataclasses.replace(scanned, identification=old)])
    library.update_user_data(asset_id, UserDataChanges(notes="my tiny test model", rating=4))
    before = library.get(asset_id)
    assert before is not None
    assert before.architecture is Architecture.OTHER

    summary = Scanner(library).scan([root.id])

    record = library.get(asset_id)
    assert record is not None
    assert record.architecture is Architecture.SD1
    assert (record.notes, record.rating) == ("my tiny test model", 4)
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 1)
    assert record.path == str(folder)
