"""A download into a folder too deep for Windows (without long paths) is refused before its folder or its
``.part`` is made, with a message that says how to lift the limit, and never retried; off Windows (and
with long paths) the same download lands. Real loopback server, real SQLite queue, the Windows branch
taken on Linux through ``core.windows_paths``' constant and registry reader."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.download_store import SqlDownloadStore
from core import windows_paths
from core.downloads import Downloader, DownloadRequest, DownloadStatus
from core.net import make_session
from core.sources.errors import PathTooLongError
from tests.fakes.file_server import FileServerState, serve_files
from tests.fakes.server import FakeServer

DATA = os.urandom(64 * 1024)
NAME = "Detail_Tweaker_LoRA_(Detail_Slider)_v1.0.safetensors"


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, FileServerState]]:
    with serve_files() as pair:
        pair[1].add(f"/files/{NAME}", DATA)
        yield pair


def _deep_folder(base: Path) -> Path:
    """A folder of 230 characters: it can be made, but NAME's .part in it is 289 characters long."""
    folder = str(base / "models" / "Lora")
    while len(folder) < 230:
        folder += "/" + "Creator Name"[: 230 - len(folder) - 1]
    return Path(folder)


def _download(server: FakeServer, store: SqlDownloadStore, folder: Path) -> tuple[Downloader, int]:
    engine = Downloader(make_session(retries=0, timeout=(5.0, 5.0)), store, backoff_s=0.01, attempts=3)
    return engine, engine.enqueue(DownloadRequest(f"{server.base_url}/files/{NAME}", folder))


def _gets(server: FakeServer) -> int:
    return sum(1 for method, path, _ in server.requests if method == "GET" and path == f"/files/{NAME}")


def test_on_windows_a_download_into_a_deep_folder_fails_at_once_with_the_way_out(
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(windows_paths, "WINDOWS", True)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: None)
    http, _ = server
    folder = _deep_folder(tmp_path)
    engine, download_id = _download(http, store, folder)

    with pytest.raises(PathTooLongError) as refused:
        engine.run_one(download_id)

    length = len(str(folder / f"{NAME}.part"))
    assert refused.value.message == (
        f"Cannot download into {folder}: the path of {NAME}.part would be {length} characters, more than "
        "the 259 Windows allows. Enable long paths in Windows (LongPathsEnabled), or choose a shorter "
        "download folder or subfolder template (Settings › Sites)."
    )
    record = engine.get(download_id)
    assert (record.status, record.error) == (DownloadStatus.FAILED, refused.value.message)
    assert not folder.exists()  # neither the folder nor a .part was made
    assert _gets(http) == 1  # not retried: waiting does not shorten a path


@pytest.mark.parametrize(("windows", "long_paths_setting"), [(False, None), (True, 1)])
def test_without_the_limit_the_same_download_lands(  # noqa: PLR0917
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    windows: bool,
    long_paths_setting: int | None,
) -> None:
    monkeypatch.setattr(windows_paths, "WINDOWS", windows)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: long_paths_setting)
    http, _ = server
    folder = _deep_folder(tmp_path)
    engine, download_id = _download(http, store, folder)

    assert engine.run_one(download_id) == folder / NAME
    assert (folder / NAME).read_bytes() == DATA
