"""The status bar's job progress, including byte counts beyond the 32-bit range of QProgressBar."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.scanner import Scanner
from core.jobs import CancelToken, Progress
from core.taxonomy import LibraryLayout
from desktop.status_bar import FLASH_MS, AppStatusBar
from desktop.workers import JobHandle, JobSignals
from tests.factory.models import kohya_lora, write_case


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


def test_a_message_that_names_its_job_is_not_prefixed_twice(qtbot: QtBot) -> None:
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    signals = JobSignals()
    bar.track(JobHandle("Hashing", signals, CancelToken()))
    signals.progressed.emit(Progress(done=10, total=12, message="Hashing 10 of 12 files"))
    assert bar.job_label.text() == "Hashing 10 of 12 files"
    signals.progressed.emit(Progress(done=0, total=None, message="civitai.com asked us to wait 10 s…"))
    assert bar.job_label.text() == "Hashing: civitai.com asked us to wait 10 s…"


def test_hashing_reports_files_once(qtbot: QtBot, tmp_path: Path) -> None:
    """The real hashing job's progress, as the bar shows it."""
    library = Library.open(tmp_path / "library.db")
    root = tmp_path / "models"
    root.mkdir()
    write_case(kohya_lora("sd1", rank=1), root / "a")
    write_case(kohya_lora("sdxl", rank=1), root / "b")
    record = library.add_root(root, LibraryLayout.FLAT)
    Scanner(library).scan([record.id])
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    signals = JobSignals()
    bar.track(JobHandle("Hashing", signals, CancelToken()))
    seen: list[str] = []
    signals.progressed.connect(lambda _p: seen.append(bar.job_label.text()))
    reports: list[Progress] = []
    hash_pending(library, progress=reports.append, workers=1)
    for report in reports:  # delivered on the GUI thread, as JobRunner does
        signals.progressed.emit(report)
    assert "Hashing 2 of 2 files" in seen
    assert not any(text.startswith("Hashing: Hashing") for text in seen)


def test_a_flashed_message_is_shown_beside_the_count_and_fades(qtbot: QtBot) -> None:
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    bar.resize(900, 30)
    bar.show()
    bar.show_count(9, 9)
    bar.flash("Added LoRA add_detail to the stack")
    assert bar.count_label.isVisible()
    assert bar.count_label.text() == "9 models"
    assert bar.flash_label.isVisible()
    assert bar.flash_label.width() > 200  # room to be read, not squeezed behind the job label
    assert bar.flashed() == "Added LoRA add_detail to the stack"
    qtbot.waitUntil(lambda: bar.flashed() == "", timeout=FLASH_MS + 2000)
