"""A finished download enters the library alone: its file is read and cataloged, the rest of the library
folder is not walked or read again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.context import AppContext
from app.download_ingest import ingest_download
from catalog.records import AssetQuery
from core.downloads import DownloadRecord, DownloadSource, DownloadStatus
from core.taxonomy import AssetKind, FileStatus, LibraryLayout
from tests.catalog.test_scanner import write_lora


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext(tmp_path / "profile")
    try:
        yield context
    finally:
        context.close()


def _record(folder: Path, name: str) -> DownloadRecord:
    return DownloadRecord(
        id=1,
        url=f"http://127.0.0.1:1/{name}",
        source=DownloadSource.URL,
        target_dir=folder,
        status=DownloadStatus.COMPLETED,
        file_name=name,
    )


def test_a_download_is_cataloged_without_reading_the_rest_of_its_folder(
    context: AppContext, tmp_path: Path
) -> None:
    loras = tmp_path / "library" / "models" / "Lora"
    loras.mkdir(parents=True)
    neighbour = write_lora(loras / "already_here.safetensors")
    root = context.add_root(tmp_path / "library", LibraryLayout.A1111)
    context.scan([root.id])
    before = context.library.get_by_path(neighbour)
    assert before is not None
    # The neighbour changes on disk: a scan of the folder would read it again and store its new mtime.
    os.utime(neighbour, ns=(before.mtime_ns + 10**9, before.mtime_ns + 10**9))
    downloaded = write_lora(loras / "fresh_download.safetensors", seed=3)

    asset = ingest_download(context, _record(loras, downloaded.name), downloaded)

    assert asset is not None
    assert (asset.kind, asset.status, asset.path) == (AssetKind.LORA, FileStatus.OK, str(downloaded))
    assert asset.hashes is not None, "the download's file is hashed at once"
    assert context.library.search_ids(AssetQuery(text="fresh_download")) == [asset.id]
    after = context.library.get_by_path(neighbour)
    assert after is not None
    assert after.mtime_ns == before.mtime_ns, "the rest of the folder was not scanned again"
    assert after.hashes is None, "nothing but the download was hashed"


def test_a_download_that_replaces_a_cataloged_file_updates_its_row(
    context: AppContext, tmp_path: Path
) -> None:
    loras = tmp_path / "library" / "models" / "Lora"
    loras.mkdir(parents=True)
    path = write_lora(loras / "replaced.safetensors")
    root = context.add_root(tmp_path / "library", LibraryLayout.A1111)
    context.scan([root.id])
    old = context.library.get_by_path(path)
    assert old is not None
    write_lora(path, seed=9)
    os.utime(path, ns=(old.mtime_ns + 10**9, old.mtime_ns + 10**9))

    asset = ingest_download(context, _record(loras, path.name), path)

    assert asset is not None
    assert asset.id == old.id
    assert asset.mtime_ns == old.mtime_ns + 10**9
    assert context.library.count(AssetQuery()) == 1
