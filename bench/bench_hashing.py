"""Benchmark: all hashes of a large file against a plain sequential read of the same file.

Run as ``python -m bench.bench_hashing [--size-mib 2048] [--kind both] [--cold] [--json]``.

The question it answers is whether hashing is held back by Atelier's code or only by the hash functions:
``ratio = throughput(hash_file) / throughput(plain read) = t_read / t_hash``. Two files are measured, because
they cost differently: a raw file gets SHA-256, BLAKE3 and CRC32 (one SHA-256 stream); a safetensors file
also gets AutoV3, a second SHA-256 stream over the data section.

Both timings are taken in the same page-cache state so that neither side is favoured. By default that is
warm (after one warm-up read): it isolates CPU cost, but a memory-speed read is far faster than any
SHA-256, so the warm ratio shows how close hashing gets to the hash functions' own speed rather than to
the disk. ``--cold`` evicts the file from the page cache before each timed run (``posix_fadvise
DONTNEED``, no root needed, Linux only) and measures what a user scanning a disk experiences. Also printed:
SHA-256 alone over the in-memory data, the ceiling no implementation of these hashes can pass.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.hashing import CRC32_IMPLEMENTATION, hash_file

MIB = 1 << 20
BLOCK_MIB = 64
READ_CHUNK = 8 * MIB
TARGET_RATIO = 0.9


def write_test_file(path: Path, size_mib: int, *, safetensors: bool) -> None:
    """Write ``size_mib`` MiB of incompressible data fast: one random 64 MiB block, repeated.

    With ``safetensors`` the file is framed as a real one (u64 header length, JSON header padded to 8
    bytes, data section), so AutoV3 is computed as it would be for a checkpoint.
    """
    block = os.urandom(min(size_mib, BLOCK_MIB) * MIB)
    with path.open("wb") as out:
        if safetensors:
            data_len = size_mib * MIB
            header = json.dumps(
                {"weight": {"dtype": "U8", "shape": [data_len], "data_offsets": [0, data_len]}}
            ).encode()
            header += b" " * (-len(header) % 8)
            out.write(struct.pack("<Q", len(header)) + header)
        remaining = size_mib * MIB
        while remaining:
            n = min(remaining, len(block))
            out.write(memoryview(block)[:n])
            remaining -= n
        out.flush()
        os.fsync(out.fileno())


def plain_read(path: Path) -> None:
    """The baseline: read the file once into one reused 8 MiB buffer and do nothing with it."""
    buffer = bytearray(READ_CHUNK)
    with path.open("rb", buffering=0) as fileobj:
        while fileobj.readinto(buffer):
            pass


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache so that the next read comes from the disk."""
    with path.open("rb") as fileobj:
        os.posix_fadvise(fileobj.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def best_times(
    actions: dict[str, Callable[[], object]], *, before: Callable[[], None], repeats: int
) -> dict[str, float]:
    """Best wall-clock time of each action over ``repeats`` rounds, the actions interleaved in each round.

    Interleaving matters on shared or cloud disks whose speed drifts: both sides then see the same drift.
    The best run is the least disturbed one, so it is the one that measures the code.
    """
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(repeats):
        for name, action in actions.items():
            before()
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def sha256_ceiling_gib_s(repeats: int = 3) -> float:
    """SHA-256 throughput on data already in memory (best of ``repeats``): no file can hash faster."""
    data = memoryview(os.urandom(256 * MIB))

    def run() -> None:
        digest = hashlib.sha256()
        for offset in range(0, len(data), READ_CHUNK):
            digest.update(data[offset : offset + READ_CHUNK])

    best = best_times({"sha256": run}, before=lambda: None, repeats=repeats)["sha256"]
    return 0.25 / best


def measure(path: Path, size_mib: int, *, cold: bool, repeats: int) -> dict[str, float]:
    def noop() -> None:
        pass

    if cold:
        before: Callable[[], None] = lambda: evict(path)  # noqa: E731 - a one-line hook
    else:
        before = noop
        plain_read(path)  # the warm-up read: both timed sides then find the file in the page cache
    best = best_times(
        {"read": lambda: plain_read(path), "hash": lambda: hash_file(path)}, before=before, repeats=repeats
    )
    t_read, t_hash = best["read"], best["hash"]
    return {
        "hash_s": round(t_hash, 3),
        "read_s": round(t_read, 3),
        "hash_gib_s": round(size_mib / 1024 / t_hash, 3),
        "read_gib_s": round(size_mib / 1024 / t_read, 3),
        "ratio": round(t_read / t_hash, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=2048, help="size of the test file (default 2048)")
    parser.add_argument(
        "--kind",
        choices=("raw", "safetensors", "both"),
        default="both",
        help="raw: SHA-256+BLAKE3+CRC32; safetensors: also AutoV3 (a second SHA-256 stream)",
    )
    parser.add_argument("--cold", action="store_true", help="also time reads from disk (Linux only)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement; best is kept")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the test file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    if args.cold and not hasattr(os, "posix_fadvise"):
        parser.error("--cold needs posix_fadvise (Linux)")

    kinds = ("raw", "safetensors") if args.kind == "both" else (args.kind,)
    states = ("warm", "cold") if args.cold else ("warm",)
    ceiling = sha256_ceiling_gib_s()
    report: dict[str, object] = {
        "size_mib": args.size_mib,
        "cpus": os.cpu_count(),
        "crc32_impl": CRC32_IMPLEMENTATION,
        "sha256_ceiling_gib_s": round(ceiling, 3),
        "target_ratio": TARGET_RATIO,
        "results": {},
    }
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="atelier-bench-", dir=args.dir) as tmp:
        for kind in kinds:
            path = Path(tmp) / f"bench-{kind}.bin"
            write_test_file(path, args.size_mib, safetensors=kind == "safetensors")
            if hasattr(os, "posix_fadvise"):
                # Pages fresh from a write can sit in the cache in a form that reads back several times
                # faster than pages brought in by a read; start from the state a user's file is in.
                evict(path)
            for state in states:
                result = measure(path, args.size_mib, cold=state == "cold", repeats=args.repeats)
                # How close hashing gets to SHA-256's own speed: 1.0 means no overhead at all.
                result["hash_vs_sha256"] = round(result["hash_gib_s"] / ceiling, 3)
                results[f"{kind}/{state}"] = result
            path.unlink()
    report["results"] = results

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"cpus: {report['cpus']}; crc32: {report['crc32_impl']}; "
        f"SHA-256 alone in memory: {report['sha256_ceiling_gib_s']:.2f} GiB/s"
    )
    for key, r in results.items():
        print(
            f"hashing ({key}): all hashes {args.size_mib} MiB: {r['hash_s']:.2f} s; "
            f"plain read: {r['read_s']:.2f} s; ratio read/hash = {r['ratio']:.2f} (target >= {TARGET_RATIO})"
            f"; {r['hash_gib_s']:.2f} GiB/s = {r['hash_vs_sha256']:.2f}x SHA-256 alone"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
