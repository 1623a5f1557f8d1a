"""A site tab's download goes through ``DownloadManager.enqueue_from_site``: the request is queued and the
line under the tab says where it goes, or nothing is queued and the line says why (no library folder to
put it in; the file already in the library). Real catalog, real queue; no download is started (the
concurrency is 0), so no server is needed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.download_paths import NoDownloadRootError
from app.secrets import TokenStore
from core.downloads import DownloadRequest, DownloadSource
from desktop.download_manager import DownloadManager
from tests.factory.safetensors_writer import write_safetensors


@pytest.fixture
def manager(tmp_path: Path, qtbot: QtBot) -> Iterator[tuple[AppContext, DownloadManager]]:
    context = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    queue = DownloadManager(context.downloads, lambda: 0)
    try:
        yield context, queue
    finally:
        queue.shutdown()
        context.close()


def _request(target_dir: Path, sha256: str | None = None) -> DownloadRequest:
    return DownloadRequest(
        url="http://127.0.0.1:9/files/detail.safetensors",
        target_dir=target_dir,
        source=DownloadSource.HUGGINGFACE,
        expected_sha256=sha256,
        file_name="detail.safetensors",
    )


def test_a_queued_request_says_where_it_goes(
    tmp_path: Path, manager: tuple[AppContext, DownloadManager]
) -> None:
    context, queue = manager
    said: list[str] = []
    download_id = queue.enqueue_from_site(
        lambda: _request(tmp_path / "Lora"), "detail.safetensors", said.append
    )
    assert download_id is not None
    assert said == [f"Downloading detail.safetensors to {tmp_path / 'Lora'}"]
    assert [record.id for record in context.downloads.store.list()] == [download_id]


def test_no_folder_to_download_into_is_said_and_nothing_is_queued(
    manager: tuple[AppContext, DownloadManager],
) -> None:
    context, queue = manager

    def no_folder() -> DownloadRequest:
        raise NoDownloadRootError("Add a library folder first (File > Add folder…), then download again.")

    said: list[str] = []
    assert queue.enqueue_from_site(no_folder, "detail.safetensors", said.append) is None
    assert said == ["Add a library folder first (File > Add folder…), then download again."]
    assert context.downloads.store.list() == []


def test_a_file_the_library_has_is_not_queued_again(
    tmp_path: Path, manager: tuple[AppContext, DownloadManager]
) -> None:
    context, queue = manager
    folder = tmp_path / "models"
    owned = write_safetensors(
        folder / "detail.safetensors", {"lora_unet_x.lora_down.weight": ("F16", (4, 8))}
    )
    context.add_root(folder)
    context.scan()
    context.hash_pending()
    sha256 = hashlib.sha256(owned.read_bytes()).hexdigest()

    said: list[str] = []
    assert (
        queue.enqueue_from_site(lambda: _request(folder, sha256), "detail.safetensors", said.append) is None
    )
    assert len(said) == 1
    assert said[0].startswith("Already in the library: ")
    assert str(owned) in said[0]
    assert context.downloads.store.list() == []
