"""Benchmark: library search over a 100,000-asset catalog.

Builds a catalog in a temporary folder through ``Library.apply_scan_batch`` (realistic file names, tags,
trigger words, descriptions and a realistic mix of kinds and architectures) and merges its search index
as the after-scan chain does after a scan that wrote (``Library.merge_search_index``; its time is
printed, and ``--no-merge`` leaves the index as the batches left it), then runs a mix of typical
GUI queries (a typed word, a word with a kind filter, a tag filter, a word with a tag; limit 200 sorted by
name) and reports p50/p95 of a page of light rows (``Library.search_rows``: what the grid, the table and a
listing show) against the target (p95 <= 10 ms). The same page as full records (``Library.search``: tags,
collections, hashes, remote facts) and as ids alone are timed too, for comparison, and the page of rows
through the light reader (``catalog.read_connection``: the same SQL on a plain ``sqlite3`` connection,
what ``search`` and the window's first view use).

Each page is also timed in CPU time of the calling thread (``time.thread_time``): on a loaded machine the
wall-clock figures swing with the other processes, the CPU figures much less. The p95 of each kind of
query of the mix (CPU, light rows) is printed too, to show which kind sets the overall p95.

Baseline measured in the same run, through the same engine and unit of work: an indexed point query
``SELECT id FROM assets WHERE file_name = ?`` — the cheapest useful query the catalog can answer, so the
ratio shows what FTS, filtering, sorting and building records add on top of the fixed per-call cost.

    python -m bench.bench_search [--rows 100000] [--runs 400] [--no-merge] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from catalog.db import CatalogDatabase
from catalog.library import Library
from catalog.orm import Asset
from catalog.read_connection import open_reader
from catalog.records import AssetQuery, ScannedFile, SortKey
from core.formats.sidecar_info import SidecarInfo
from core.identify.result import Identification
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus, LibraryLayout

TARGET_P95_MS = 10.0
BATCH = 500


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


STYLES = _words(
    "anime pixel watercolor oil realistic photoreal cyberpunk steampunk fantasy scifi gothic chibi lineart "
    "sketch ink comic manga cinematic noir vaporwave retro vintage minimalist surreal dreamy painterly cel "
    "shaded lowpoly isometric ukiyoe impressionist baroque artdeco graffiti"
)
SUBJECTS = _words(
    "portrait landscape character girl boy woman man cat dog dragon robot mecha castle city forest ocean "
    "mountain flower food car ship armor dress hair eyes hands pose background interior architecture knight "
    "witch elf warrior samurai ninja"
)
EXTRAS = _words("detail lighting style concept helper tweaker slider enhancer xl lite pro mix merge")
TAG_POOL = [*STYLES, *SUBJECTS, *_words("style character concept clothing poses tool sdxl pony")]
KINDS = (
    [AssetKind.LORA] * 60
    + [AssetKind.EMBEDDING] * 15
    + [AssetKind.CHECKPOINT] * 12
    + [AssetKind.VAE] * 3
    + [AssetKind.HYPERNETWORK] * 3
    + [AssetKind.CONTROLNET] * 3
    + [AssetKind.UNKNOWN] * 4
)
ARCHS = (
    [Architecture.SDXL] * 45
    + [Architecture.SD1] * 35
    + [Architecture.FLUX1] * 10
    + [Architecture.SD2] * 3
    + [Architecture.SD3] * 3
    + [Architecture.UNKNOWN] * 4
)


def _zipf_choice(rng: random.Random, pool: list[str]) -> str:
    """Popular tags are much more common than rare ones, as in real libraries."""
    index = min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)
    return pool[index]


def make_file(rng: random.Random, index: int, folder: str) -> ScannedFile:
    style, subject = rng.choice(STYLES), rng.choice(SUBJECTS)
    words = [style, subject] + ([rng.choice(EXTRAS)] if rng.random() < 0.6 else [])
    separator = rng.choice(("_", "-", "", " "))
    name = separator.join(w.capitalize() if separator == "" else w for w in words)
    name = f"{name}{separator}v{rng.randrange(1, 12)}_{index}"
    kind = rng.choice(KINDS)
    architecture = rng.choice(ARCHS)
    trigger = tuple(
        f"{rng.choice(STYLES)[:4]}{rng.choice(SUBJECTS)[:3]}{rng.randrange(100)}" for _ in range(2)
    )
    tags = tuple({_zipf_choice(rng, TAG_POOL) for _ in range(rng.randrange(0, 7))})
    description = (
        f"A {style} {kind.value} for {subject} images. Works best at 0.{rng.randrange(4, 10)} weight."
        if rng.random() < 0.3
        else None
    )
    ident = Identification(
        kind=kind,
        architecture=architecture,
        format=FileFormat.SAFETENSORS,
        reasons=(f"{architecture.value} {kind.value}: key layout matched",),
        trigger_words=trigger[:1],
        metadata={"ss_output_name": name} if kind is AssetKind.LORA else {},
    )
    sidecars = (
        SidecarInfo(description=description, tags=tags, trigger_words=trigger[1:], sources=(Path("x.json"),))
        if tags or description
        else None
    )
    return ScannedFile(
        path=f"{folder}/{kind.value}/{name}.safetensors",
        size=rng.randrange(1_000_000, 7_000_000_000),
        mtime_ns=1_700_000_000_000_000_000 + index,
        inode=index + 1,
        format=FileFormat.SAFETENSORS,
        status=FileStatus.OK,
        identification=ident,
        sidecars=sidecars,
    )


def build(library: Library, root_folder: Path, rows: int, seed: int) -> tuple[float, list[str]]:
    """Fill the catalog; returns seconds spent in apply_scan_batch and the file names written."""
    rng = random.Random(seed)
    root = library.add_root(root_folder, LibraryLayout.A1111)
    names: list[str] = []
    spent = 0.0
    for start in range(0, rows, BATCH):
        batch = [make_file(rng, i, str(root_folder)) for i in range(start, min(rows, start + BATCH))]
        names.extend(Path(f.path).name for f in batch)
        began = time.perf_counter()
        library.apply_scan_batch(root.id, batch)
        spent += time.perf_counter() - began
    return spent, names


# The kinds of query of the mix, in the order query_mix repeats them.
MIX_KINDS = ("word", "partial", "word+kind", "tag", "two words", "partial+tag", "kind+arch", "word+sort")


def query_mix(rng: random.Random) -> list[AssetQuery]:
    """Typical GUI queries: typed words (whole and partial), word + kind, tag, word + tag; 200 per page."""
    queries: list[AssetQuery] = []
    for _ in range(25):
        word = rng.choice(STYLES + SUBJECTS)
        partial = word[: rng.randrange(3, len(word) + 1)]
        tag = _zipf_choice(rng, TAG_POOL)
        kind = rng.choice((AssetKind.LORA, AssetKind.CHECKPOINT, AssetKind.EMBEDDING))
        queries += [
            AssetQuery(text=word, limit=200),
            AssetQuery(text=partial, limit=200),
            AssetQuery(text=word, kinds=(kind,), limit=200),
            AssetQuery(tags=(tag,), limit=200),
            AssetQuery(text=f"{rng.choice(STYLES)} {rng.choice(SUBJECTS)}", limit=200),
            AssetQuery(text=partial, tags=(tag,), limit=200),
            AssetQuery(kinds=(kind,), architectures=(Architecture.SDXL,), limit=200),
            AssetQuery(text=word, sort=rng.choice((SortKey.RATING, SortKey.ADDED, SortKey.SIZE)), limit=200),
        ]
    return queries


def timed(fn: Callable[[], Any], runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds of each call; the thread's CPU milliseconds go to ``cpu`` when given."""
    samples = []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.thread_time()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
        if cpu is not None:
            cpu.append((time.thread_time() - began_cpu) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=400, help="queries timed per measurement")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-merge", action="store_true", help="leave the search index unmerged")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="atelier-bench-") as tmp:
        folder = Path(tmp)
        library = Library.open(folder / "catalog.sqlite3")
        insert_s, names = build(library, folder / "models", args.rows, args.seed)
        began = time.perf_counter()
        if not args.no_merge and hasattr(library, "merge_search_index"):  # (an old checkout has none)
            library.merge_search_index()
        merge_s = time.perf_counter() - began

        queries = query_mix(rng)
        for query in queries:  # warm the page cache and statement cache, as a running app would be
            library.search(query)
            library.search_rows(query)
        cycle = iter(queries * (args.runs // len(queries) + 1))
        search_cpu_ms: list[float] = []
        search_ms = timed(lambda: library.search_rows(next(cycle)), args.runs, search_cpu_ms)
        by_kind: dict[str, list[float]] = {}
        for position, cpu_ms in enumerate(search_cpu_ms):
            by_kind.setdefault(MIX_KINDS[position % len(queries) % len(MIX_KINDS)], []).append(cpu_ms)
        cycle = iter(queries * (args.runs // len(queries) + 1))
        records_ms = timed(lambda: library.search(next(cycle)), args.runs)
        cycle = iter(queries * (args.runs // len(queries) + 1))
        ids_ms = timed(lambda: library.search_ids(next(cycle)), args.runs)
        reader = open_reader(folder / "catalog.sqlite3", read_only=False)
        assert reader is not None, "the light reader could not read the catalog the bench built"
        for query in queries:
            reader.search_rows(query)
        cycle = iter(queries * (args.runs // len(queries) + 1))
        reader_cpu_ms: list[float] = []
        reader_ms = timed(lambda: reader.search_rows(next(cycle)), args.runs, reader_cpu_ms)
        reader.close()

        baseline_db = CatalogDatabase(folder / "catalog.sqlite3")
        name_cycle = iter([rng.choice(names) for _ in range(args.runs)])

        def point_query() -> None:
            with baseline_db.session_scope() as session:
                session.execute(select(Asset.id).where(Asset.file_name == next(name_cycle))).all()

        baseline_ms = timed(point_query, args.runs)
        baseline_db.close()
        library.close()

    p50, p95 = percentile(search_ms, 0.5), percentile(search_ms, 0.95)
    ids_p95 = percentile(ids_ms, 0.95)
    records_p95 = percentile(records_ms, 0.95)
    reader_p95 = percentile(reader_ms, 0.95)
    base_p95 = percentile(baseline_ms, 0.95)
    figures = {
        "rows": args.rows,
        "insert_s": round(insert_s, 2),
        "insert_rows_per_s": round(args.rows / insert_s),
        "merge_s": round(merge_s, 2),
        "search_p50_ms": round(p50, 2),
        "search_p95_ms": round(p95, 2),
        "search_cpu_p50_ms": round(percentile(search_cpu_ms, 0.5), 2),
        "search_cpu_p95_ms": round(percentile(search_cpu_ms, 0.95), 2),
        "search_cpu_p95_ms_by_kind": {kind: round(percentile(ms, 0.95), 2) for kind, ms in by_kind.items()},
        "search_ids_p95_ms": round(ids_p95, 2),
        "search_full_records_p95_ms": round(records_p95, 2),
        "light_reader_rows_p50_ms": round(percentile(reader_ms, 0.5), 2),
        "light_reader_rows_p95_ms": round(reader_p95, 2),
        "light_reader_cpu_p50_ms": round(percentile(reader_cpu_ms, 0.5), 2),
        "light_reader_cpu_p95_ms": round(percentile(reader_cpu_ms, 0.95), 2),
        "loadavg": Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else None,
        "baseline_p95_ms": round(base_p95, 3),
        "ratio_to_target": round(p95 / TARGET_P95_MS, 2),
        "ratio_to_baseline": round(p95 / base_p95, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        rate = figures["insert_rows_per_s"]
        print(f"built {args.rows} rows via apply_scan_batch in {insert_s:.2f} s ({rate} rows/s)")
        print(f"search index merged in {merge_s:.2f} s")
        print(
            f"search (page of rows) p50 {p50:.1f} ms, p95 {p95:.1f} ms over {args.rows} rows "
            f"(target <= {TARGET_P95_MS:.0f} ms: ratio {p95 / TARGET_P95_MS:.2f})"
        )
        print(
            f"  CPU time of the same pages: p50 {figures['search_cpu_p50_ms']:.1f} ms,"
            f" p95 {figures['search_cpu_p95_ms']:.1f} ms"
            f" (ratio {figures['search_cpu_p95_ms'] / TARGET_P95_MS:.2f})"
        )
        kinds = ", ".join(f"{kind} {ms:.1f}" for kind, ms in figures["search_cpu_p95_ms_by_kind"].items())
        print(f"  CPU p95 by kind of query (ms): {kinds}")
        print(f"search as full records p95 {records_p95:.1f} ms (ratio {records_p95 / TARGET_P95_MS:.2f})")
        print(f"search_ids p95 {ids_p95:.1f} ms (ratio {ids_p95 / TARGET_P95_MS:.2f})")
        print(
            f"light reader (sqlite3) rows p50 {figures['light_reader_rows_p50_ms']:.1f} ms,"
            f" p95 {reader_p95:.1f} ms (ratio {reader_p95 / TARGET_P95_MS:.2f});"
            f" CPU p50 {figures['light_reader_cpu_p50_ms']:.1f} ms,"
            f" p95 {figures['light_reader_cpu_p95_ms']:.1f} ms"
            f" (ratio {figures['light_reader_cpu_p95_ms'] / TARGET_P95_MS:.2f})"
        )
        print(f"load average (1 min) at the end: {figures['loadavg']}")
        print(
            f"baseline point query p95 {base_p95:.2f} ms; search p95 / baseline p95 = {p95 / base_p95:.1f}x"
        )
    return figures


if __name__ == "__main__":
    main()
