"""JobRunner runs plain job functions off the GUI thread and reports through queued signals."""

from __future__ import annotations

import threading
import time

from pytestqt.qtbot import QtBot

from core.jobs import CancelToken, Progress, ProgressCallback
from desktop.workers import JobRunner


def test_a_job_reports_progress_and_its_result_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = JobRunner()
    job_threads: list[int] = []
    slot_threads: list[int] = []
    reports: list[Progress] = []

    def job(progress: ProgressCallback, cancel: CancelToken) -> str:
        job_threads.append(threading.get_ident())
        for done in range(1, 4):
            progress(Progress(done, 3, f"file {done}"))
        return "3 done"

    handle = runner.start("Test", job)
    handle.signals.progressed.connect(
        lambda p: (reports.append(p), slot_threads.append(threading.get_ident()))
    )
    with qtbot.waitSignal(handle.signals.finished, timeout=5000) as finished:
        pass
    assert finished.args == ["3 done"]
    assert job_threads
    assert job_threads[0] != threading.get_ident()
    assert set(slot_threads) == {threading.get_ident()}
    assert reports[-1] == Progress(3, 3, "file 3")  # the last report always arrives


def test_progress_is_throttled(qtbot: QtBot) -> None:
    runner = JobRunner()
    reports: list[Progress] = []

    def job(progress: ProgressCallback, cancel: CancelToken) -> None:
        for done in range(1, 5001):
            progress(Progress(done, 5000))

    handle = runner.start("Burst", job)
    handle.signals.progressed.connect(reports.append)
    with qtbot.waitSignal(handle.signals.ended, timeout=5000):
        pass
    qtbot.wait(20)
    assert 1 <= len(reports) < 100
    assert reports[-1].done == 5000


def test_cancel_stops_a_job_that_polls_its_token(qtbot: QtBot) -> None:
    runner = JobRunner()
    started = threading.Event()

    def job(progress: ProgressCallback, cancel: CancelToken) -> str:
        started.set()
        for step in range(10_000):
            cancel.raise_if_cancelled()
            progress(Progress(step, None, "working"))
            time.sleep(0.005)
        return "never"

    handle = runner.start("Loop", job)
    qtbot.waitUntil(started.is_set, timeout=5000)  # jobs start on the next event-loop turn
    finished: list[object] = []
    handle.signals.finished.connect(finished.append)
    with qtbot.waitSignal(handle.signals.cancelled, timeout=5000):
        handle.cancel()
    assert handle.wait(5)
    assert finished == []
    assert runner.running == [] or all(h.done for h in runner.running)


def test_a_job_that_returns_after_cancel_counts_as_cancelled(qtbot: QtBot) -> None:
    runner = JobRunner()

    def job(progress: ProgressCallback, cancel: CancelToken) -> str:
        while not cancel.cancelled:
            time.sleep(0.002)
        return "partial summary"  # like the scanner, which returns a summary flagged cancelled

    handle = runner.start("Polite", job)
    with qtbot.waitSignal(handle.signals.cancelled, timeout=5000):
        handle.cancel()


def test_a_failing_job_reports_its_message(qtbot: QtBot) -> None:
    runner = JobRunner()

    def job(progress: ProgressCallback, cancel: CancelToken) -> None:
        raise OSError("disk unplugged")

    handle = runner.start("Broken", job)
    with qtbot.waitSignal(handle.signals.failed, timeout=5000) as failed:
        pass
    assert failed.args == ["disk unplugged"]


def test_shutdown_cancels_running_jobs(qtbot: QtBot) -> None:
    runner = JobRunner()

    def job(progress: ProgressCallback, cancel: CancelToken) -> None:
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.002)

    handle = runner.start("Forever", job)
    assert runner.shutdown(5000)
    assert handle.done
