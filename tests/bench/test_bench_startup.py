"""``bench/bench_startup.py``'s reference windows draw a first frame in a fresh interpreter and report it,
so ``--replica`` (the first frame's widgets in stock PySide6, ``bench.startup_replica``) keeps working as
the bare window does; the replica's resources (style sheet, icons) are Atelier's own."""

from __future__ import annotations

import pytest

from bench import bench_startup
from bench.startup_replica import RESOURCES


@pytest.mark.parametrize(
    "script",
    [bench_startup.BARE, bench_startup.REPLICA, bench_startup.BARE_QT_NAMESPACE],
    ids=["bare", "replica", "bare-with-qt-namespace"],
)
def test_a_reference_window_reports_its_first_frame(script: str) -> None:
    shown, loaded, cpu = bench_startup._time_process(script)
    assert 0 < shown == loaded  # one frame: the window's first
    assert cpu > 0


def test_the_replica_styles_itself_with_atelier_s_sheet_and_icons() -> None:
    assert (RESOURCES / "style.qss").is_file()
    for name in ("app", "search", "heart", "update", "chevron-up", "grid", "table", "board"):
        assert (RESOURCES / "icons" / f"{name}.svg").is_file(), name
    assert "url(icons:" in (RESOURCES / "style.qss").read_text(encoding="utf-8")


def test_only_the_centred_bare_window_names_the_qt_namespace() -> None:
    """The two bare windows differ in the one line that reaches PySide's ``Qt`` namespace."""
    assert "Qt.AlignmentFlag" in bench_startup.BARE_QT_NAMESPACE
    assert "import Qt" not in bench_startup.BARE
    assert "Qt." not in bench_startup.BARE.split("app = ")[1]
