"""DownloadManager.forget ("Remove from list", "Clear finished"): finished rows leave the queue in one
write; queued ones stay, also one a command started again since the window last read the queue. Real
catalog, real queue; nothing is downloaded (the concurrency is 0)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.context import AppContext
from app.secrets import TokenStore
from core.downloads import DownloadRequest, DownloadSource, DownloadStatus
from desktop.download_manager import DownloadManager


@pytest.fixture
def manager(tmp_path: Path, qtbot: QtBot) -> Iterator[tuple[AppContext, DownloadManager]]:
    context = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    queue = DownloadManager(context.downloads, lambda: 0)
    try:
        yield context, queue
    finally:
        queue.shutdown()
        context.close()


def test_clear_finished_forgets_every_finished_row_in_one_write(
    tmp_path: Path, manager: tuple[AppContext, DownloadManager]
) -> None:
    context, queue = manager
    store = context.downloads.store
    # Straight into the store: the manager's pump would start the first one.
    ids = [
        store.add(DownloadRequest(f"http://127.0.0.1:9/{n}.bin", tmp_path / "Lora", DownloadSource.URL))
        for n in range(6)
    ]
    for download_id in ids[:2]:
        store.set_status(download_id, DownloadStatus.FAILED, "The server said no.")
    for download_id in ids[2:4]:
        store.set_status(download_id, DownloadStatus.CANCELLED)
    store.set_status(ids[4], DownloadStatus.FAILED, "The server said no.")
    queue.refresh()
    store.set_status(ids[4], DownloadStatus.QUEUED)  # `download --retry` in a terminal, unseen by the window
    writes: list[str] = []  # every statement but the reads

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        queue.forget(ids[:5])
    finally:
        event.remove(Engine, "before_cursor_execute", count)

    assert [w.split()[0] for w in writes] == ["BEGIN", "DELETE", "BEGIN"], writes  # the last: refresh's read
    assert writes[0] == "BEGIN IMMEDIATE"  # one write transaction
    assert [r.id for r in queue.records()] == [ids[4], ids[5]]
    assert [r.id for r in store.list()] == [ids[4], ids[5]]
