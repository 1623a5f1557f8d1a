"""Benchmark: the catalog on a PostgreSQL server against the same catalog in SQLite, on the same machine.

A throwaway PostgreSQL server is started for the run (``tests.pg_server``: the distribution's binaries, a
fresh cluster on 127.0.0.1 with PostgreSQL's default 128MB buffer cache, stopped and deleted at the end),
so both databases share the machine, its load and its page cache. Three measurements (issue 14,
deliverable 6):

1. **Search p95 over a 100,000-row catalog** (``--rows``). The catalog is built once in SQLite by
   ``bench.bench_search``'s builder (its realistic names, tags, trigger words and descriptions, its search
   index merged) and copied into PostgreSQL by ``catalog.catalog_copy`` (the ``copy-catalog`` command's
   code); then ``bench.bench_search``'s query mix (typed words whole and partial, word + kind, tag,
   word + tag, kind + architecture, word with another sort; pages of 200) runs on both, in turns, so load
   weighs alike (first the server is settled as its autovacuum would settle it: ``VACUUM ANALYZE``).
   Each backend is read through what the window and the CLI use for it: on SQLite the light
   ``sqlite3`` reader (``catalog.read_connection``; ``Library.search_rows`` is timed too), on PostgreSQL
   ``Library.search_rows`` (the app opens the Library there). Every query's rows must be the same on both
   (printed: results identical). Target: PostgreSQL p95 <= 2x SQLite p95 (the reader the app picks).
   Beside it, what the server's search index costs a write (no target; printed so that a faster search
   is never bought with slow writes unseen): the documents of 10,000 new files built as a scan's batch
   builds them, and a tag added to a file, each with the word index of migration 0015 and without it
   (its triggers switched off inside a transaction that is rolled back).
2. **An unchanged rescan of 10,000 files** (``--files``): ``bench.bench_scan``'s generated library (real
   headers, sparse files), cataloged by a real scan on each backend (the cold scans' times are printed),
   then rescanned unchanged with ``Scanner.scan`` on each (best of 3, in turns). Target: PostgreSQL <= 2x
   SQLite.
3. **4 machines editing at once**: 4 client processes (``multiprocessing``, each its own
   ``Library.on_server``: its own engine and connections, as 4 Ateliers would be) make 500 edits each on
   the same 40 assets, overlapping: a tag added (``bulk_edit``, as the window's tag box does), a rating and
   a note (``update_user_data``). Then every edit is looked for: each added tag must be on its asset,
   and each asset's rating and note must be the last one written to it (last write wins per field: one of
   the clients' last writes to that asset). Printed: ``lost = N`` (target 0), and no client may see an error.

The ``ratio`` lines say PostgreSQL / SQLite (<= 2 is met). ``--rows 10000 --files 1000 --edits 100``
makes a quick run.

    python -m bench.bench_pg [--rows 100000] [--files 10000] [--clients 4] [--edits 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_RATIO = 2.0
# PostgreSQL's own default buffer cache (what a packaged server starts with), not the tests' smaller one:
# SQLite maps the whole catalog file (catalog.read_connection), so each reads from memory.
SHARED_BUFFERS = "128MB"
SHARED_ASSETS = 40
# A note or rating is written every few edits; the rest add a tag. The three share the assets.
EDIT_KINDS = ("tag", "rating", "note")


@dataclass(frozen=True)
class Server:
    """Where the bench's PostgreSQL databases live: ``create(name)`` makes one on the started
    ``tests.pg_server`` cluster and returns its URL."""

    create: Callable[[str], str]


def _server_library(url: str, data_dir: Path) -> Any:
    from catalog.catalog_url import create_server_engine, parse
    from catalog.library import Library

    location = parse(url)
    assert location.url is not None
    return Library.on_server(create_server_engine(location.url), data_dir, str(location))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# -- 1. search ---------------------------------------------------------------------------------------------


def _settle(url: Any) -> None:
    """What a server's autovacuum does within a minute of a copy of 100,000 rows, done before the timing:
    ``VACUUM`` marks the copied pages all-visible (a driven page then reads ``ix_assets_page`` alone, as
    SQLite does, instead of visiting each table row) and merges the search index's pending entries.
    Measured without it, the searches would time the minute after a copy, not the library in use."""
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(b"VACUUM ANALYZE")


# The word index's triggers (migration 0015), switched off to time the upkeep without them.
WORD_TRIGGERS = tuple(
    f"asset_fts_words_after_documents_{operation}" for operation in ("insert", "update", "delete")
)
UPKEEP_FILES = 10_000


def upkeep_figures(url: Any, rows: int, repeats: int = 3) -> dict[str, Any]:
    """What the search index costs a write on the server, with the word index (migration 0015) and
    without it (its triggers off), in turns, each in a transaction rolled back: the documents of
    :data:`UPKEEP_FILES` files built as a scan's batch builds them (``asset_fts_refresh`` over files with
    no document yet), and a tag added to one file (the statement trigger rebuilding its document). Medians
    in ms."""
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    last = min(rows, UPKEEP_FILES)
    batch = (
        f"DELETE FROM asset_fts_documents WHERE rowid <= {last}; DELETE FROM asset_fts WHERE rowid <= {last}",
        f"SELECT asset_fts_refresh(ARRAY(SELECT id FROM assets WHERE id <= {last}))",
    )
    tag = (
        "SELECT 1",
        "INSERT INTO asset_tags (asset_id, tag_id, position)"
        " SELECT 1, t.id, 99 FROM tags AS t WHERE NOT EXISTS"
        " (SELECT 1 FROM asset_tags AS x WHERE x.asset_id = 1 AND x.tag_id = t.id) ORDER BY t.id LIMIT 1",
    )
    samples: dict[tuple[str, bool], list[float]] = {}
    with psycopg.connect(dsn) as connection:
        for _ in range(repeats):
            for name, (setup, timed) in (("batch", batch), ("tag", tag)):
                for words in (True, False):
                    if not words:
                        for trigger in WORD_TRIGGERS:
                            connection.execute(
                                f"ALTER TABLE asset_fts_documents DISABLE TRIGGER {trigger}".encode()
                            )
                    connection.execute(setup.encode())
                    began = time.perf_counter()
                    connection.execute(timed.encode())
                    samples.setdefault((name, words), []).append((time.perf_counter() - began) * 1000)
                    connection.rollback()
    median = {key: round(percentile(values, 0.5), 1) for key, values in samples.items()}
    return {
        "files": last,
        "batch_ms": {"with_word_index": median[("batch", True)], "without": median[("batch", False)]},
        "tag_ms": {"with_word_index": median[("tag", True)], "without": median[("tag", False)]},
    }


def search_figures(tmp: Path, server: Server, rows: int, runs: int, seed: int) -> dict[str, Any]:
    from bench.bench_search import MIX_KINDS, build, query_mix
    from catalog.catalog_copy import copy_catalog
    from catalog.catalog_url import create_server_engine, parse
    from catalog.db import create_catalog_engine
    from catalog.library import Library
    from catalog.read_connection import open_reader

    sqlite_path = tmp / "search" / "catalog.sqlite3"
    library = Library.open(sqlite_path)
    began = time.perf_counter()
    build(library, tmp / "search" / "models", rows, seed)
    library.merge_search_index()
    build_s = time.perf_counter() - began

    url = server.create(f"search_{uuid.uuid4().hex[:8]}")
    location = parse(url)
    assert location.url is not None
    source, target = create_catalog_engine(sqlite_path), create_server_engine(location.url)
    began = time.perf_counter()
    copy_catalog(source, target)
    copy_s = time.perf_counter() - began
    source.dispose()
    target.dispose()
    _settle(location.url)
    on_server = _server_library(url, tmp / "search" / "pg-data")

    reader = open_reader(sqlite_path, read_only=False)
    assert reader is not None, "the light reader could not read the catalog the bench built"
    readers: dict[str, Callable[[Any], list[Any]]] = {
        "sqlite_reader": reader.search_rows,
        "sqlite_library": library.search_rows,
        "postgresql": on_server.search_rows,
    }
    queries = query_mix(random.Random(seed))
    differing = 0
    for query in queries:  # warm both (page caches, statement caches) as a running app would be
        answers = [[row.id for row in read(query)] for read in readers.values()]
        differing += any(answer != answers[0] for answer in answers)
    samples: dict[str, list[float]] = {name: [] for name in readers}
    by_kind: dict[tuple[str, str], list[float]] = {}
    for position in range(runs):
        query = queries[position % len(queries)]
        kind = MIX_KINDS[position % len(queries) % len(MIX_KINDS)]  # query_mix's order
        for name, read in readers.items():  # in turns: load on the machine weighs on each alike
            began = time.perf_counter()
            read(query)
            samples[name].append((time.perf_counter() - began) * 1000)
            by_kind.setdefault((kind, name), []).append(samples[name][-1])
    reader.close()
    library.close()
    on_server.close()
    # After the searches: a rolled-back batch leaves its entries in the GIN indexes' pending lists until
    # the next VACUUM, which every later GIN search would scan.
    upkeep = upkeep_figures(location.url, rows)
    p95 = {name: percentile(values, 0.95) for name, values in samples.items()}
    p50 = {name: percentile(values, 0.5) for name, values in samples.items()}
    return {
        "rows": rows,
        "build_sqlite_s": round(build_s, 1),
        "copy_to_postgresql_s": round(copy_s, 1),
        "queries": len(queries),
        "queries_differing": differing,
        "p50_ms": {name: round(value, 2) for name, value in p50.items()},
        "p95_ms": {name: round(value, 2) for name, value in p95.items()},
        "p50_by_kind_ms": {
            kind: {name: round(percentile(by_kind[(kind, name)], 0.5), 2) for name in readers}
            for kind in MIX_KINDS
            if (kind, "postgresql") in by_kind
        },
        "ratio": round(p95["postgresql"] / p95["sqlite_reader"], 2),
        "ratio_same_api": round(p95["postgresql"] / p95["sqlite_library"], 2),
        "index_upkeep": upkeep,
    }


# -- 2. unchanged rescan -----------------------------------------------------------------------------------


def rescan_figures(tmp: Path, server: Server, files: int) -> dict[str, Any]:
    from bench.bench_scan import TEMPLATES, copy_library
    from bench.library_generator import generate_library
    from catalog.library import Library
    from catalog.scanner import Scanner
    from core.taxonomy import LibraryLayout

    templates = generate_library(tmp / "templates", min(TEMPLATES, files))
    root = tmp / "scan" / "stable-diffusion-webui"
    copy_library(templates, tmp / "templates", root, files)
    libraries = {
        "sqlite": Library.open(tmp / "scan" / "data" / "catalog.sqlite3"),
        "postgresql": _server_library(server.create(f"scan_{uuid.uuid4().hex[:8]}"), tmp / "scan" / "pg"),
    }
    cold: dict[str, float] = {}
    roots: dict[str, int] = {}
    for name, library in libraries.items():
        roots[name] = library.add_root(root, LibraryLayout.A1111).id
        began = time.perf_counter()
        summary = Scanner(library).scan([roots[name]])
        cold[name] = time.perf_counter() - began
        assert summary.seen == files, f"{name}: the cold scan saw {summary.seen} of {files} files"
    best = {name: float("inf") for name in libraries}
    for _ in range(3):
        for name, library in libraries.items():  # in turns, as the searches
            began = time.perf_counter()
            summary = Scanner(library).scan([roots[name]])
            best[name] = min(best[name], time.perf_counter() - began)
            assert summary.unchanged == files, f"{name}: {summary.unchanged} of {files} unchanged"
    for library in libraries.values():
        library.close()
    return {
        "files": files,
        "cold_scan_s": {name: round(value, 2) for name, value in cold.items()},
        "rescan_s": {name: round(value, 3) for name, value in best.items()},
        "ratio": round(best["postgresql"] / best["sqlite"], 2),
    }


# -- 3. concurrent edits -----------------------------------------------------------------------------------


def edit_plan(client: int, edits: int, assets: list[int]) -> list[tuple[int, str, str | int]]:
    """Client ``client``'s edits in order: (asset, kind, value). Clients walk the shared assets at
    different strides, so every asset is edited by every client, at overlapping moments."""
    plan: list[tuple[int, str, str | int]] = []
    for number in range(edits):
        asset = assets[(number * (client + 1) + client * 7) % len(assets)]
        kind = EDIT_KINDS[number % len(EDIT_KINDS)]
        value: str | int = (
            f"c{client}e{number}" if kind == "tag" else f"note {client}-{number}" if kind == "note" else 0
        )
        if kind == "rating":
            value = (client + number) % 5 + 1
        plan.append((asset, kind, value))
    return plan


def _client(url: str, data_dir: str, client: int, *, edits: int, assets: list[int], barrier: Any) -> str:
    """One machine: its own Library on the server, ``edits`` edits as fast as it can. Returns the first
    error's text, or '' (the parent counts errors; a client must never see one)."""
    from catalog.records import BulkEdit, UserDataChanges

    library = _server_library(url, Path(data_dir))
    barrier.wait()
    try:
        for asset, kind, value in edit_plan(client, edits, assets):
            if kind == "tag":
                library.bulk_edit([asset], BulkEdit(add_tags=(str(value),)))
            elif kind == "rating":
                library.update_user_data(asset, UserDataChanges(rating=int(value)))
            else:
                library.update_user_data(asset, UserDataChanges(notes=str(value)))
        return ""
    except Exception as error:  # reported by the parent as a failure of the run
        return f"client {client}: {type(error).__name__}: {error}"
    finally:
        library.close()


def lost_edits(library: Any, clients: int, edits: int, assets: list[int]) -> int:
    """How many edits are missing: tags not on their asset, and ratings or notes that are not one of the
    clients' last writes to that asset (a stale write won, or a write vanished)."""
    records = {record.id: record for record in library.get_many(assets)}
    lost = 0
    last: dict[tuple[int, str], set[str | int]] = {}
    for client in range(clients):
        final: dict[tuple[int, str], str | int] = {}
        for asset, kind, value in edit_plan(client, edits, assets):
            if kind == "tag":
                lost += value not in records[asset].tags
            else:
                final[(asset, kind)] = value
        for key, value in final.items():
            last.setdefault(key, set()).add(value)
    for (asset, kind), values in last.items():
        record = records[asset]
        lost += (record.rating if kind == "rating" else record.notes) not in values
    return lost


def edit_figures(tmp: Path, server: Server, clients: int, edits: int) -> dict[str, Any]:
    from tests.catalog.conftest import scanned

    url = server.create(f"edits_{uuid.uuid4().hex[:8]}")
    library = _server_library(url, tmp / "edits" / "parent")
    root = library.add_root(tmp / "edits" / "models").id
    assets = library.apply_scan_batch(
        root,
        [scanned(tmp / "edits" / "models" / f"{n}.safetensors", inode=n + 1) for n in range(SHARED_ASSETS)],
    )
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(clients + 1)
        with context.Pool(clients) as pool:
            pending = [
                pool.apply_async(
                    _client,
                    (url, str(tmp / "edits" / f"c{n}"), n),
                    {"edits": edits, "assets": assets, "barrier": barrier},
                )
                for n in range(clients)
            ]
            barrier.wait()  # every client has opened its Library: the clock starts with the edits
            began = time.perf_counter()
            errors = [error for error in (result.get(timeout=600) for result in pending) if error]
            seconds = time.perf_counter() - began
    lost = lost_edits(library, clients, edits, assets)
    library.close()
    return {
        "clients": clients,
        "edits_per_client": edits,
        "assets": len(assets),
        "seconds": round(seconds, 2),
        "edits_per_s": round(clients * edits / seconds),
        "errors": errors,
        "lost": lost,
    }


# -- the run -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the search catalog")
    parser.add_argument("--runs", type=int, default=400, help="queries timed on each backend")
    parser.add_argument("--files", type=int, default=10_000, help="files of the rescanned library")
    parser.add_argument("--clients", type=int, default=4, help="client processes editing at once")
    parser.add_argument("--edits", type=int, default=500, help="edits per client")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    from tests import pg_server

    bin_dir = pg_server.find_bin_dir()
    if bin_dir is None:
        parser.error("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    cluster = pg_server.start(bin_dir, shared_buffers=SHARED_BUFFERS)
    server = Server(create=cluster.create_database)
    try:
        with tempfile.TemporaryDirectory(prefix="atelier-bench-pg-") as tmp_name:
            tmp = Path(tmp_name)
            figures = {
                "search": search_figures(tmp, server, args.rows, args.runs, args.seed),
                "rescan": rescan_figures(tmp, server, args.files),
                "edits": edit_figures(tmp, server, args.clients, args.edits),
                "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            }
    finally:
        pg_server.stop(cluster)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures)
    return figures


def _print(figures: dict[str, Any]) -> None:
    search, rescan, edits = figures["search"], figures["rescan"], figures["edits"]
    p50, p95 = search["p50_ms"], search["p95_ms"]
    print(
        f"search catalog: {search['rows']} rows built in SQLite in {search['build_sqlite_s']} s, "
        f"copied to PostgreSQL in {search['copy_to_postgresql_s']} s"
    )
    print(
        f"  results identical on both: {search['queries'] - search['queries_differing']} of "
        f"{search['queries']} queries"
    )
    for name, label in (
        ("sqlite_reader", "SQLite, light reader (the app's)"),
        ("sqlite_library", "SQLite, Library.search_rows"),
        ("postgresql", "PostgreSQL, Library.search_rows (the app's)"),
    ):
        print(f"  {label}: p50 {p50[name]:.2f} ms, p95 {p95[name]:.2f} ms")
    for kind, medians in search["p50_by_kind_ms"].items():
        sqlite, server = medians["sqlite_reader"], medians["postgresql"]
        print(f"    {kind}: p50 SQLite {sqlite:.2f} ms, PostgreSQL {server:.2f} ms")
    print(
        f"ratio search p95 PostgreSQL / SQLite: {search['ratio']:.2f} (target <= {TARGET_RATIO:g}; "
        f"{search['ratio_same_api']:.2f} against SQLite's Library.search_rows)"
    )
    upkeep = search["index_upkeep"]
    batch, tag = upkeep["batch_ms"], upkeep["tag_ms"]
    print(
        f"search index upkeep on the server (median, rolled back): {upkeep['files']} new files' documents "
        f"{batch['with_word_index']:.0f} ms ({batch['without']:.0f} ms without the word index), a tag added "
        f"to a file {tag['with_word_index']:.1f} ms ({tag['without']:.1f} ms without)"
    )
    cold = rescan["cold_scan_s"]
    print(
        f"rescan library: {rescan['files']} files; cold scans SQLite {cold['sqlite']} s, "
        f"PostgreSQL {cold['postgresql']} s"
    )
    seconds = rescan["rescan_s"]
    print(
        f"ratio unchanged rescan PostgreSQL / SQLite: {rescan['ratio']:.2f} (target <= {TARGET_RATIO:g}; "
        f"{seconds['postgresql']} s vs {seconds['sqlite']} s, best of 3)"
    )
    print(
        f"concurrent edits: {edits['clients']} clients x {edits['edits_per_client']} edits on "
        f"{edits['assets']} shared assets in {edits['seconds']} s ({edits['edits_per_s']} edits/s); "
        f"errors = {len(edits['errors'])}; lost = {edits['lost']} (target 0)"
    )
    for error in edits["errors"]:
        print(f"  {error}")
    print(f"load average: {figures['loadavg']}")


if __name__ == "__main__":
    main()
