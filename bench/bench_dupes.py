"""Benchmark: duplicate groups over a 100,000-row catalog (target <= 0.5 s).

The catalog is built by inserting rows straight into a migrated catalog (the scan path is measured by
bench_scan), with a realistic share of duplicates: about 6 % of files have a copy elsewhere (a few have
two or three), 2 % have a hard link (a second row of one device and inode, never a duplicate), 4 % are not
hashed yet and 1 % are missing. Then ``Library.duplicate_groups()`` (groups, files with their paths,
user-data counts, freeable bytes) runs a few times, warm, and the median is reported.

Baseline measured in the same run on the same file: the bare ``SELECT sha256 FROM assets WHERE sha256 IS
NOT NULL GROUP BY sha256 HAVING count(*) > 1`` in the stdlib sqlite3 module, the least any duplicate
finder must do; the ratio shows what fetching the rows and building the groups adds.

    python -m bench.bench_dupes [--rows 100000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from catalog.library import Library
from core.taxonomy import LibraryLayout

TARGET_S = 0.5
COPY_SHARE = 0.06
HARDLINK_SHARE = 0.02
UNHASHED_SHARE = 0.04
MISSING_SHARE = 0.01
KINDS = ["lora"] * 60 + ["embedding"] * 15 + ["checkpoint"] * 15 + ["vae"] * 5 + ["unknown"] * 5

_INSERT = (
    "INSERT INTO assets (id, root_id, path, file_name, size, mtime_ns, inode, device, format, kind, "
    "architecture, status, sha256, autov3, added_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'safetensors', ?, 'sdxl', ?, ?, ?, ?, ?)"
)
_BARE = "SELECT sha256 FROM assets WHERE sha256 IS NOT NULL GROUP BY sha256 HAVING count(*) > 1"


def _sha(value: int) -> str:
    return hashlib.sha256(value.to_bytes(8, "little")).hexdigest().upper()


def build(db_path: Path, root: Path, rows: int, seed: int) -> dict[str, int]:
    """Fill the catalog at ``db_path``; returns how many rows of each sort were written."""
    library = Library.open(db_path)
    root_id = library.add_root(root, LibraryLayout.A1111).id
    library.close()
    rng = random.Random(seed)
    now = "2026-01-01 00:00:00.000000"
    values = []
    counts = {"copies": 0, "hardlinks": 0, "unhashed": 0, "missing": 0}
    content = 0  # the id of a file's content (its SHA256 seed)
    inode = 0
    row_id = 0
    while row_id < rows:
        content += 1
        inode += 1
        kind = rng.choice(KINDS)
        size = rng.randrange(1_000_000, 7_000_000_000)
        roll = rng.random()
        sha = None if roll < UNHASHED_SHARE else _sha(content)
        counts["unhashed"] += sha is None
        paths = [(inode, 1)]
        if sha is not None and rng.random() < COPY_SHARE:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                inode += 1
                paths.append((inode, rng.choice((1, 2))))  # a copy, maybe on another disk
                counts["copies"] += 1
        if rng.random() < HARDLINK_SHARE:
            paths.append(paths[0])  # a second path of the same file
            counts["hardlinks"] += 1
        for index, (file_inode, device) in enumerate(paths):
            row_id += 1
            missing = rng.random() < MISSING_SHARE
            counts["missing"] += missing
            name = f"{kind}_{content}_{index}.safetensors"
            values.append(
                (
                    row_id,
                    root_id,
                    f"{root}/models/{kind}/{index}/{name}",
                    name,
                    size,
                    1_700_000_000_000_000_000 + row_id,
                    file_inode,
                    device,
                    kind,
                    "missing" if missing else "ok",
                    sha,
                    None if sha is None else _sha(10**9 + (content if content % 50 else content - 1)),
                    now,
                    now,
                )
            )
    connection = sqlite3.connect(db_path)
    with connection:
        connection.executemany(_INSERT, values[:rows])
    connection.execute("ANALYZE")
    connection.close()
    return counts


def _median(runs: int, work: object) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atelier-bench-dupes-") as tmp:
        db_path = Path(tmp) / "catalog.sqlite3"
        began = time.perf_counter()
        counts = build(db_path, Path(tmp) / "library", args.rows, args.seed)
        built = time.perf_counter() - began
        library = Library.open(db_path)
        try:
            groups = library.duplicate_groups()  # warm: the first run reads the pages from disk
            seconds = _median(args.runs, library.duplicate_groups)
            hints_seconds = _median(args.runs, library.near_duplicate_hints)
        finally:
            library.close()
        bare = sqlite3.connect(db_path)
        bare.execute(_BARE).fetchall()
        baseline = _median(args.runs, lambda: bare.execute(_BARE).fetchall())
        bare.close()
    result = {
        "rows": args.rows,
        "build_s": round(built, 2),
        **counts,
        "groups": len(groups),
        "freeable_bytes": sum(g.freeable_bytes for g in groups),
        "seconds": round(seconds, 4),
        "target_s": TARGET_S,
        "ratio_to_target": round(seconds / TARGET_S, 3),
        "baseline_s": round(baseline, 4),
        "ratio_to_baseline": round(seconds / baseline, 2) if baseline else None,
        "near_hints_s": round(hints_seconds, 4),
        "load_average": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"catalog: {args.rows} rows ({counts['copies']} copies, {counts['hardlinks']} hard links, "
        f"{counts['unhashed']} unhashed, {counts['missing']} missing) built in {built:.1f} s"
    )
    print(
        f"duplicate groups: {len(groups)} groups in {seconds:.3f} s; target <= {TARGET_S} s: "
        f"ratio {seconds / TARGET_S:.2f}"
    )
    print(
        f"  baseline (bare GROUP BY sha256 in sqlite3): {baseline:.3f} s; groups / baseline = "
        f"{seconds / baseline:.1f}x"
    )
    print(f"near-duplicate hints: {hints_seconds:.3f} s (machine load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
