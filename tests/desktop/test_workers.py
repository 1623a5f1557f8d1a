"""JobRunner runs plain job functions off the GUI thread and reports through queued signals."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from pytestqt.qtbot import QtBot

from app.messages import user_message
from core.jobs import CancelToken, Progress, ProgressCallback
from core.net import make_session
from core.sources.civitai import CivitaiClient
from desktop.workers import JobRunner
from tests.fakes.civitai_api import CivitaiState, fake_civitai


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
    assert failed.args == [user_message(OSError("disk unplugged"))]  # the one mapping to a user's line
    assert "disk unplugged" in failed.args[0].lower()


def test_shutdown_cancels_running_jobs(qtbot: QtBot) -> None:
    runner = JobRunner()

    def job(progress: ProgressCallback, cancel: CancelToken) -> None:
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.002)

    handle = runner.start("Forever", job)
    assert runner.shutdown(5000)
    assert handle.done


def test_an_expected_network_failure_is_one_line_without_a_traceback(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening: a refused connection
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CivitaiClient(make_session(), f"http://127.0.0.1:{port}")
    runner = JobRunner()
    caplog.set_level(logging.DEBUG, logger="desktop.workers")
    handle = runner.start("Civitai search", lambda _p, _c: client.search_models("detail"))
    with qtbot.waitSignal(handle.signals.failed, timeout=5000) as failed:
        pass
    assert failed.args[0].startswith(f"Cannot reach 127.0.0.1:{port} — the connection was refused.")
    assert "\n" not in failed.args[0]
    records = [r for r in caplog.records if r.name == "desktop.workers"]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert records[0].exc_info is None


def test_an_unexpected_failure_keeps_its_traceback_in_the_log(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    runner = JobRunner()

    def job(progress: ProgressCallback, cancel: CancelToken) -> None:
        raise KeyError("bug")

    handle = runner.start("Broken", job)
    with qtbot.waitSignal(handle.signals.failed, timeout=5000) as failed:
        pass
    assert "KeyError" in failed.args[0]
    assert any(r.exc_info is not None for r in caplog.records if r.name == "desktop.workers")


def test_a_sites_request_to_wait_is_reported_as_progress(qtbot: QtBot) -> None:
    with fake_civitai() as server:
        state: CivitaiState = server.state
        state.fail_next(429, retry_after="0")
        client = CivitaiClient(make_session(), server.base_url)
        runner = JobRunner()
        handle = runner.start("Civitai model", lambda _p, _c: client.get_model(1102).name)
        seen: list[Progress] = []
        handle.signals.progressed.connect(seen.append)
        with qtbot.waitSignal(handle.signals.finished, timeout=5000):
            pass
    assert [p.message for p in seen] == [f"{server.base_url[7:]} asked us to wait a moment… (try 2 of 4)"]
