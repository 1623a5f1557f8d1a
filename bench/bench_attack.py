"""The attack suite's figures: payloads tried / executed / flagged / false positives; fuzz inputs /
crashes / hangs — the table in the README, made from the suite itself rather than written by hand.

Runs ``pytest tests/attack`` with ``ATELIER_ATTACK_REPORT`` pointing at a temporary file; every attack test
adds what it tried through ``tests.attack.report.record``. The suite's own assertions still decide pass or
fail: this script prints the counts and the suite's exit status, and exits with it.

The wall time is printed against a baseline measured in the same run: ``pytest`` collecting and running
one empty test (the start-up every suite pays), so the ratio is what the attacks themselves cost.

    python -m bench.bench_attack [--json] [pytest args...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.attack.report import FIELDS, REPORT_ENV

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD_COLUMNS = ("tried", "executed", "flagged", "false_positives")
FUZZ_COLUMNS = ("fuzz_inputs", "crashes", "hangs")


def _pytest(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode, time.perf_counter() - started


def _baseline(env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "test_empty.py"
        empty.write_text("def test_nothing() -> None:\n    pass\n", encoding="utf-8")
        _code, elapsed = _pytest([str(empty), "--rootdir", folder], env)
    return elapsed


def _table(report: dict[str, dict[str, int]], columns: tuple[str, ...], title: str) -> list[str]:
    rows = [(suite, counts) for suite, counts in sorted(report.items()) if any(counts[c] for c in columns)]
    if not rows:
        return []
    head = [title, *(c.replace("_", " ") for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [
        "| " + " | ".join([suite, *(f"{counts[c]:,}" for c in columns)]) + " |" for suite, counts in rows
    ]
    totals = {c: sum(counts[c] for _s, counts in rows) for c in columns}
    lines.append("| **all** | " + " | ".join(f"**{totals[c]:,}**" for c in columns) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    known, pytest_args = parser.parse_known_args(argv)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "attack.json"
        env[REPORT_ENV] = str(report_path)
        code, elapsed = _pytest(["tests/attack", *pytest_args], env)
        text = report_path.read_text(encoding="utf-8") if report_path.exists() else "{}"
    report: dict[str, dict[str, int]] = {
        suite: {field: int(counts.get(field, 0)) for field in FIELDS}
        for suite, counts in json.loads(text).items()
    }
    baseline = _baseline({k: v for k, v in env.items() if k != REPORT_ENV})
    if known.json:
        print(json.dumps({"suites": report, "exit_code": code, "seconds": elapsed, "baseline_s": baseline}))
        return code
    print("\n".join(_table(report, PAYLOAD_COLUMNS, "payloads")))
    print()
    print("\n".join(_table(report, FUZZ_COLUMNS, "fuzzing")))
    print()
    print(
        f"attack suite: {elapsed:.1f} s, {elapsed / baseline:.1f}x an empty pytest run ({baseline:.1f} s); "
        f"pytest exit status {code}"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
