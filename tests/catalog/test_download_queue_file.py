"""A machine whose catalog is on a server keeps its download queue in ``download-queue.sqlite3``: the
downloads table and nothing else, laid out as the catalog's own; the queue of a ``catalog.server`` file
left by an earlier version is carried over on the first start, and that file removed only once every
download is in the new one."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.context import AppContext
from app.secrets import TokenStore
from catalog import download_store
from catalog.download_store import FORMER_QUEUE_FILE, QUEUE_FILE, QUEUE_FILE_VERSION, SqlDownloadStore
from catalog.library import Library
from core.downloads import DownloadRecord, DownloadRequest, DownloadSource, DownloadStatus


def _request(folder: Path, name: str) -> DownloadRequest:
    return DownloadRequest(
        f"https://civitai.com/api/download/models/{len(name)}",
        folder,
        DownloadSource.CIVITAI,
        expected_size=1234,
        expected_sha256="ab" * 32,
        file_name=name,
        headers={"X-Extra": "1"},
        metadata={"model": {"name": name}},
        remote_ids={"model_id": 7, "version_id": len(name)},
    )


def _former_queue(data_dir: Path) -> list[DownloadRecord]:
    """A ``catalog.server`` as the earlier version made it (a whole catalog migrated to head, the queue in
    it), with a download in each state a user may have left; its records."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = SqlDownloadStore.open(data_dir / FORMER_QUEUE_FILE)
    try:
        queued = store.add(_request(data_dir / "Lora", "queued.safetensors"))
        paused = store.add(_request(data_dir / "Lora", "paused.safetensors"))
        store.set_file_name(paused, "paused.safetensors")
        store.set_progress(paused, 600, 1234)
        store.set_status(paused, DownloadStatus.PAUSED)
        failed = store.add(_request(data_dir / "ckpt", "failed.safetensors"))
        store.set_status(failed, DownloadStatus.FAILED, "The server said no.")
        done = store.add(_request(data_dir / "Lora", "done.safetensors"))
        store.set_completed(done, data_dir / "Lora" / "done.safetensors", 1234)
        store.delete(queued)  # ids with a gap: carried as they are
        store.add(_request(data_dir / "Lora", "later.safetensors"))
        return store.list()
    finally:
        store.close()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def _layout(path: Path) -> tuple[list[tuple[object, ...]], list[str]]:
    with sqlite3.connect(path) as connection:
        columns = connection.execute("PRAGMA table_info(downloads)").fetchall()
        indexes = [str(row[1]) for row in connection.execute("PRAGMA index_list(downloads)")]
    return columns, sorted(indexes)


def test_the_queue_file_holds_the_downloads_table_laid_out_as_the_catalogs(tmp_path: Path) -> None:
    store = SqlDownloadStore.open_queue_file(tmp_path / "data")
    store.close()
    queue = tmp_path / "data" / QUEUE_FILE
    assert _tables(queue) - {"sqlite_sequence"} == {"downloads"}
    with sqlite3.connect(queue) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (QUEUE_FILE_VERSION,)
    with Library.open(tmp_path / "catalog.sqlite3"):
        pass
    # A migration that changes the catalog's downloads table must change the queue file's too.
    assert _layout(queue) == _layout(tmp_path / "catalog.sqlite3")
    assert not (tmp_path / "data" / FORMER_QUEUE_FILE).exists()


def test_a_system_that_cannot_open_folders_makes_the_queue_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows refuses ``os.open`` on a folder (PermissionError): the queue is still made, its folder
    flushed through the one guarded ``fsync_folder``."""
    real_open = os.open
    flushed: list[Path] = []

    def windows_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path).is_dir():
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", windows_open)
    monkeypatch.setattr(download_store, "fsync_folder", flushed.append)
    SqlDownloadStore.open_queue_file(tmp_path / "data").close()

    assert (tmp_path / "data" / QUEUE_FILE).is_file()
    assert flushed == [tmp_path / "data"]


def test_a_former_catalog_server_queue_is_carried_over_and_the_old_file_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = _former_queue(data)

    store = SqlDownloadStore.open_queue_file(data)
    try:
        assert store.list() == before
        newer = store.add(_request(data / "Lora", "new.safetensors"))
        assert newer > max(record.id for record in before), "an id of the old queue is never given again"
    finally:
        store.close()
    assert not (data / FORMER_QUEUE_FILE).exists()
    assert not any(data.glob(f"{FORMER_QUEUE_FILE}-*"))
    assert not any(data.glob(".download-queue*")), "nothing half-made is left beside it"

    store = SqlDownloadStore.open_queue_file(data)
    try:
        assert [record.id for record in store.list()] == [*(record.id for record in before), newer]
        paused = next(record for record in store.list() if record.status is DownloadStatus.PAUSED)
        assert (paused.bytes_done, paused.total, paused.file_name) == (600, 1234, "paused.safetensors")
    finally:
        store.close()


def test_a_start_cut_off_before_the_old_file_was_removed_finishes_without_doubling(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = _former_queue(data)
    shutil.copy(data / FORMER_QUEUE_FILE, tmp_path / "copy")
    SqlDownloadStore.open_queue_file(data).close()
    shutil.copy(tmp_path / "copy", data / FORMER_QUEUE_FILE)  # as if the removal never happened

    store = SqlDownloadStore.open_queue_file(data)
    try:
        assert store.list() == before
    finally:
        store.close()
    assert not (data / FORMER_QUEUE_FILE).exists()


def test_a_former_file_that_cannot_be_read_is_kept_whole(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    damaged = b"not a database, but maybe the user's" * 100
    (data / FORMER_QUEUE_FILE).write_bytes(damaged)

    store = SqlDownloadStore.open_queue_file(data)
    try:
        assert store.list() == []
        store.add(_request(data, "fresh.safetensors"))
    finally:
        store.close()
    assert (data / FORMER_QUEUE_FILE).read_bytes() == damaged


def test_on_a_server_the_app_lists_the_carried_queue_and_makes_no_catalog_file(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    before = _former_queue(data)

    context = AppContext(data, tokens=TokenStore(data, use_keyring=False), catalog=pg_catalog_url)
    try:
        assert context.downloads.store.list() == before
    finally:
        context.close()
    assert (data / QUEUE_FILE).is_file()
    assert not (data / FORMER_QUEUE_FILE).exists()

    code = main(["--data-dir", str(data), "--catalog", pg_catalog_url, "downloads", "list"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "paused.safetensors" in text
    assert "The server said no." in text
    assert not (data / FORMER_QUEUE_FILE).exists(), "the server's queue never makes a catalog file again"
