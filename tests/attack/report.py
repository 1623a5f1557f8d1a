"""Counts the attack suite keeps, so the README's figures come from the suite itself.

Every attack test calls ``record`` with what it tried. When ``ATELIER_ATTACK_REPORT`` names a file (as
``bench/bench_attack.py`` does when it runs the suite), the counts are added to that JSON file, one entry
per suite name; otherwise ``record`` does nothing, so the suite costs no I/O in CI.

A test still asserts the outcome itself (no payload executed, no crash, no hang): the report only counts.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

REPORT_ENV = "ATELIER_ATTACK_REPORT"
FIELDS = ("tried", "executed", "flagged", "false_positives", "fuzz_inputs", "crashes", "hangs")


def record(
    suite: str,
    *,
    tried: int = 0,
    executed: int = 0,
    flagged: int = 0,
    false_positives: int = 0,
    fuzz_inputs: int = 0,
    crashes: int = 0,
    hangs: int = 0,
) -> None:
    """Add counts to ``suite``'s entry: payloads tried / executed (a marker appeared) / flagged (unsafe or
    refused) / false positives (a benign file not ``ok``); fuzz inputs / crashes (an exception escaped) /
    hangs (over the time bound)."""
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    counts = dict(
        zip(FIELDS, (tried, executed, flagged, false_positives, fuzz_inputs, crashes, hangs), strict=True)
    )
    path = Path(target)
    with open(path, "a+", encoding="utf-8") as fh:  # several xdist workers may write at once
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        text = fh.read()
        data: dict[str, dict[str, int]] = json.loads(text) if text.strip() else {}
        entry = data.setdefault(suite, dict.fromkeys(FIELDS, 0))
        for name, value in counts.items():
            entry[name] = entry.get(name, 0) + value
        fh.seek(0)
        fh.truncate()
        json.dump(data, fh, indent=2, sort_keys=True)
