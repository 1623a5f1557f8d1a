from __future__ import annotations

import threading
import time
from pathlib import Path

from catalog.watcher import LibraryWatcher


def _collect(tmp_path: Path, quiet_s: float = 0.3) -> tuple[LibraryWatcher, list[set[int]], threading.Event]:
    calls: list[set[int]] = []
    fired = threading.Event()

    def on_change(roots: set[int]) -> None:
        calls.append(roots)
        fired.set()

    watcher = LibraryWatcher(on_change, quiet_s=quiet_s)
    watcher.start({7: tmp_path})
    return watcher, calls, fired


def test_a_new_model_file_is_reported_once_after_the_writes_settle(tmp_path: Path) -> None:
    watcher, calls, fired = _collect(tmp_path)
    try:
        target = tmp_path / "sub"
        target.mkdir()
        with (target / "new.safetensors").open("wb") as fh:
            for _ in range(5):  # a download writing in pieces
                fh.write(b"\0" * 1024)
                fh.flush()
                time.sleep(0.05)
        assert fired.wait(5), "no change reported"
        time.sleep(0.5)
        assert calls == [{7}]
    finally:
        watcher.stop()


def test_partial_downloads_and_other_files_do_not_trigger(tmp_path: Path) -> None:
    watcher, calls, fired = _collect(tmp_path)
    try:
        (tmp_path / "big.safetensors.part").write_bytes(b"\0" * 100)
        (tmp_path / "notes.txt").write_text("hello")
        assert not fired.wait(1.0)
        assert calls == []
    finally:
        watcher.stop()


def test_stop_cancels_a_pending_notification(tmp_path: Path) -> None:
    watcher, calls, fired = _collect(tmp_path, quiet_s=0.5)
    (tmp_path / "x.ckpt").write_bytes(b"\0")
    time.sleep(0.2)
    watcher.stop()
    assert not fired.wait(1.0)
    assert calls == []


def test_a_preview_dropped_next_to_a_model_is_reported(tmp_path: Path) -> None:
    watcher, calls, fired = _collect(tmp_path)
    try:
        (tmp_path / "style.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        assert fired.wait(5)
        assert calls == [{7}]
    finally:
        watcher.stop()
