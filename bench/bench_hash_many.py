"""Benchmark: hashing a library of many files with the hashing job's engine against one SHA-256 stream.

Run as ``python -m bench.bench_hash_many [--files 12] [--workers N] [--repeats 3]``.

The question it answers is whether hashing a library uses more than one core. ``core.hashing.hash_files``
(the engine of ``catalog.hashing_job``: it yields each file's hashes, the job writes them to the catalog)
hashes several files at once in threads, each file with every hash (SHA-256, BLAKE3, CRC32, AutoV1, and
AutoV3, a second SHA-256 stream, for safetensors files). The baseline is one SHA-256 stream over the same
bytes, file after file, on one core: the least work any tool doing Civitai's hashes must do.

``ratio = t_one_sha256_stream / t_job`` (target > 1 on 2 cores: the job does more than one stream's work
and still finishes first, so it uses more than one core). Also printed: the job with one file at a time
(``workers=1``), which shows what the files-at-once part adds. The files are a LoRA/embedding/checkpoint
mix (0.25 to 144 MiB, half of them safetensors); all timings are warm (after one read of every file), so
the comparison is of CPU work, not of the disk. Best of ``--repeats``, the sides interleaved in each round.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.hashing import hash_files

MIB = 1 << 20
READ_CHUNK = 8 * MIB
# A library's mix: embeddings, small and large LoRAs, a pruned checkpoint's worth.
SIZES_KIB = (256, 4 * 1024, 18 * 1024, 36 * 1024, 72 * 1024, 144 * 1024)
TARGET_RATIO = 1.0


def write_library(folder: Path, files: int) -> list[Path]:
    """``files`` files of incompressible data, cycling through ``SIZES_KIB``; every other one framed as a
    safetensors file (so AutoV3's second SHA-256 stream runs on it, as on a real LoRA)."""
    block = os.urandom(16 * MIB)
    paths: list[Path] = []
    for index in range(files):
        size = SIZES_KIB[index % len(SIZES_KIB)] * 1024
        safetensors = index % 2 == 0
        path = folder / f"model-{index:03d}.{'safetensors' if safetensors else 'bin'}"
        with path.open("wb") as out:
            if safetensors:
                header = json.dumps(
                    {"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}
                ).encode()
                header += b" " * (-len(header) % 8)
                out.write(struct.pack("<Q", len(header)) + header)
            left = size
            while left:
                n = min(left, len(block))
                out.write(memoryview(block)[:n])
                left -= n
        paths.append(path)
    return paths


def one_sha256_stream(paths: list[Path]) -> None:
    """The baseline: every file's bytes through one SHA-256 each, one file after another, one thread."""
    buffer = bytearray(READ_CHUNK)
    view = memoryview(buffer)
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb", buffering=0) as file:
            while n := file.readinto(buffer):
                digest.update(view[:n])
        digest.hexdigest()


def job(paths: list[Path], workers: int) -> None:
    results = list(hash_files(paths, workers=workers))
    failed = [path for path, outcome in results if isinstance(outcome, OSError)]
    if len(results) != len(paths) or failed:
        raise RuntimeError(f"the job did not hash every file: {failed}")


def best_times(
    actions: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Best wall-clock time of each action, the actions interleaved so drifting load hits all alike, and
    the cores it kept busy in that run (this process's CPU seconds / wall seconds)."""
    best = dict.fromkeys(actions, float("inf"))
    cores = dict.fromkeys(actions, 0.0)
    for _ in range(repeats):
        for name, action in actions.items():
            cpu = _cpu_s()
            start = time.perf_counter()
            action()
            elapsed = time.perf_counter() - start
            if elapsed < best[name]:
                best[name], cores[name] = elapsed, (_cpu_s() - cpu) / elapsed
    return best, cores


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=12, help="how many files (default 12: about 550 MiB)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="files at once (default: cores)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; the best of each side counts")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="atelier-bench-hash-many-", dir=args.dir) as tmp:
        paths = write_library(Path(tmp), args.files)
        total = sum(p.stat().st_size for p in paths)
        one_sha256_stream(paths)  # warm-up: every side then finds the files in the page cache
        best, cores = best_times(
            {
                "sha256": lambda: one_sha256_stream(paths),
                "job": lambda: job(paths, args.workers),
                "job1": lambda: job(paths, 1),
            },
            args.repeats,
        )
    gib = total / (1 << 30)
    print(f"cpus: {os.cpu_count()}; {args.files} files, {total / MIB:.0f} MiB; load {_load()}")
    for key, label in (
        ("sha256", "one SHA-256 stream, one thread"),
        ("job1", "job, every hash, 1 file at a time"),
        ("job", f"job, every hash, {args.workers} files at a time"),
    ):
        print(
            f"{label + ':':40s} {best[key]:.2f} s, {gib / best[key]:.2f} GiB/s, {cores[key]:.2f} cores busy"
        )
    ratio = best["sha256"] / best["job"]
    verdict = "OK: more than one core at work" if ratio > TARGET_RATIO else "below target"
    print(f"ratio one_sha256_stream / job = {ratio:.2f} (target > {TARGET_RATIO:.0f}: {verdict})")
    print(f"ratio one_sha256_stream / job at 1 file at a time = {best['sha256'] / best['job1']:.2f}")
    return 0


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
