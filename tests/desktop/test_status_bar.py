"""The status bar's job progress, including byte counts beyond the 32-bit range of QProgressBar."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.scanner import Scanner
from core.jobs import CancelToken, Progress
from core.taxonomy import LibraryLayout
from desktop import status_bar
from desktop.status_bar import AppStatusBar
from desktop.workers import JobHandle, JobSignals
from tests.desktop.ink import inked
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
    signals.progressed.emit(Progress(done=10, total=12, message="Hashing file 10 of 12"))
    assert bar.job_label.text() == "Hashing file 10 of 12 (83%)"
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
    assert any(text.startswith("Hashing file 2 of 2 · 100% of ") for text in seen), seen
    assert not any(text.startswith("Hashing: Hashing") for text in seen)


def test_the_text_says_how_far_the_bar_is_when_the_files_are_of_unequal_size(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The real hashing job: its text counts files, its bar bytes. With a small file and a large one, the
    first file done is a sliver of the bar; the text's percentage says so instead of "1 of 2" reading as
    half done (the tester saw "Hashing 12 of 12 files" beside a bar at 45%)."""
    library = Library.open(tmp_path / "library.db")
    root = tmp_path / "models"
    root.mkdir()
    write_case(kohya_lora("sd1", rank=1), root / "a_small")
    write_case(kohya_lora("sdxl", rank=32), root / "b_large")
    record = library.add_root(root, LibraryLayout.FLAT)
    Scanner(library).scan([record.id])
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    signals = JobSignals()
    bar.track(JobHandle("Hashing", signals, CancelToken()))
    shown: list[tuple[str, int]] = []

    def seen(_progress: Progress) -> None:
        at = bar.progress.value() * 100 // bar.progress.maximum()
        shown.append((bar.job_label.text(), at))

    signals.progressed.connect(seen)
    reports: list[Progress] = []
    hash_pending(library, progress=reports.append, workers=1)
    for report in reports:  # delivered on the GUI thread, as JobRunner does
        signals.progressed.emit(report)
    assert shown, "the job reported progress"
    for text, at in shown:
        assert f"{at}%" in text, (text, at)  # the bar's own percentage
        if text.startswith("Hashing file"):  # "file 1 of 2 · 3% of 216.8 MiB": each count named
            assert f"· {at}% of " in text, (text, at)
    first_done = shown[0]
    assert first_done[0].startswith("Hashing file 1 of 2")
    assert first_done[1] < 20  # the small file: a sliver of the bytes, and the text says so


def test_a_flashed_message_is_shown_beside_the_count_and_fades(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_bar, "FLASH_MS", 300)  # fades sooner than the 4 s a user gets; the same timer
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
    qtbot.waitUntil(lambda: bar.flashed() == "", timeout=status_bar.FLASH_MS + 2000)


SUMMARY = (
    "Scanned 1 folder: 11 files (0 new, 0 changed, 11 unchanged), 2.33 GiB at 558 MiB/s · "
    "2 found on Civitai, 5 not on Civitai"
)


def _ended_scan(bar: AppStatusBar) -> None:
    signals = JobSignals()
    bar.track(JobHandle("Scan", signals, CancelToken()))
    signals.progressed.emit(Progress(done=3, total=8, message="Hashing 3 of 8 files"))
    signals.finished.emit(SUMMARY)


def test_job_text_and_flashes_share_one_place_and_the_count_stays(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_bar, "FLASH_MS", 300)  # fades sooner; the same timer
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    bar.resize(1600, 30)
    bar.show()
    qtbot.waitExposed(bar)
    bar.show_count(11, 11)
    signals = JobSignals()
    bar.track(JobHandle("Scan", signals, CancelToken()))
    signals.progressed.emit(Progress(done=3, total=8, message="Hashing 3 of 8 files"))
    qtbot.waitUntil(bar.job_label.isVisible)
    place = bar.job_label.geometry().left()
    assert place < 200  # right after the count, not centred or pushed to the right edge
    signals.finished.emit(SUMMARY)
    assert bar.job_label.text() == f"Scan: {SUMMARY}"
    assert bar.job_label.geometry().left() == place

    bar.flash("Parameters pasted")
    assert bar.flash_label.isVisible()
    assert not bar.job_label.isVisible()
    assert bar.flash_label.geometry().left() == place
    assert bar.count_label.isVisible()
    assert bar.count_label.text() == "11 models"
    qtbot.waitUntil(bar.job_label.isVisible, timeout=2000)
    assert not bar.flash_label.isVisible()
    assert bar.job_label.text() == f"Scan: {SUMMARY}"  # the outcome comes back when the notice fades


def test_a_long_summary_is_cut_after_a_whole_word_with_the_full_text_in_the_tooltip(qtbot: QtBot) -> None:
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    bar.resize(520, 30)
    bar.show()
    qtbot.waitExposed(bar)
    bar.show_count(11, 11)
    _ended_scan(bar)
    full = f"Scan: {SUMMARY}"
    shown = bar.job_label.elided_text()
    assert shown.endswith("…")
    kept = shown.removesuffix("…")
    assert full.startswith(kept)
    assert full[len(kept)] in " ,;·:(", f"cut inside a word: {shown!r}"
    assert bar.job_label.toolTip() == full
    assert bar.count_label.isVisible()
    assert bar.count_label.width() >= bar.count_label.fontMetrics().horizontalAdvance("11 models")


def test_an_underscore_stays_visible_beside_cjk(qtbot: QtBot) -> None:
    """A CJK character comes from a fallback font with a taller line: the line must still fit, or it is
    centred lower and "pixel_art" is painted as "pixel art" (the underscore below the label's edge)."""
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    bar = AppStatusBar()
    window.setStatusBar(bar)
    window.resize(900, 200)
    window.show()
    qtbot.waitExposed(window)
    label = bar.job_label
    metrics = label.fontMetrics()
    before = "Undo Rename “pixel"
    left = metrics.horizontalAdvance(before)
    right = metrics.horizontalAdvance(before + "_")

    for text in (
        f"{before}_art.safetensors”",
        f"{before}_art.safetensors” to “Pixel Kunst 像素.safetensors”",
    ):
        label.setText(text)
        qtbot.waitUntil(lambda: label.height() >= label.sizeHint().height(), timeout=2000)
        assert inked(label.grab().toImage(), range(left + 1, right - 1)), (
            f"the underscore of {text!r} is not painted"
        )


def test_a_line_height_kept_by_the_last_session_is_used_then_measured_again(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message place is as tall as a line of other scripts (their fallback fonts are loaded to
    measure it). A returning user's first frame uses the height the last session measured for the font
    (Settings); once drawn it is measured again, and a stale one (fonts installed since) corrected."""
    monkeypatch.setattr(status_bar, "_SAMPLE_HEIGHTS", {})
    measuring = AppStatusBar()
    qtbot.addWidget(measuring)
    key, height = measuring.measure_line_height()
    assert height >= measuring.job_label.fontMetrics().height()

    status_bar.remember_line_height(key, height + 20)  # as measured with other fonts installed
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    assert bar.job_label.sizeHint().height() == height + 20 + 2, "the kept height, nothing measured"
    assert bar.measure_line_height() == (key, height)
    assert bar.job_label.sizeHint().height() == height + 2
    assert bar.flash_label.sizeHint().height() == height + 2
