"""Runs the download queue from the GUI: the engine's ``run_one`` on worker threads, results as signals.

``core.downloads.Downloader`` is thread-safe and knows nothing of Qt. This object starts one job per queued
download (up to the concurrency setting) on its own ``JobRunner``; the engine's progress reports reach the
GUI as queued signals. The queue itself stays in the engine's store, so pause/resume/cancel/retry are the
engine's own operations and a restart picks up where the last run stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.downloads import Downloader, DownloadRecord, DownloadRequest, DownloadStatus
from core.jobs import CancelToken, Progress, ProgressCallback
from desktop.workers import JobHandle, JobRunner

log = logging.getLogger(__name__)

ACTIVE = (DownloadStatus.QUEUED, DownloadStatus.RUNNING)


class DownloadManager(QObject):
    """Owns the running download jobs; ``changed`` after any status change, ``progressed`` per report."""

    changed = Signal()
    progressed = Signal(int, object)  # download id, core.downloads.DownloadProgress
    completed = Signal(object, str)  # DownloadRecord, final path
    failed = Signal(int, str)  # download id, the engine's message

    def __init__(
        self, downloader: Downloader, concurrency: Callable[[], int], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.downloader = downloader
        self._concurrency = concurrency
        self.jobs = JobRunner(self, max_threads=6)
        self._running: dict[int, JobHandle] = {}
        self._records: list[DownloadRecord] = []
        self._closing = False

    def start(self) -> None:
        """Reads the queue and continues downloads left queued by the last run (opens the catalog)."""
        self.refresh()
        self.pump()

    # -- queue --------------------------------------------------------------------------------------

    def records(self) -> list[DownloadRecord]:
        return list(self._records)

    def active_count(self) -> int:
        return sum(1 for record in self._records if record.status in ACTIVE)

    def refresh(self) -> None:
        self._records = self.downloader.list()
        self.changed.emit()

    def enqueue(self, request: DownloadRequest) -> int:
        download_id = self.downloader.enqueue(request)
        self.refresh()
        self.pump()
        return download_id

    def pause(self, download_id: int) -> None:
        self._act(self.downloader.pause, download_id)

    def resume(self, download_id: int) -> None:
        self._act(self.downloader.resume, download_id)

    def cancel(self, download_id: int) -> None:
        self._act(self.downloader.cancel, download_id)

    def retry(self, download_id: int) -> None:
        self._act(self.downloader.retry, download_id)

    def _act(self, action: Callable[[int], None], download_id: int) -> None:
        try:
            action(download_id)
        except KeyError:
            log.debug("download %s is gone", download_id)
        self.refresh()
        self.pump()

    # -- running ------------------------------------------------------------------------------------

    def pump(self) -> None:
        """Starts queued downloads while fewer than the concurrency setting are running."""
        if self._closing:
            return
        limit = max(1, self._concurrency())
        for record in self._records:
            if len(self._running) >= limit:
                break
            if record.status is DownloadStatus.QUEUED and record.id not in self._running:
                self._start(record.id)

    def _start(self, download_id: int) -> None:
        downloader = self.downloader

        def job(progress: ProgressCallback, cancel: CancelToken) -> Path:
            return downloader.run_one(download_id, progress, cancel)

        handle = self.jobs.start(f"Download {download_id}", job)
        self._running[download_id] = handle
        handle.signals.progressed.connect(lambda value: self._on_progress(download_id, value))
        handle.signals.finished.connect(lambda path: self._on_finished(download_id, path))
        handle.signals.failed.connect(lambda message: self.failed.emit(download_id, message))
        handle.signals.ended.connect(lambda: self._on_ended(download_id))

    def _on_progress(self, download_id: int, value: Progress) -> None:
        self.progressed.emit(download_id, value)

    def _on_finished(self, download_id: int, path: object) -> None:
        record = self.downloader.store.get(download_id)
        if record is not None:
            self.completed.emit(record, str(path))

    def _on_ended(self, download_id: int) -> None:
        self._running.pop(download_id, None)
        self.refresh()
        self.pump()

    def is_running(self, download_id: int) -> bool:
        return download_id in self._running

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stops running downloads (they become paused and resume next time) and waits for the workers."""
        self._closing = True
        return self.jobs.shutdown(timeout_ms)
