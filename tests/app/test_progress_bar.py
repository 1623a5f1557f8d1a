"""The CLI's progress bar: a phased bar (render) shows each report's message as its label."""

from __future__ import annotations

import io

from app.progress_bar import ProgressBar
from core.jobs import Progress


def _frames(stream: io.StringIO) -> list[str]:
    return [frame.strip() for frame in stream.getvalue().split("\r") if frame.strip()]


def test_a_phased_bar_shows_loading_then_steps() -> None:
    stream = io.StringIO()
    reports = [
        Progress(0, None, "Loading checkpoint…"),
        Progress(1, 6, "Loading checkpoint… UNet"),
        Progress(6, 6, "Loading checkpoint…"),
        Progress(1, 20, "Step 1 of 20"),
    ]

    with ProgressBar("Rendering", phased=True, file=stream, disable=False) as bar:
        for report in reports:
            bar.update(report)

    frames = _frames(stream)
    assert "Loading checkpoint… [00:00]" in frames
    assert any(frame.startswith("Loading checkpoint… UNet:  17%") and "1/6" in frame for frame in frames)
    assert any(frame.startswith("Step 1 of 20:   5%") and "1/20" in frame for frame in frames)
    assert not any("step/s" in frame or "it/s" in frame for frame in frames)


def test_a_plain_bar_keeps_its_label_and_shows_the_message_after() -> None:
    stream = io.StringIO()

    with ProgressBar("Scanning", unit="file", file=stream, disable=False) as bar:
        bar.update(Progress(3, 10, "models/Lora"))

    assert any(frame.startswith("Scanning:  30%") and "models/Lora" in frame for frame in _frames(stream))


def test_a_message_that_repeats_the_label_replaces_it() -> None:
    """Not "Hashing: … Hashing 3 of 12 files", but "Hashing 3 of 12 files: …"."""
    stream = io.StringIO()

    with ProgressBar("Hashing", unit="B", unit_scale=True, file=stream, disable=False) as bar:
        bar.update(Progress(300, 1000, "Hashing 3 of 12 files"))

    last = _frames(stream)[-1]
    assert last.startswith("Hashing 3 of 12 files:  30%")
    assert last.count("Hashing") == 1


def test_a_download_bar_counts_in_mib_and_says_size_and_rate_once() -> None:
    """A download's report message restates the counts, rate and time left ("30.0 / 75.0 MiB, 1.0 MiB/s,
    45 s left"): shown after tqdm's decimal "31.5M/78.6M 1.05MB/s", each came twice in two units."""
    stream = io.StringIO()
    mib = 1024 * 1024

    with ProgressBar.of_bytes("Downloading #4", file=stream, disable=False) as bar:
        bar.update(Progress(30 * mib, 75 * mib, "30.0 / 75.0 MiB, 1.0 MiB/s, 45 s left"))

    last = _frames(stream)[-1]
    assert last.startswith("Downloading #4:  40%")
    assert "30.0M/75.0M" in last, "binary units, as Atelier gives sizes"
    assert "MiB" not in last
    assert "left" not in last


def test_the_bar_is_silent_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()

    with ProgressBar("Rendering", phased=True, file=stream) as bar:
        bar.update(Progress(1, 2, "Step 1 of 2"))

    assert stream.getvalue() == ""
