"""ChainSummary.is_news: whether a run of the after-scan chain is worth a status bar line nobody asked
for (the watcher's rescan) and a fresh look at what the library has; built from the real summaries the
scanner, hashing, lookup and mirrors return."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.after_scan import ChainSummary, HashCounts, MirrorCounts, ScanCounts
from app.organize.mirror import MirrorReport, MirrorsSummary
from catalog.enrich import EnrichSummary
from catalog.hashing_job import HashSummary
from catalog.scanner import ScanSummary
from core.organize.mirror_plan import MirrorUI


def test_the_real_summaries_have_the_counts_the_chain_reads() -> None:
    """A renamed count would make a summary miss its protocol, and its news go unsaid."""
    assert isinstance(ScanSummary(), ScanCounts)
    assert isinstance(HashSummary(), HashCounts)
    assert isinstance(MirrorsSummary(), MirrorCounts)


def test_a_run_that_found_everything_in_place_is_no_news() -> None:
    """Damaged files the scan saw again are the library's state, not news: a library with one unsafe
    .ckpt made every watcher rescan replace the status bar's line (and refresh the Civitai tab)."""
    quiet = ChainSummary(
        scanned=ScanSummary(roots=1, seen=7, unchanged=7, corrupt=2, unsafe=1, unreadable=1),
        hashed=HashSummary(skipped=0),
        looked_up=EnrichSummary(),
        mirrored=MirrorsSummary(),
    )
    assert not quiet.is_news()
    assert not ChainSummary(scanned="0 new", hashed="Hashed 0 files").is_news(), "text has no counts"


@pytest.mark.parametrize(
    "summary",
    [
        ChainSummary(scanned=ScanSummary(new=1)),
        ChainSummary(scanned=ScanSummary(missing=2)),
        ChainSummary(scanned=ScanSummary(changed=1, corrupt=1)),
        ChainSummary(scanned=ScanSummary(moved=1)),
        ChainSummary(scanned=ScanSummary(), hashed=HashSummary(hashed=1)),
        ChainSummary(hashed=HashSummary(linked=1)),
        ChainSummary(hashed=HashSummary(failed=1)),
        ChainSummary(looked_up=EnrichSummary(looked_up=3, not_found=3)),
        ChainSummary(looked_up=EnrichSummary(offline="Civitai is not reachable.")),
        ChainSummary(mirrored=MirrorsSummary([MirrorReport(1, Path("/m"), MirrorUI.COMFYUI, added=1)])),
        ChainSummary(
            mirrored=MirrorsSummary([MirrorReport(1, Path("/m"), MirrorUI.COMFYUI, state="unreachable")])
        ),
        ChainSummary(scanned=ScanSummary(), lookup_problem="Civitai lookup postponed: 429"),
        ChainSummary(scanned=ScanSummary(), cancelled=True),
    ],
)
def test_files_changed_hashed_looked_up_mirrored_or_a_step_that_failed_are_news(
    summary: ChainSummary,
) -> None:
    assert summary.is_news()
