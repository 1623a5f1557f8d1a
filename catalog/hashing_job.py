"""Background hashing of cataloged files that have no hashes yet.

Hashes are expensive (a 6 GB checkpoint takes seconds), so the scan records files at once and this job
fills in SHA256/BLAKE3/CRC32/AutoV1-3 afterwards, smallest files first so most of a library becomes
searchable by hash quickly. Files are hashed in rounds of one per worker; right before each round the
rows are read again, and a file another machine sharing the catalog hashed meanwhile is left alone (two
machines scanning one store at once each hash about half of its new files, not all of them twice).
A file that changed between the scan and the hash is skipped (the next scan
sees the change and queues it again); a file stored under a missing row's hash is a move, merged by the
library.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.library import Library
from core.hash_workers import DEFAULT_WORKERS
from core.hashing import hash_files
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress

# A round of hashing holds at least this many bytes (and one file per worker): see _rounds.
ROUND_BYTES = 64 * 2**20


@dataclass
class HashSummary:
    hashed: int = 0
    moved: int = 0
    skipped: int = 0
    elsewhere: int = 0  # hashed by another machine (or process) sharing the catalog since the job began
    failed: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    cancelled: bool = False
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not (self.hashed or self.failed or self.skipped or self.elsewhere or self.cancelled):
            return "Every file is already hashed"
        verb = "Hashing cancelled after" if self.cancelled else "Hashed"
        rate = self.bytes / self.elapsed_s / 2**20 if self.elapsed_s > 0 else 0.0
        extra = [
            f"{n} {label}"
            for n, label in (
                (self.moved, "recognised as moved"),
                (self.skipped, "changed meanwhile"),
                (self.elsewhere, "hashed by another machine meanwhile"),
                (self.failed, "unreadable"),
            )
            if n
        ]
        tail = f" ({', '.join(extra)})" if extra else ""
        files = "file" if self.hashed == 1 else "files"
        return f"{verb} {self.hashed} {files}, {self.bytes / 2**30:.2f} GiB at {rate:.0f} MiB/s{tail}"


def hash_pending(
    library: Library,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    limit: int | None = None,
    asset_ids: Collection[int] | None = None,
    round_bytes: int = ROUND_BYTES,
) -> HashSummary:
    """Hash every ok file without hashes (only those of ``asset_ids`` when given: a selection about to
    be looked up); safe to cancel at any point (finished files are kept). ``round_bytes``: see
    :func:`_rounds`."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    summary = HashSummary()
    pending = library.unhashed(limit if asset_ids is None else None)
    if asset_ids is not None:
        wanted = set(asset_ids)
        pending = [item for item in pending if item[0] in wanted]
    if not pending:
        return summary
    # Diffusers folders are assets too, but Civitai's hashes are per file: they are not hashed here.
    by_path = {Path(p): (asset_id, size) for asset_id, p, size in pending if not Path(p).is_dir()}
    pending = [item for item in pending if Path(item[1]) in by_path]
    total_bytes = sum(size for _, _, size in pending)
    done_before = 0  # bytes of the rounds finished (hashed here or elsewhere)

    def report(p: Progress) -> None:
        progress(
            Progress(
                done_before + p.done, total_bytes, f"Hashing {summary.hashed + 1} of {len(pending)} files"
            )
        )

    try:
        for round_paths in _rounds(list(by_path), by_path, workers, round_bytes):
            # Right before each round: a machine sharing the catalog may have hashed some meanwhile.
            still = library.still_unhashed([by_path[path][0] for path in round_paths])
            summary.elsewhere += sum(by_path[path][0] not in still for path in round_paths)
            for path, result in hash_files(
                [path for path in round_paths if by_path[path][0] in still],
                workers=workers,
                progress=report,
                cancel=cancel,
            ):
                asset_id, expected_size = by_path[path]
                if isinstance(result, OSError):
                    summary.failed += 1
                    summary.problems.append(f"{path}: {result.strerror or result}")
                    continue
                if not _still_same_size(path, expected_size):
                    summary.skipped += 1
                    continue
                surviving_id = library.set_hashes(asset_id, result)
                summary.moved += surviving_id != asset_id
                summary.hashed += 1
                summary.bytes += expected_size
            done_before += sum(by_path[path][1] for path in round_paths)
    except CancelledError:
        summary.cancelled = True
    summary.elapsed_s = time.perf_counter() - started
    progress(Progress(summary.bytes, total_bytes, str(summary)))
    return summary


def _rounds(
    paths: list[Path], by_path: dict[Path, tuple[int, int]], workers: int, round_bytes: int
) -> Iterator[list[Path]]:
    """``paths`` (smallest first) in rounds of at least one file per worker and ``round_bytes``: small
    enough that a round's rows are read again shortly before each of its files is hashed, large enough
    that a library of small files is not one query and one thread pool per file."""
    current: list[Path] = []
    size = 0
    for path in paths:
        current.append(path)
        size += by_path[path][1]
        if len(current) >= workers and size >= round_bytes:
            yield current
            current, size = [], 0
    if current:
        yield current


def _still_same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False
