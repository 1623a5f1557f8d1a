"""Telling a download that another live process runs from one whose process died: locks that die with
their process, and the engine's recovery of rows a crash left ``running``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from catalog.download_store import SqlDownloadStore
from core.download_locks import RunLocks
from core.downloads import Downloader, DownloadRequest, DownloadStatus
from core.sources.errors import RemoteError

ROOT = Path(__file__).resolve().parents[2]
HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.download_locks import RunLocks
    held = RunLocks(Path(sys.argv[1])).acquire(int(sys.argv[2]))
    print("held" if held else "busy", flush=True)
    time.sleep(60)
    """
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlDownloadStore]:
    opened = SqlDownloadStore.open(tmp_path / "catalog.db")
    yield opened
    opened.close()


def _hold_in_another_process(locks: RunLocks, download_id: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(locks.directory), str(download_id)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def _crashed_row(store: SqlDownloadStore, target: Path, kept: bytes) -> int:
    """A row as a killed process leaves it: ``running``, a few stored bytes, more of them on disk."""
    download_id = store.add(DownloadRequest("http://127.0.0.1:9/a.bin", target, expected_size=1000))
    store.set_file_name(download_id, "a.bin")
    store.set_status(download_id, DownloadStatus.RUNNING)
    store.set_progress(download_id, 10, 1000)
    target.mkdir(parents=True, exist_ok=True)
    (target / "a.bin.part").write_bytes(kept)
    return download_id


def test_a_lock_is_held_until_its_process_dies(tmp_path: Path) -> None:
    locks = RunLocks(tmp_path / "locks")
    assert not locks.is_held(7)
    child = _hold_in_another_process(locks, 7)
    try:
        assert locks.is_held(7)
        assert locks.acquire(7) is None
        assert not locks.is_held(8)
    finally:
        child.kill()
        child.wait()
    held = locks.acquire(7)
    assert held is not None, "the operating system dropped the dead process's lock"
    assert locks.is_held(7), "held here now"
    held.release()
    assert not locks.is_held(7)


@pytest.mark.skipif(sys.platform == "win32", reason="kill semantics")
def test_only_rows_no_live_process_runs_are_recovered_as_interrupted(
    store: SqlDownloadStore, tmp_path: Path
) -> None:
    locks = RunLocks(tmp_path / "locks")
    engine = Downloader(requests.Session(), store, locks=locks)
    download_id = _crashed_row(store, tmp_path / "models", b"x" * 300)
    child = _hold_in_another_process(locks, download_id)
    try:
        assert engine.recover_interrupted() == [], "another process runs it right now"
        with pytest.raises(RemoteError, match="another Atelier window or command"):
            engine.run_one(download_id)
        assert engine.get(download_id).status is DownloadStatus.RUNNING, "not marked failed"
    finally:
        child.kill()
        child.wait()

    (recovered,) = engine.recover_interrupted()

    assert recovered.id == download_id
    assert recovered.status is DownloadStatus.INTERRUPTED
    assert recovered.bytes_done == 300, "the bytes on disk, not the last stored report"
    assert engine.recover_interrupted() == []
    engine.resume(download_id)
    assert engine.get(download_id).status is DownloadStatus.QUEUED
