"""Background hashing of cataloged files that have no hashes yet.

Hashes are expensive (a 6 GB checkpoint takes seconds), so the scan records files at once and this job
fills in SHA256/BLAKE3/CRC32/AutoV1-3 afterwards, smallest files first so most of a library becomes
searchable by hash quickly. A file that changed between the scan and the hash is skipped (the next scan
sees the change and queues it again); a file stored under a missing row's hash is a move, merged by the
library.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from catalog.library import Library
from core.hash_workers import DEFAULT_WORKERS
from core.hashing import hash_files
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress


@dataclass
class HashSummary:
    hashed: int = 0
    moved: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    cancelled: bool = False
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not (self.hashed or self.failed or self.skipped or self.cancelled):
            return "Every file is already hashed"
        verb = "Hashing cancelled after" if self.cancelled else "Hashed"
        rate = self.bytes / self.elapsed_s / 2**20 if self.elapsed_s > 0 else 0.0
        extra = [
            f"{n} {label}"
            for n, label in (
                (self.moved, "recognised as moved"),
                (self.skipped, "changed meanwhile"),
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
) -> HashSummary:
    """Hash every ok file without hashes (only those of ``asset_ids`` when given: a selection about to
    be looked up); safe to cancel at any point (finished files are kept)."""
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

    def report(p: Progress) -> None:
        progress(Progress(p.done, total_bytes, f"Hashing {summary.hashed + 1} of {len(pending)} files"))

    try:
        for path, result in hash_files(list(by_path), workers=workers, progress=report, cancel=cancel):
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
    except CancelledError:
        summary.cancelled = True
    summary.elapsed_s = time.perf_counter() - started
    progress(Progress(summary.bytes, total_bytes, str(summary)))
    return summary


def _still_same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False
