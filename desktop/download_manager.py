"""The download queue for the window: the app's ``DownloadService`` on worker threads, results as signals.

Everything a download does (looking a target up, the request, the per-site token, the engine, bringing
the verified file into the library) is ``app.download_service.DownloadService``'s, shared with the CLI.
This adapter only starts ``service.run`` for queued downloads (up to the concurrency setting) on its own
``JobRunner`` and turns the progress reports into queued signals. The queue itself stays in the catalog,
so pause/resume/cancel/retry are the service's operations, and a restart picks up where the last run
stopped: downloads cut off by a crash are marked interrupted with their bytes, then continued. A
download the user stopped (Pause here, Ctrl+C in a command) stays paused until Resume.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from core.downloads import DownloadRecord, DownloadRequest, DownloadStatus
from core.errors import AtelierError
from core.jobs import CancelToken, Progress, ProgressCallback
from desktop.workers import JobHandle, JobRunner

if TYPE_CHECKING:
    from app.download_service import DownloadService, FinishedDownload, Queued

log = logging.getLogger(__name__)

ACTIVE = (DownloadStatus.QUEUED, DownloadStatus.RUNNING, DownloadStatus.INTERRUPTED)
# Started by the pump: queued ones, and the ones a crash cut off (they continue by themselves).
STARTABLE = (DownloadStatus.QUEUED, DownloadStatus.INTERRUPTED)
# Over for good until the user acts: what "Remove from list" and "Clear finished" may forget.
FINISHED = (DownloadStatus.COMPLETED, DownloadStatus.FAILED, DownloadStatus.CANCELLED)


# The window's way past a refusal of a file the user deleted (the CLI's is --again): forget the deletion.
DELETED_HINT = "To download it again, forget it in Library › Deleted files…"


def refusal_line(refused: Exception) -> str:
    """The one line that answers a Download the library refuses; a deleted version also says what to do,
    or pressing Download again only repeats "You deleted this version on …"."""
    from app.download_service import DeletedBeforeError

    if isinstance(refused, DeletedBeforeError):
        return f"{refused}. {DELETED_HINT}"
    return str(refused)


@dataclass(frozen=True)
class _Failure:
    """An expected failure, returned rather than raised so the job log gets no traceback for it."""

    message: str
    owned: bool = False  # not a failure: the library already has the file


class DownloadManager(QObject):
    """Owns the running download jobs; ``changed`` after any status change, ``progressed`` per report.

    ``completed`` comes after the file is in the library (the service ingested it), so a receiver only
    has to refresh its rows. ``target_queued`` / ``target_failed`` answer :meth:`enqueue_target`.
    """

    changed = Signal()
    progressed = Signal(int, object)  # download id, core.downloads.DownloadProgress
    completed = Signal(object, str)  # DownloadRecord, final path
    failed = Signal(int, str)  # download id, the message shown on its row
    target_queued = Signal(int, str)  # download id, a line saying where it goes
    target_failed = Signal(str)  # one line: why the pasted target was not queued
    target_owned = Signal(str)  # one line: the pasted file is already in the library (not queued)

    def __init__(
        self, service: DownloadService, concurrency: Callable[[], int], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._concurrency = concurrency
        self.jobs = JobRunner(self, max_threads=8)
        self._running: dict[int, JobHandle] = {}
        self._resume_when_ended: set[int] = set()  # see resume
        self._records: list[DownloadRecord] = []
        self._closing = False

    def start(self) -> None:
        """Reads the queue, marks downloads cut off by a crash as interrupted (with the bytes on disk)
        and continues them with the ones left queued by the last run; paused ones stay paused."""
        self.service.recover_interrupted()
        self.refresh()
        self.pump()
        self._add_files_kept_out()

    def _add_files_kept_out(self) -> None:
        """Completed downloads whose file never entered the library (the app was stopped between the
        two) are added now, in a job: nothing is fetched again, the file is hashed and linked to its page."""
        service = self.service

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> int:
            kept_out = [record for record in service.list() if service.needs_library_entry(record)]
            for record in kept_out:
                try:
                    service.run(record.id)
                except AtelierError:  # the file vanished or cannot be read: the row says completed
                    continue
            return len(kept_out)

        handle = self.jobs.start("Add downloaded files to the library", job)
        handle.signals.finished.connect(self._on_files_added)

    def _on_files_added(self, added: int) -> None:
        if added and not self._closing:  # a window closing meanwhile has closed the queue's catalog
            self.refresh()

    # -- queue --------------------------------------------------------------------------------------

    def records(self) -> list[DownloadRecord]:
        return list(self._records)

    def active_count(self) -> int:
        return sum(1 for record in self._records if record.status in ACTIVE)

    def refresh(self) -> None:
        self._records = self.service.list()
        self.changed.emit()

    def enqueue(self, request: DownloadRequest) -> int:
        """Queue a request built by a site tab (it already knows the file); starts it when a slot is free."""
        download_id = self.service.enqueue_request(request)
        self.refresh()
        self.pump()
        return download_id

    def enqueue_from_site(
        self, build: Callable[[], DownloadRequest], name: str, tell: Callable[[str], None]
    ) -> int | None:
        """Queues the request a site tab builds for the file it shows (``build`` picks the library folder,
        which may fail); returns the download id, or None after telling the user why nothing was queued:
        no folder to put it in, or the file already in the library (added since the page was shown)."""
        from app.download_paths import NoDownloadRootError
        from app.download_service import AlreadyInLibraryError  # the service loads on first use

        try:
            request = build()
            download_id = self.enqueue(request)
        except (NoDownloadRootError, AlreadyInLibraryError) as refused:
            tell(refusal_line(refused))
            return None
        tell(f"Downloading {name} to {request.target_dir}")
        return download_id

    def enqueue_target(self, text: str, to: Path | None = None) -> bool:
        """Queue a pasted link or ``civitai:``/``hf:`` target into ``to`` (None: the default folder).

        The text is checked at once (False and ``target_failed`` when it is not a target); looking the
        file up on its site runs on a worker thread, answered by ``target_queued`` or ``target_failed``.
        """
        from app.download_service import AlreadyInLibraryError
        from app.download_targets import TargetError

        try:
            target = self.service.parse_target(text)
        except TargetError as exc:
            self.target_failed.emit(str(exc))
            return False
        service = self.service

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> Queued | _Failure:
            try:
                return service.enqueue(target, to=to)
            except AlreadyInLibraryError as exc:
                return _Failure(refusal_line(exc), owned=True)
            except AtelierError as exc:
                return _Failure(str(exc))

        handle = self.jobs.start(f"Look up {text}", job)
        handle.signals.finished.connect(self._on_target_looked_up)
        handle.signals.failed.connect(self.target_failed.emit)
        return True

    def _on_target_looked_up(self, result: Queued | _Failure) -> None:
        if isinstance(result, _Failure):
            (self.target_owned if result.owned else self.target_failed).emit(result.message)
            return
        self.refresh()
        record = next((r for r in self._records if r.id == result.download_id), None)
        where = record.target_dir if record is not None else Path(result.root.path)
        added = " (new library folder)" if result.created_root else ""
        self.target_queued.emit(result.download_id, f"Downloading into {where}{added}")
        self.pump()

    def pause(self, download_id: int) -> None:
        self._resume_when_ended.discard(download_id)
        self._act(self.service.pause, download_id)

    def resume(self, download_id: int) -> None:
        if download_id in self._running:
            # Paused a moment ago, its job not ended yet: the engine ignores a resume of a download it
            # still runs, so a quick Pause then Resume did nothing. It resumes once the job has ended.
            self._resume_when_ended.add(download_id)
        self._act(self.service.resume, download_id)

    def cancel(self, download_id: int) -> None:
        self._act(self.service.cancel, download_id)

    def retry(self, download_id: int) -> None:
        self._act(self.service.retry, download_id)

    def forget(self, download_ids: Sequence[int]) -> None:
        """Removes finished downloads from the queue (their files stay where they are), in one write; a
        running or paused one is kept: it has a .part that only Cancel deletes. The store checks each
        row's status as it deletes, so a row a command started again since the list was read stays."""
        kept = [download_id for download_id in download_ids if download_id not in self._running]
        self.service.store.delete_many(kept, statuses=FINISHED)
        self.refresh()

    def _act(self, action: Callable[[int], None], download_id: int) -> None:
        try:
            action(download_id)
        except AtelierError:
            log.debug("download %s is gone", download_id)
        self.refresh()
        self.pump()

    # -- running ------------------------------------------------------------------------------------

    def pump(self) -> None:
        """Starts waiting downloads while fewer than the concurrency setting are running."""
        if self._closing:
            return
        limit = max(1, self._concurrency())
        for record in self._records:
            if len(self._running) >= limit:
                break
            if record.status in STARTABLE and record.id not in self._running:
                self._start(record.id)

    def _start(self, download_id: int) -> None:
        service = self.service

        def job(progress: ProgressCallback, cancel: CancelToken) -> FinishedDownload | _Failure:
            try:
                return service.run(download_id, progress, cancel)
            except AtelierError as exc:  # the store already says failed, with this message
                return _Failure(str(exc))

        handle = self.jobs.start(f"Download {download_id}", job)
        self._running[download_id] = handle
        handle.signals.progressed.connect(lambda value: self._on_progress(download_id, value))
        handle.signals.finished.connect(lambda result: self._on_finished(download_id, result))
        handle.signals.failed.connect(lambda message: self.failed.emit(download_id, message))
        handle.signals.ended.connect(lambda: self._on_ended(download_id))

    def _on_progress(self, download_id: int, value: Progress) -> None:
        self.progressed.emit(download_id, value)

    def _on_finished(self, download_id: int, result: FinishedDownload | _Failure) -> None:
        if isinstance(result, _Failure):
            self.failed.emit(download_id, result.message)
            return
        if self._closing:
            return
        self.refresh()  # the row says completed before anyone hears of it
        record = next((r for r in self._records if r.id == download_id), None)
        if record is not None:
            self.completed.emit(record, str(result.path))

    def _on_ended(self, download_id: int) -> None:
        self._running.pop(download_id, None)
        if self._closing:
            return  # the queue may be closed already; the next start reads it again
        if download_id in self._resume_when_ended:
            self._resume_when_ended.discard(download_id)
            record = next((r for r in self.service.list() if r.id == download_id), None)
            if record is not None and record.status is DownloadStatus.PAUSED:  # not paused again since
                self._act(self.service.resume, download_id)
                return
        self.refresh()
        self.pump()

    def is_running(self, download_id: int) -> bool:
        return download_id in self._running

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stops running downloads and waits for the workers; they continue on the next start."""
        self._closing = True
        # Only the ones still downloading: a download the user paused a moment ago (its job not yet
        # ended) stays paused, it does not become "interrupted" and continue on the next start.
        paused = {r.id for r in self.service.list() if r.status is DownloadStatus.PAUSED}
        stopped = [download_id for download_id in self._running if download_id not in paused]
        done = self.jobs.shutdown(timeout_ms)
        for download_id in stopped:
            try:
                self.service.mark_interrupted(download_id)
            except AtelierError:
                log.debug("download %s is gone", download_id)
        return done
