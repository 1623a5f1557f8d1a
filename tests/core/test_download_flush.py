"""core.download_flush: a finished download reaches the disk behind the caller, and an exit waits for it.

"On disk" is the kernel's word here (``tests.page_cache``: no page of the file dirty or under
writeback), not the flusher's own bookkeeping; where the kernel cannot say (tmpfs, an old kernel, not
Linux) these tests skip. The exit join through ``main.py download`` is in tests/app/test_download_cli.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.download_store import SqlDownloadStore
from core.download_flush import FinalFlush
from core.downloads import Downloader, DownloadRequest, DownloadStatus
from core.net import make_session
from tests.fakes.file_server import serve_files
from tests.page_cache import observes_writeback, page_counts

ROOT = Path(__file__).resolve().parents[2]
DATA = os.urandom(3 * 1024 * 1024 + 4321)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """``tmp_path`` where the kernel shows which pages still wait for the disk, else the test skips."""
    if not observes_writeback(tmp_path):
        pytest.skip("this filesystem or kernel does not show which pages wait for the disk (cachestat)")
    return tmp_path


def _dirty_file(path: Path, size: int) -> Path:
    """A file whose bytes are only in memory yet (written, never flushed)."""
    path.write_bytes(os.urandom(size))
    assert page_counts(path).dirty > 0
    return path


def test_a_finished_download_is_on_disk_with_its_name_once_the_final_flush_is_done(
    disk: Path, store: SqlDownloadStore
) -> None:
    with serve_files() as (http, state):
        state.add("/model.safetensors", DATA)
        engine = Downloader(make_session(retries=0, timeout=(5.0, 5.0)), store)
        download_id = engine.enqueue(
            DownloadRequest(f"{http.base_url}/model.safetensors", disk / "lib", expected_sha256=SHA)
        )
        path = engine.run_one(download_id)  # returns once verified and renamed, before the disk is done

    assert engine.final_flush.wait(timeout=30)
    assert engine.final_flush.completed == [path]
    counts = page_counts(path)
    assert counts.on_disk, f"pages still waiting for the disk: {counts}"
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.safetensors"], "no .part left"
    assert engine.get(download_id).status is DownloadStatus.COMPLETED


def test_the_exit_join_says_one_line_while_the_disk_is_still_writing(disk: Path) -> None:
    flush = FinalFlush()
    files = [_dirty_file(disk / f"model{n}.safetensors", 8 * 1024 * 1024) for n in range(2)]
    for path in files:
        flush.hand_over(flush.open(path), path)
    said: list[str] = []

    failures = flush.wait_all(said.append, say_after_s=0.0)  # the disk needs longer than no time at all

    assert failures == []
    assert said == ["waiting for the disk to store 2 downloaded files (16.0 MiB)..."]
    assert flush.completed == files
    assert all(page_counts(path).on_disk for path in files)
    assert flush.wait_all(said.append, say_after_s=0.0) == [], "nothing left to write..."
    assert len(said) == 1, "...so nothing said"


def test_a_process_that_ends_without_the_join_still_writes_its_files_first(disk: Path) -> None:
    """The flushing thread is not a daemon: a process that forgets the exit join (or ends by an error
    the join never saw) still ends only after its files are on disk."""
    path = _dirty_file(disk / "model.safetensors", 16 * 1024 * 1024)
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path; "
        "from core.download_flush import FinalFlush; "
        f"flush = FinalFlush(); path = Path({str(path)!r}); flush.hand_over(flush.open(path), path)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    counts = page_counts(path)
    assert counts.on_disk, f"the process ended before its file was on disk: {counts}"


@pytest.mark.skipif(sys.platform != "linux", reason="fdatasync refuses a pipe on Linux")
def test_a_flush_the_kernel_refuses_is_reported_by_the_exit_join(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # fdatasync fails on it (EINVAL), as it would on a write-back error
    flush = FinalFlush()
    try:
        flush.hand_over(write_end, tmp_path / "model.safetensors")  # the flusher closes write_end
        failures = flush.wait_all(lambda line: None)
    finally:
        os.close(read_end)

    (failure,) = failures
    assert failure.startswith(f"the disk reported an error while writing {tmp_path / 'model.safetensors'} (")
    assert failure.endswith("); check the disk and download the file again")
    assert flush.completed == []
