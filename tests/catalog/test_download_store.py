"""catalog.download_store: the download queue in a real SQLite catalog, surviving a reopen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from catalog.download_store import SqlDownloadStore
from catalog.library import Library
from core.downloads import DownloadRequest, DownloadSource, DownloadStatus


def _request(tmp_path: Path) -> DownloadRequest:
    return DownloadRequest(
        "https://civitai.com/api/download/models/70",
        tmp_path / "Lora",
        DownloadSource.CIVITAI,
        expected_size=123,
        expected_sha256="ABCDEF",
        file_name="hint.safetensors",
        headers={"Authorization": "Bearer secret", "X-Extra": "1"},
        metadata={"model": {"id": 7, "name": "Pixel Art"}},
        remote_ids={"model_id": 7, "version_id": 70, "file_id": 700},
    )


def test_the_queue_persists_across_reopen(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    store = SqlDownloadStore.open(db)
    first = store.add(_request(tmp_path))
    second = store.add(DownloadRequest("https://x/y.bin", tmp_path))
    store.set_file_name(first, "real.safetensors")
    store.set_progress(first, 50, 123)
    store.set_status(second, DownloadStatus.FAILED, "The server said no.")
    store.close()

    store = SqlDownloadStore.open(db)
    try:
        a, b = store.list()
        assert (a.id, b.id) == (first, second)
        assert a.status is DownloadStatus.QUEUED
        assert a.source is DownloadSource.CIVITAI
        assert (a.file_name, a.suggested_name) == ("real.safetensors", "hint.safetensors")
        assert a.part_path == tmp_path / "Lora" / "real.safetensors.part"
        assert (a.bytes_done, a.total, a.expected_size, a.expected_sha256) == (50, 123, 123, "abcdef")
        assert a.headers == {"X-Extra": "1"}, "credentials are never stored"
        assert a.metadata == {"model": {"id": 7, "name": "Pixel Art"}}
        assert a.remote_ids == {"model_id": 7, "version_id": 70, "file_id": 700}
        assert a.created_at is not None
        assert a.updated_at is not None
        assert a.updated_at >= a.created_at
        assert (b.status, b.error, b.file_name, b.part_path) == (
            DownloadStatus.FAILED,
            "The server said no.",
            None,
            None,
        )
        store.set_completed(first, tmp_path / "Lora" / "real.safetensors", 123)
        done = store.get(first)
        assert done is not None
        assert done.status is DownloadStatus.COMPLETED
        assert done.completed_path == tmp_path / "Lora" / "real.safetensors"
        assert (done.bytes_done, done.total, done.error) == (123, 123, None)
        store.delete(second)
        assert store.get(second) is None
        assert [r.id for r in store.list()] == [first]
    finally:
        store.close()


def test_the_store_shares_a_library_database(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    with Library.open(db):
        pass
    store = SqlDownloadStore.open(db)
    try:
        download_id = store.add(_request(tmp_path))
        assert store.get(download_id) is not None
    finally:
        store.close()
    with Library.open(db):
        pass  # the library still opens a catalog holding downloads


def test_delete_many_forgets_in_one_write_and_only_rows_still_in_the_statuses_given(tmp_path: Path) -> None:
    """ "Clear finished" on a long list is one DELETE, not one write transaction per row; a row a command
    started again since the list was read (queued now) stays."""
    store = SqlDownloadStore.open(tmp_path / "catalog.db")
    try:
        ids = [store.add(DownloadRequest(f"https://x/{n}.bin", tmp_path)) for n in range(5)]
        for download_id in ids[:4]:
            store.set_status(download_id, DownloadStatus.FAILED, "gone")
        store.set_status(ids[1], DownloadStatus.QUEUED)  # retried by `download --retry` meanwhile
        deletes: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if statement.lstrip().upper().startswith("DELETE"):
                deletes.append(statement)

        event.listen(Engine, "before_cursor_execute", count)
        try:
            store.delete_many(ids, statuses=(DownloadStatus.FAILED, DownloadStatus.COMPLETED))
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        assert len(deletes) == 1
        assert [r.id for r in store.list()] == [ids[1], ids[4]]
        store.delete_many([])
        store.delete_many([ids[4], 999])
        assert [r.id for r in store.list()] == [ids[1]]
    finally:
        store.close()
