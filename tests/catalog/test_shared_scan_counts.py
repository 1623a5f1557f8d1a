"""Two machines scanning the same new files at once: each scan's summary counts as new only the rows it
created (the catalog rows are right either way: one per file).

Runs on a real PostgreSQL server (two Library objects with their own engines, as two Ateliers) and on one
SQLite file opened twice; both machines reach the store at the same path.
"""

from __future__ import annotations

from pathlib import Path

from catalog.records import AssetQuery
from catalog.scanner import Scanner, ScanSummary
from core.jobs import Progress
from tests.catalog.shared_machines import A, B, Opener, write_store

COUNT = 30


def test_files_another_machine_cataloged_during_this_scan_are_not_counted_as_its_new_files(
    open_as: Opener, tmp_path: Path
) -> None:
    store = write_store(tmp_path / "nas" / "sd", COUNT)
    a, b = open_as(A), open_as(B)
    a.add_root(store, name="NAS")
    b.map_root("NAS", store)
    on_a: list[ScanSummary] = []

    def a_scans_everything_meanwhile(progress: Progress) -> None:
        # B has read the catalog (empty) and is reading the files: A scans the whole store meanwhile.
        if not on_a and progress.message.startswith("Reading"):
            on_a.append(Scanner(a, workers=1).scan())

    on_b = Scanner(b, workers=1, progress=a_scans_everything_meanwhile).scan()

    assert (on_a[0].new, on_a[0].unchanged) == (COUNT, 0)
    assert (on_b.seen, on_b.new, on_b.changed, on_b.unchanged) == (COUNT, 0, 0, COUNT)
    assert len(a.search_rows(AssetQuery())) == COUNT
    assert Scanner(b, workers=1).scan().unchanged == COUNT
