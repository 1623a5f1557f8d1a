"""Benchmark: cold scan of a generated 10,000-file library, and an unchanged rescan.

Baseline measured in the same run: the bare minimum any scanner must do: walk the tree and read every
file's safetensors header bytes (no parsing, no database), on the same warm page cache as the scan.
Targets from the issue: a cold scan (files the catalog has never seen) at >= 1,000 files/s before
hashing, an unchanged rescan in <= 1 s.

    python -m bench.bench_scan [--files 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import tempfile
import time
from pathlib import Path

from bench.library_generator import generate_library
from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout

TARGET_FILES_PER_S = 1000.0
TARGET_RESCAN_S = 1.0


def bare_header_reads(root: Path) -> int:
    """Walk the tree and read each model file's header bytes: the I/O floor of a scan."""
    count = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not name.endswith(".safetensors"):
                continue
            with open(os.path.join(dirpath, name), "rb") as fh:
                (length,) = struct.unpack("<Q", fh.read(8))
                fh.read(length)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="atelier-bench-scan-") as tmp:
        root = Path(tmp) / "stable-diffusion-webui"
        started = time.perf_counter()
        generate_library(root, args.files)
        generated_s = time.perf_counter() - started

        # Flush the freshly written files and read them once, so the baseline and the scan both run on
        # a warm page cache: "cold" here means files the catalog has never seen, not a cold disk.
        os.sync()
        bare_header_reads(root)
        started = time.perf_counter()
        read = bare_header_reads(root)
        baseline_s = time.perf_counter() - started

        library = Library.open(Path(tmp) / "data" / "catalog.sqlite3")
        record = library.add_root(root, LibraryLayout.A1111)
        started = time.perf_counter()
        cold = Scanner(library).scan([record.id])
        cold_s = time.perf_counter() - started

        started = time.perf_counter()
        warm = Scanner(library).scan([record.id])
        rescan_s = time.perf_counter() - started
        cataloged = library.count(AssetQuery())
        library.close()

    files_per_s = cold.seen / cold_s
    result = {
        "files": cold.seen,
        "cataloged": cataloged,
        "generate_s": round(generated_s, 2),
        "baseline_header_reads_s": round(baseline_s, 3),
        "baseline_files_per_s": round(read / baseline_s, 1),
        "cold_scan_s": round(cold_s, 3),
        "cold_files_per_s": round(files_per_s, 1),
        "cold_vs_target": round(files_per_s / TARGET_FILES_PER_S, 2),
        "cold_vs_bare_reads": round(baseline_s / cold_s, 3),
        "rescan_s": round(rescan_s, 3),
        "rescan_unchanged": warm.unchanged,
        "rescan_vs_target": round(rescan_s / TARGET_RESCAN_S, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"generated {result['files']} files in {result['generate_s']} s")
    print(
        f"cold scan: {result['cold_files_per_s']} files/s ({result['cold_scan_s']} s); "
        f"target >= {TARGET_FILES_PER_S:.0f} files/s: ratio {result['cold_vs_target']}"
    )
    print(
        f"  baseline (walk + read headers only): {result['baseline_files_per_s']} files/s; "
        f"scan speed / baseline = {result['cold_vs_bare_reads']}"
    )
    print(
        f"unchanged rescan: {result['rescan_s']} s for {result['rescan_unchanged']} files; "
        f"target <= {TARGET_RESCAN_S} s: ratio {result['rescan_vs_target']}"
    )


if __name__ == "__main__":
    main()
