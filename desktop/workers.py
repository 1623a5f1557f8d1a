"""Runs plain job functions on a QThreadPool and reports back through queued Qt signals.

Jobs (scan, hash) are written against ``core.jobs``: ``fn(progress, cancel_token) -> result`` and know
nothing of Qt. This module is the only adapter: the job runs on a pool thread, and everything it reports
reaches the GUI thread as a signal emitted from that pool thread, which Qt delivers queued to receivers
living on the GUI thread. Widgets are therefore only ever touched on the GUI thread.

A job's HTTP waits (a 429's Retry-After, a 5xx backoff) arrive as progress too, so the pane that started it
can say "civitai.com asked us to wait 10 s…" instead of a silent "Loading…". A job's failure reaches the GUI
as one line (``app.messages.user_message``); expected failures are logged as one line, not a traceback.

Progress is throttled: a scan reports once per file, and forwarding thousands of reports per second would
flood the event loop; the GUI needs a few updates per second plus the last one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from core.errors import AtelierError

if TYPE_CHECKING:
    # core.jobs (its Progress a dataclass, whose methods are compiled on import) is imported where the first
    # job starts, after the window's first frame.
    from core.jobs import CancelToken, Progress, ProgressCallback
    from core.waits import WaitNotice

log = logging.getLogger(__name__)

JobFunction = Callable[["ProgressCallback", "CancelToken"], Any]
PROGRESS_INTERVAL_S = 0.05


def is_expected(exc: BaseException) -> bool:
    """A failure the user can act on (a site's error, offline, a file-system error), not a bug."""
    return isinstance(exc, AtelierError | OSError)


class JobSignals(QObject):
    """The signals of one job; lives on the GUI thread so connected slots run there."""

    progressed = Signal(object)  # core.jobs.Progress
    finished = Signal(object)  # the job's return value
    failed = Signal(str)  # a human message
    cancelled = Signal()
    ended = Signal()  # after any of finished / failed / cancelled, for bookkeeping


class JobHandle:
    """What the GUI holds for a running job: its signals, its cancel token and its title."""

    def __init__(self, title: str, signals: JobSignals, token: CancelToken) -> None:
        self.title = title
        self.signals = signals
        self.token = token
        # Why the job failed (set on its thread before ``failed`` is emitted), None while it has not: the
        # status bar knows a line left by a catalog that did not answer, to replace once it answers.
        self.error: BaseException | None = None
        self._done = threading.Event()

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float) -> bool:
        """Blocks until the job function returned; only for shutdown and tests."""
        return self._done.wait(timeout_s)


class _JobRunnable(QRunnable):
    """Calls the job function on a pool thread and turns its outcome into exactly one terminal signal."""

    def __init__(self, fn: JobFunction, handle: JobHandle) -> None:
        super().__init__()
        self._fn = fn
        self._handle = handle
        self._last_report = 0.0

    def _report(self, progress: Progress) -> None:
        now = time.monotonic()
        last = progress.total is not None and progress.done >= progress.total
        # A phase's first report ("Loading LoRA x…", then "Step 0 of 20" once sampling starts) always
        # goes through: dropped, the previous phase's words would stay up for as long as this one lasts.
        first = progress.done == 0
        if last or first or now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self._handle.signals.progressed.emit(progress)

    def _report_wait(self, notice: WaitNotice) -> None:
        """A session waiting before a retry ("civitai.com asked us to wait 10 s…") is progress to show."""
        from core.jobs import Progress

        self._handle.signals.progressed.emit(Progress(0, None, notice.text()))

    def run(self) -> None:
        # Imported by the first job, on its thread: not before the window's first frame.
        from app.messages import user_message
        from core.jobs import CancelledError
        from core.waits import waits_reported_to

        signals = self._handle.signals
        token = self._handle.token
        try:
            token.raise_if_cancelled()
            with waits_reported_to(self._report_wait):
                result = self._fn(self._report, token)
        except CancelledError:
            signals.cancelled.emit()
        except Exception as exc:
            # A job is a boundary: any failure becomes one line where the user looks instead of a crash
            # on a pool thread that nobody would see. An expected failure (offline, a 404, a full disk)
            # is not a bug: one log line; only the unexpected keep their traceback, in the log.
            if is_expected(exc):
                log.info("%s: %s", self._handle.title, user_message(exc))
            else:
                log.exception("job %r failed", self._handle.title)
            self._handle.error = exc
            signals.failed.emit(user_message(exc))
        else:
            if token.cancelled:
                signals.cancelled.emit()
            else:
                signals.finished.emit(result)
        finally:
            self._handle._done.set()
            signals.ended.emit()


class JobRunner(QObject):
    """Starts jobs on its own thread pool and keeps their handles alive until they end.

    Owning the pool (instead of ``QThreadPool.globalInstance()``) keeps thumbnail loading, which uses
    the global pool, from queueing behind a long scan.

    A job is handed to the pool on the next event-loop turn, not inside ``start``: a queued signal only
    reaches the slots connected when it was emitted, so the caller must get to connect to the handle's
    signals before a fast job can emit them.
    """

    started = Signal(object)  # JobHandle

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._running: list[JobHandle] = []
        self._pending: list[tuple[JobFunction, JobHandle]] = []

    def start(self, title: str, fn: JobFunction) -> JobHandle:
        from core.jobs import CancelToken

        # The signals object is created here, on the GUI thread, so queued delivery targets it.
        handle = JobHandle(title, JobSignals(self), CancelToken())
        self._running.append(handle)
        handle.signals.ended.connect(self._on_ended)
        self._pending.append((fn, handle))
        QTimer.singleShot(0, self._launch_pending)
        self.started.emit(handle)
        return handle

    def _launch_pending(self) -> None:
        pending, self._pending = self._pending, []
        for fn, handle in pending:
            runnable = _JobRunnable(fn, handle)
            runnable.setAutoDelete(True)
            self._pool.start(runnable)

    def _on_ended(self) -> None:
        # The signals object is deliberately not deleted here: slots of ``ended`` connected after this
        # one (the caller's) would be dropped with it. It is a child of the runner and goes with it.
        signals = self.sender()
        self._running = [handle for handle in self._running if handle.signals is not signals]

    @property
    def running(self) -> list[JobHandle]:
        return list(self._running)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancels every job and waits for the pool; called when the window closes."""
        for _, handle in self._pending:  # never started: nothing to wait for
            handle.cancel()
            handle._done.set()
        self._pending.clear()
        for handle in self._running:
            handle.cancel()
        return self._pool.waitForDone(timeout_ms)
