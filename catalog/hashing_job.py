"""Background hashing of cataloged files that have no hashes yet.

Hashes are expensive (a 6 GB checkpoint takes seconds), so the scan records files at once and this job
fills in SHA256/BLAKE3/CRC32/AutoV1-3 afterwards, smallest files first so most of a library becomes
searchable by hash quickly. Files are hashed in rounds of one per worker; right before each round the job
claims the round's files still to hash (:mod:`catalog.hash_claims`) and leaves alone those another job
holds or has hashed meanwhile: two machines scanning one store at once each hash about half of its new
files, not all of them twice. At the end the files other jobs held are looked at again: those still
unhashed whose claim expired (a job that was killed; on this machine, at once: ``catalog.hash_claims``)
are hashed here; those still claimed are left to the job hashing them.

A file that is not the one cataloged (changed between the scan and the hash: another size or time; or
another file at that place, where a machine maps a shared folder to an old copy) is skipped (the next scan
sees the change and queues it again); a file stored under a missing row's hash is a move, merged by the
library. A file identical to one already linked to Civitai gets the same link there and then
(:mod:`catalog.twin_links`): no lookup is needed to know what a copy is.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.errors import CatalogError
from catalog.library import Library
from catalog.stat_match import same_mtime
from catalog.twin_links import link_like_twins
from core.hash_workers import DEFAULT_WORKERS
from core.hashing import hash_files
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.sizes import human_size

# A round of hashing holds at least this many bytes (and one file per worker): see _rounds.
ROUND_BYTES = 64 * 2**20
# A claim on a round's files holds this long, plus the time to read them at CLAIM_RATE bytes a second.
CLAIM_MIN_S = 120
CLAIM_RATE = 20 * 2**20


@dataclass
class HashSummary:
    hashed: int = 0
    moved: int = 0
    linked: int = 0  # copies of a linked file, given its Civitai link on the spot (catalog.twin_links)
    skipped: int = 0
    elsewhere: int = 0  # hashed by another Atelier (a process here or another machine) since the job began
    claimed: int = 0  # being hashed by another job (a window, a command, another machine): left to it
    gone: int = 0  # not found where the catalog lists them (deleted since the scan, or a share not here)
    failed: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    cancelled: bool = False
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        counts = (self.hashed, self.failed, self.skipped, self.gone, self.elsewhere, self.claimed)
        if not (any(counts) or self.cancelled):
            return "Every file is already hashed"
        verb = "Hashing cancelled after" if self.cancelled else "Hashed"
        extra = [
            f"{n} {label}"
            for n, label in (
                (self.moved, "recognised as moved"),
                (self.linked, "linked like an identical file"),
                (self.skipped, "changed meanwhile"),
                (self.gone, "not found"),
                (self.elsewhere, "hashed by another Atelier meanwhile"),
                (self.claimed, "being hashed by another Atelier"),
                (self.failed, "unreadable"),
            )
            if n
        ]
        tail = f" ({', '.join(extra)})" if extra else ""
        files = "file" if self.hashed == 1 else "files"
        return f"{verb} {self.hashed} {files}{self._amount()}{tail}"

    def _amount(self) -> str:
        """``, 18.0 KiB at 2.1 MiB/s``: in the unit that fits (a few small files are not "0.00 GiB at 0
        MiB/s"); nothing when nothing was read."""
        if not self.bytes:
            return ""
        rate = f" at {human_size(self.bytes / self.elapsed_s)}/s" if self.elapsed_s > 0 else ""
        return f", {human_size(self.bytes)}{rate}"


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
        on_file = min(summary.hashed + 1, len(pending))  # the file being read; the bar counts bytes
        done = done_before + p.done
        # Both counts, each named: "file 22 of 34 (0%)" read as a contradiction when the file count ran
        # ahead of the bytes (small files first). Rounded down like the bar: 100% only when done.
        percent = min(100, done * 100 // total_bytes) if total_bytes else 0
        said = f"Hashing file {on_file} of {len(pending)} · {percent}% of {human_size(total_bytes)}"
        progress(Progress(done, total_bytes, said))

    job = uuid.uuid4().hex  # its claims' owner; its lock tells this machine's next job it is alive
    held_elsewhere: list[Path] = []  # files another job had claimed when their round came

    def hash_round(claimed: dict[int, int], paths: list[Path]) -> None:
        """Hash the ``claimed`` files of ``paths``: each only while it is the file cataloged."""
        same: list[Path] = []
        for path in paths:
            asset_id, size = by_path[path]
            if asset_id not in claimed:
                continue
            found = _cataloged(path, size, claimed[asset_id])
            summary.gone += found is None
            summary.skipped += found is False
            if found:
                same.append(path)
        for path, result in hash_files(same, workers=workers, progress=report, cancel=cancel):
            asset_id, expected_size = by_path[path]
            if isinstance(result, OSError):
                summary.failed += 1
                summary.problems.append(f"{path}: {result.strerror or result}")
                continue
            if not _cataloged(path, expected_size, claimed[asset_id]):
                summary.skipped += 1
                continue
            surviving_id = library.set_hashes(asset_id, result)
            summary.moved += surviving_id != asset_id
            summary.linked += bool(link_like_twins(library, surviving_id, result.sha256))
            summary.hashed += 1
            summary.bytes += expected_size

    with library.running_hash_job(job):
        try:
            for round_paths in _rounds(list(by_path), by_path, workers, round_bytes):
                # Right before each round: claim its files still to hash that no other job holds (a machine
                # sharing the catalog may have hashed some meanwhile, or be hashing them now).
                round_size = sum(by_path[path][1] for path in round_paths)
                mine = library.claim_for_hashing(
                    [by_path[path][0] for path in round_paths], job, claim_seconds(round_size)
                )
                held_elsewhere += [path for path in round_paths if by_path[path][0] not in mine]
                hash_round(mine, round_paths)
                done_before += sum(by_path[path][1] for path in round_paths if by_path[path][0] in mine)
            # The files other jobs held: hashed by now, still being hashed, or left by a job that was killed
            # (its claims have expired, or its process on this machine is gone: this job takes them over).
            still = library.still_unhashed([by_path[path][0] for path in held_elsewhere])
            summary.elsewhere += sum(by_path[path][0] not in still for path in held_elsewhere)
            left = [path for path in held_elsewhere if by_path[path][0] in still]
            mine = library.claim_for_hashing(
                [by_path[path][0] for path in left], job, claim_seconds(sum(by_path[p][1] for p in left))
            )
            summary.claimed += sum(by_path[path][0] not in mine for path in left)
            done_before += sum(by_path[path][1] for path in held_elsewhere if by_path[path][0] not in mine)
            hash_round(mine, left)
        except CancelledError:
            summary.cancelled = True
        finally:
            _release(library, job)
    summary.elapsed_s = time.perf_counter() - started
    progress(Progress(summary.bytes, total_bytes, str(summary)))
    return summary


def claim_seconds(size: int) -> int:
    """How long a claim on files of ``size`` bytes holds: long enough to read them from a slow share,
    short enough that the files of a job that was killed are taken over the same day."""
    return CLAIM_MIN_S + size // CLAIM_RATE


def _release(library: Library, job: str) -> None:
    """End the job's claims; a catalog that cannot be reached now lets them expire instead."""
    try:
        library.release_hash_claims(job)
    except CatalogError:
        return


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


def _cataloged(path: Path, size: int, mtime_ns: int) -> bool | None:
    """Whether ``path`` is still the file the catalog lists: its size and modification time (at the
    precision either side saw it, :func:`catalog.stat_match.same_mtime`); None: nothing is there. Another
    file there (changed since the scan, or a folder mapped to an old copy of a shared store) is not hashed
    into its row."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_size == size and same_mtime(mtime_ns, found.st_mtime_ns)
