"""The status bar's job progress, including byte counts beyond the 32-bit range of QProgressBar."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from core.jobs import CancelToken, Progress
from desktop.status_bar import AppStatusBar
from desktop.workers import JobHandle, JobSignals


def test_progress_of_a_multi_gigabyte_job_is_shown_scaled(qtbot: QtBot) -> None:
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    signals = JobSignals()
    bar.track(JobHandle("Hashing", signals, CancelToken()))
    total = 40 * 1024**3  # 40 GiB of model files
    signals.progressed.emit(Progress(done=total // 2, total=total, message="20 of 40 GiB"))
    assert bar.progress.maximum() > 0
    assert abs(bar.progress.value() / bar.progress.maximum() - 0.5) < 1e-6
    assert "20 of 40 GiB" in bar.job_label.text()
    signals.progressed.emit(Progress(done=3, total=10))
    assert (bar.progress.value(), bar.progress.maximum()) == (3, 10)
