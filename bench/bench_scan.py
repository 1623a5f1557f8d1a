"""Benchmark: cold scan of a generated library, and an unchanged rescan at 1k / 10k / 100k files.

1. **Cold scan** (files the catalog has never seen, on a warm page cache) of a ``--files`` library
   (default 10,000; ``bench.library_generator``'s real layouts and headers; its LoRAs vary rank, module
   set and dtype as a real library's do, and the number of distinct tensor tables, which a scan
   validates once each, is printed). Baseline measured in the
   same run: the bare minimum any scanner must do, walk the tree and read every file's safetensors
   header bytes (no parsing, no database). Targets (issue 11): >= 3,000 files/s, and >= 0.1 of the
   baseline's files/s. Both ratios are printed; >= 1 means met.
2. **Unchanged rescan** of libraries of each ``--sizes`` (default 1,000, 10,000 and 100,000 files):
   in process (``Scanner.scan``; target <= 0.2 s for 10,000 files) and as a command
   (``python main.py scan --no-hash`` in a fresh process, start-up included; target <= 0.5 s for 10,000
   files). The in-process target scales linearly with the size, so every size prints "time / target"
   (<= 1 is met) and microseconds per file, which must stay flat from 1k to 100k (linear growth); the
   command's target is for 10,000 files. ``python -c pass`` is measured in the same run as the floor of
   any command. Commands run with Python writing its bytecode cache, as on a user's machine
   (``bench.user_env``).

CPU seconds are printed beside the wall times (the cold scan's include its worker processes): on a
shared, loaded machine they show what the scan costs when the wall clock mostly shows the queue.

Generation is cheap: a few hundred files are really generated (``generate_library``), the cold library
copies their headers into sparse files of the same size, and the rescan libraries are hard links to
the cold library's files (a rescan never opens a file; each link is its own catalog row). A rescan
library is cataloged by a real scan whose reader reads each distinct file once (its links have the
same bytes: :func:`examine_once`), so the 100,000-file point costs ten thousand reads, not 100,000.

``--compare PATH`` also runs the rescan command of another checkout (a ``git worktree`` of an older
commit) on the same catalog, interleaved with this one's, and prints its time and the new/old ratio;
the commands' CPU seconds are printed too (what they cost on a quiet machine, when a busy one queues).

    python -m bench.bench_scan [--files 10000] [--sizes 1000,10000,100000] [--compare PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.user_env import user_env  # the standard library only

if TYPE_CHECKING:
    from catalog.examine import FoundFile
    from catalog.library import Library
    from catalog.records import ScannedFile

# This module imports only the standard library at the top: the scan's worker processes ("spawn")
# import the main module again, and SQLAlchemy, numpy and the generator there would cost each worker
# a second of start-up that no real scan pays (``main.py``, the real main module, imports nothing).

TARGET_FILES_PER_S = 3000.0
TARGET_VS_BARE_READS = 0.1
TARGET_RESCAN_S_PER_10K = 0.2
TARGET_COMMAND_S_PER_10K = 0.5
TEMPLATES = 400  # files really generated; the rest copy their headers
MAIN = Path(__file__).resolve().parents[1] / "main.py"


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


def distinct_tables(templates: list[Path]) -> tuple[int, int]:
    """How many distinct tensor tables (headers without ``__metadata__``) the library holds: (all, LoRAs).

    The copies repeat the templates' headers, so the templates hold every table of the library.
    """
    tables: set[tuple[str, bool]] = set()
    for template in templates:
        with template.open("rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(length))
        header.pop("__metadata__", None)
        tables.add((json.dumps(header, sort_keys=True), "-lora-" in template.name))
    return len(tables), sum(1 for _, lora in tables if lora)


def copy_library(templates: list[Path], source_root: Path, root: Path, count: int) -> list[Path]:
    """``count`` distinct files under ``root``: each a template's header bytes, sparse to its full size.

    Template ``i % len`` is copied into the same relative folder under a new name, so the mix of kinds,
    header sizes and folders is the generator's.
    """
    heads: list[tuple[Path, bytes, int]] = []
    for template in templates:
        with template.open("rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            fh.seek(0)
            head = fh.read(8 + length)
        heads.append((template.relative_to(source_root), head, template.stat().st_size))
    (root / "webui.py").parent.mkdir(parents=True, exist_ok=True)
    (root / "webui.py").write_text("# marker of an A1111 install\n")
    made: set[Path] = set()
    paths: list[Path] = []
    for index in range(count):
        relative, head, size = heads[index % len(heads)]
        folder = root / relative.parent
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        kind = relative.stem.rsplit("-", 1)[0]
        path = folder / f"{kind}-{index:06d}.safetensors"
        with path.open("wb") as fh:
            fh.write(head)
            fh.truncate(size)
        paths.append(path)
    return paths


def link_library(files: list[Path], source_root: Path, root: Path, count: int) -> None:
    """``count`` hard links under ``root`` to ``files`` (cycled; a set folder per round)."""
    (root / "webui.py").parent.mkdir(parents=True, exist_ok=True)
    (root / "webui.py").write_text("# marker of an A1111 install\n")
    made: set[Path] = set()
    for index in range(count):
        source = files[index % len(files)]
        relative = source.relative_to(source_root)
        folder = root / relative.parent / f"set{index // len(files):02d}"
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        os.link(source, folder / relative.name)


_READ: dict[tuple[int, int], ScannedFile] = {}


def examine_once(found: FoundFile) -> ScannedFile:
    """``examine``, read once per (device, inode): a hard link's finding is its source's, at its path."""
    from catalog.examine import examine

    key = (found.device, found.inode)
    if key not in _READ:
        _READ[key] = examine(found)
    return replace(_READ[key], path=str(found.path))


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def cpu_seconds() -> float:
    """CPU time of this process and of its workers: under load, what a scan costs stays readable when
    its wall time does not.

    Spawned workers are this process's children (``RUSAGE_CHILDREN`` once waited for); workers forked
    by the fork server are its children, so its own time and its waited-for children's are added.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime + _fork_server_cpu_seconds()


def _fork_server_cpu_seconds() -> float:
    """The fork server's CPU time and its exited workers' (Linux ``/proc``); 0 without one."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, so utime, stime, cutime, cstime (14-17) are [11:15].
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def command_seconds(argv: list[str], repeats: int = 3) -> float:
    """The fastest of ``repeats`` runs of ``argv`` as a fresh process (its start-up included)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, check=True, env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def command_cpu_seconds(argvs: dict[str, list[str]], repeats: int = 3) -> dict[str, tuple[float, float]]:
    """(fastest wall, fastest CPU) seconds of each command line, run in turns so load weighs alike."""
    best = {name: (float("inf"), float("inf")) for name in argvs}
    for _ in range(repeats):
        for name, argv in argvs.items():
            cpu = cpu_seconds()
            started = time.perf_counter()
            subprocess.run(
                argv, check=True, env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            wall, used = time.perf_counter() - started, cpu_seconds() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], used))
    return best


def rescan_figures(
    size: int, root: Path, data_dir: Path, library: Library, compare: Path | None = None
) -> dict[str, Any]:
    """Unchanged rescans of the cataloged ``root``: in process (best of 3) and as a command (this
    checkout's, and ``compare``'s when given, in turns)."""
    from catalog.scanner import Scanner

    record = next(r for r in library.roots() if Path(r.path) == root)
    best = best_cpu = float("inf")
    unchanged = 0
    for _ in range(3):
        cpu = time.process_time()
        seconds, summary = timed(lambda: Scanner(library).scan([record.id]))
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best = min(best, seconds)
        unchanged = summary.unchanged
    library.close()
    arguments = ["scan", "--no-hash", "--data-dir", str(data_dir)]
    commands = {"new": [sys.executable, str(MAIN), *arguments]}
    if compare is not None:
        commands["old"] = [sys.executable, str(compare / "main.py"), *arguments]
    timings = command_cpu_seconds(commands)
    command_s, command_cpu_s = timings["new"]
    scale = size / 10_000
    old = (
        {"old_command_s": round(timings["old"][0], 3), "old_command_cpu_s": round(timings["old"][1], 3)}
        if "old" in timings
        else {}
    )
    return {  # the command's target is for 10,000 files (start-up does not scale with the size)
        "command_cpu_s": round(command_cpu_s, 3),
        **old,
        "files": size,
        "unchanged": unchanged,
        "in_process_s": round(best, 3),
        "in_process_vs_target": round(best / (TARGET_RESCAN_S_PER_10K * scale), 2),
        "command_s": round(command_s, 3),
        "command_vs_target": round(command_s / TARGET_COMMAND_S_PER_10K, 2) if size == 10_000 else None,
        "in_process_us_per_file": round(best / size * 1e6, 1),
        "in_process_cpu_s": round(best_cpu, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000, help="files in the cold-scan library")
    parser.add_argument("--sizes", default="1000,10000,100000", help="library sizes for the rescans")
    parser.add_argument("--compare", type=Path, help="another checkout whose rescan command is timed too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from bench.library_generator import generate_library
    from catalog.library import Library
    from catalog.records import AssetQuery
    from catalog.scanner import Scanner
    from core.taxonomy import LibraryLayout

    sizes = [int(size) for size in args.sizes.split(",") if size]

    with tempfile.TemporaryDirectory(prefix="atelier-bench-scan-") as tmp_name:
        tmp = Path(tmp_name)
        generate_s, templates = timed(lambda: generate_library(tmp / "templates", min(TEMPLATES, args.files)))
        root = tmp / "cold" / "stable-diffusion-webui"
        copy_s, files = timed(lambda: copy_library(templates, tmp / "templates", root, args.files))
        tables, lora_tables = distinct_tables(templates)

        # Flush the freshly written files and read them once, so the baseline and the scan both run on
        # a warm page cache: "cold" here means files the catalog has never seen, not a cold disk.
        os.sync()
        bare_header_reads(root)
        baseline_s, read = timed(lambda: bare_header_reads(root))

        data_dir = tmp / "cold" / "data"
        library = Library.open(data_dir / "catalog.sqlite3")
        record = library.add_root(root, LibraryLayout.A1111)
        cpu, main_cpu = cpu_seconds(), time.process_time()
        cold_s, cold = timed(lambda: Scanner(library).scan([record.id]))
        cold_cpu_s, cold_main_cpu_s = cpu_seconds() - cpu, time.process_time() - main_cpu
        cataloged = library.count(AssetQuery())

        python_pass_s = command_seconds([sys.executable, "-c", "pass"])
        rescans = []
        open_library: Library | None = library
        for size in sizes:
            if size == args.files and open_library is not None:
                rescans.append(rescan_figures(size, root, data_dir, library, args.compare))
                open_library = None
                continue
            size_root = tmp / f"rescan-{size}" / "stable-diffusion-webui"
            size_data = tmp / f"rescan-{size}" / "data"
            link_library(files, root, size_root, size)
            size_library = Library.open(size_data / "catalog.sqlite3")
            size_record = size_library.add_root(size_root, LibraryLayout.A1111)
            # Cataloged (every row written by the scan), so that the rescans below find it unchanged.
            Scanner(size_library, workers=1, examine_file=examine_once).scan([size_record.id])
            rescans.append(rescan_figures(size, size_root, size_data, size_library, args.compare))
        if open_library is not None:
            open_library.close()

    files_per_s = cold.seen / cold_s
    baseline_files_per_s = read / baseline_s
    result = {
        "files": cold.seen,
        "cataloged": cataloged,
        "generate_s": round(generate_s + copy_s, 2),
        "distinct_tables": tables,
        "distinct_lora_tables": lora_tables,
        "baseline_header_reads_s": round(baseline_s, 3),
        "baseline_files_per_s": round(baseline_files_per_s, 1),
        "cold_scan_s": round(cold_s, 3),
        "cold_files_per_s": round(files_per_s, 1),
        "cold_vs_target": round(files_per_s / TARGET_FILES_PER_S, 2),
        "cold_cpu_us_per_file": round(cold_cpu_s / cold.seen * 1e6),
        "cold_main_cpu_us_per_file": round(cold_main_cpu_s / cold.seen * 1e6),
        "cold_workers_cpu_us_per_file": round((cold_cpu_s - cold_main_cpu_s) / cold.seen * 1e6),
        "cold_vs_bare_reads": round(files_per_s / baseline_files_per_s, 3),
        "cold_vs_bare_reads_target": round(files_per_s / baseline_files_per_s / TARGET_VS_BARE_READS, 2),
        "python_pass_s": round(python_pass_s, 3),
        "rescans": rescans,
        "loadavg": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    _print(result)


def _print(result: dict[str, Any]) -> None:
    print(f"generated {result['files']} files in {result['generate_s']} s (load {result['loadavg']:.2f})")
    print(
        f"  {result['distinct_tables']} distinct tensor tables (headers without metadata), "
        f"{result['distinct_lora_tables']} of them LoRAs'"
    )
    print(
        f"cold scan: {result['cold_files_per_s']} files/s ({result['cold_scan_s']} s); "
        f"target >= {TARGET_FILES_PER_S:.0f} files/s: ratio {result['cold_vs_target']}"
    )
    print(
        f"  CPU (this process and its workers): {result['cold_cpu_us_per_file']} us per file "
        f"(main process {result['cold_main_cpu_us_per_file']}, "
        f"workers {result['cold_workers_cpu_us_per_file']}, start-up included)"
    )
    print(
        f"  baseline (walk + read headers only): {result['baseline_files_per_s']} files/s; "
        f"scan / baseline = {result['cold_vs_bare_reads']}, "
        f"target >= {TARGET_VS_BARE_READS}: ratio {result['cold_vs_bare_reads_target']}"
    )
    print(f"unchanged rescan (python -c pass: {result['python_pass_s']} s):")
    for row in result["rescans"]:
        scale = row["files"] / 10_000
        print(
            f"  {row['files']:>7} files: in process {row['in_process_s']} s "
            f"({row['in_process_us_per_file']} us/file; target <= {TARGET_RESCAN_S_PER_10K * scale:g} s: "
            f"ratio {row['in_process_vs_target']}; CPU {row['in_process_cpu_s']} s), "
            f"as a command {row['command_s']} s"
            + (
                f" (target <= {TARGET_COMMAND_S_PER_10K:g} s: ratio {row['command_vs_target']})"
                if row["command_vs_target"] is not None
                else ""
            )
            + f", CPU {row['command_cpu_s']} s"
        )
        if "old_command_s" in row:
            print(
                f"           old checkout as a command {row['old_command_s']} s, "
                f"CPU {row['old_command_cpu_s']} s;"
                f" new/old {row['command_s'] / row['old_command_s']:.2f} wall,"
                f" {row['command_cpu_s'] / row['old_command_cpu_s']:.2f} CPU"
            )


if __name__ == "__main__":
    main()
