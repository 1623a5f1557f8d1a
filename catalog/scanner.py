"""Incremental scanning of library roots.

A rescan of an unchanged library must cost one directory walk and one catalog query: a file whose
(size, mtime_ns, inode) matches the catalog is never opened. New and changed files are read (header only),
identified and written in batches, each batch one transaction, so an interrupted scan leaves the catalog
consistent and the next scan simply continues. A file that vanished is marked missing (its user data is
kept), unless the root's folder is empty or most of its files are gone: an unmounted drive or share, or a
shared folder mapped to the wrong place, marks nothing missing (``_looks_unreachable``); a shared folder
where most of a sample of its files are not is not scanned at all, so what its folder here holds never
overwrites the rows every machine reads (``catalog.stat_match.mostly_not_here``). A file that
reappears elsewhere with the same (size, inode) is a move and keeps its row. Moves the stat cannot see
(copies, moves across disks) are recognised later by hash, in ``Library.set_hashes``.

Diffusers folders are the exception to "never opened": they are identified from a few small JSON
configs, which costs about what the walk already spent summing their sizes, so every scan identifies
them again. A folder cataloged by an older identifier (a tiny SD pipeline once called "other") is thus
corrected by the next scan; it still counts as unchanged, and its hashes and user data are kept.

One file never stops a scan. ``examine`` turns every failure of a file into its status and reason
(``unreadable`` for what cannot be opened, ``unsafe``, ``corrupt``); a worker process that dies costs
the file it was reading (:func:`examine_in_workers`); a batch the catalog refuses is written file by file,
and the file still refused is written with what the walk knew (:func:`minimal_record`). Unreadable files
are looked at again on every scan (a link may work again); it costs a ``stat``, nothing is opened.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from catalog.errors import (
    DatabaseAccessError,
    DatabaseLockedError,
    LibraryClosedError,
    NotACatalogError,
    NotFoundError,
)
from catalog.examine import (
    FoundFile,
    Listed,
    examine,
    format_from_suffix,
    found_at,
    found_listed,
    listed_sidecar_mtime,
    walk_listing,
)
from catalog.known_folder import MAP_SAMPLE, any_present
from catalog.path_text import shown
from catalog.places import LibraryPlaces, alias_of, reached_through_link
from catalog.records import IndexedFile, RootRecord, ScannedFile
from catalog.scan_catalog import ScanCatalog
from catalog.scan_worker import PRELOAD, Queued, as_found, examine_chunk, path_text
from catalog.stat_match import (
    empty_shared_folder,
    holds_nothing,
    mostly_not_here,
    same_mtime,
    shared_with_others,
)
from core.identify.rules_version import RULES_VERSION
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.layouts import scan_roots
from core.shell_words import map_command
from core.taxonomy import FileFormat, FileStatus
from core.wording import counted

BATCH_SIZE = 500
# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 200
# Files per task sent to a worker: large enough that inter-process overhead stays small, small enough
# that the workers start while the walk is still listing.
CHUNKSIZE = 32
# Chunks queued per worker before the walk waits for one; a scan also queues a whole batch's worth of
# chunks on top (``Scanner.in_flight``), so the workers stay busy while this process writes a batch.
IN_FLIGHT_PER_WORKER = 4
MAX_PROBLEMS_LISTED = 50
# A scan that finds most of a root's files gone marks none missing (see _looks_unreachable): more than
# this share of the files it listed present, and more than this many files.
UNREACHABLE_SHARE = 0.5
UNREACHABLE_MIN = 20
# ... or its folder is empty and it listed at least this many files there (a folder of one or two models
# emptied by hand is a deletion: a Downloads folder whose only model was deleted).
UNREACHABLE_EMPTY_MIN = 5
_COUNTS = (
    "roots",
    "not_here",
    "seen",
    "new",
    "changed",
    "unchanged",
    "reidentified",
    "moved",
    "missing",
    "corrupt",
    "unsafe",
    "unreadable",
)
# Store failures that concern one batch's rows (a value SQLite refuses), not the database as a whole.
_DATABASE_DOWN = (
    DatabaseLockedError,
    DatabaseAccessError,
    NotACatalogError,
    LibraryClosedError,
    NotFoundError,
)


@dataclass
class ScanSummary:
    """What a scan did, for the progress bar's final message and the CLI summary."""

    roots: int = 0
    not_here: int = (
        0  # of those, folders this computer does not reach (unmapped, not found): left as they were
    )
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    reidentified: int = 0  # unchanged files read again: older identification rules had read them
    moved: int = 0
    missing: int = 0
    corrupt: int = 0
    unsafe: int = 0
    unreadable: int = 0
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    # Folders left as they were because most of their files are not there (not empty ones: those are
    # unmounted shares): ``scan FOLDER --force`` takes the files as deleted (Scanner.files_gone).
    left_as_they_were: list[str] = field(default_factory=list)
    cancelled: bool = False

    def merge(self, other: ScanSummary) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.elapsed_s += other.elapsed_s
        self.problems.extend(other.problems[: MAX_PROBLEMS_LISTED - len(self.problems)])
        self.left_as_they_were.extend(other.left_as_they_were)
        self.cancelled = self.cancelled or other.cancelled

    def __str__(self) -> str:
        """One line: what the scan did to the catalog, then the health of every file it saw.

        ``Scanned 1 folder: 35 files (0 new, 0 changed, 35 unchanged; 14 corrupt, 3 unsafe) in 0.2 s``
        """
        parts = [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged"]
        parts += [
            f"{count} {label}"
            for count, label in (
                (self.reidentified, "re-identified (newer rules)"),
                (self.moved, "moved"),
                (self.missing, "missing"),
            )
            if count
        ]
        health = [
            f"{count} {label}"
            for count, label in (
                (self.corrupt, "corrupt"),
                (self.unsafe, "unsafe"),
                (self.unreadable, "unreadable"),
            )
            if count
        ]
        counts = ", ".join(parts) + ("; " + ", ".join(health) if health else "")
        roots = counted(self.roots - self.not_here, "folder")
        if self.not_here == 1:
            roots += " (1 left as it was: its files are not here)"
        elif self.not_here:
            roots += f" ({self.not_here} left as they were: their files are not here)"
        verb = "Scan cancelled after" if self.cancelled else "Scanned"
        files = f"{self.seen} file" + ("" if self.seen == 1 else "s")
        return f"{verb} {roots}: {files} ({counts}) in {self.elapsed_s:.1f} s"

    def count_health(self, status: FileStatus) -> None:
        """Count one file the scan saw under its status (read now, or known from the catalog)."""
        if status is FileStatus.CORRUPT:
            self.corrupt += 1
        elif status is FileStatus.UNSAFE:
            self.unsafe += 1
        elif status is FileStatus.UNREADABLE:
            self.unreadable += 1


class Scanner:
    """Scans library roots into a ``Library`` (or any :class:`~catalog.scan_catalog.ScanCatalog`, such as
    one that opens the Library at the first write); one instance per job."""

    def __init__(
        self,
        library: ScanCatalog,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        batch_size: int = BATCH_SIZE,
        workers: int | None = None,
        parallel_threshold: int = PARALLEL_THRESHOLD,
        examine_file: Callable[[FoundFile], ScannedFile] = examine,
        files_gone: bool = False,
    ) -> None:
        self.library = library
        # The user says the files a folder lacks were deleted (``scan --force``): a folder most of whose
        # files are gone is scanned and they are marked missing, instead of being left as it was, as an
        # unmounted share or a folder mapped to the wrong place must be.
        self.files_gone = files_gone
        self.progress = progress
        self.cancel = cancel or CancelToken()
        self.batch_size = batch_size
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        self.parallel_threshold = parallel_threshold
        # What reads one file; a module-level function, since worker processes receive it by name.
        self.examine_file = examine_file
        self._listed: dict[str, IndexedFile] = {}  # the catalog's files of the root being scanned, as read

    def scan(self, root_ids: Sequence[int] | None = None) -> ScanSummary:
        """Scan the given roots (all when None). A cancelled scan keeps what it already wrote."""
        roots = self.library.roots()
        if root_ids is not None:
            wanted = set(root_ids)
            roots = [root for root in roots if root.id in wanted]
        total = ScanSummary()
        for root in roots:
            summary = self.scan_root(root)
            total.merge(summary)
            if summary.cancelled:
                break
        return total

    @property
    def pool_size(self) -> int:
        """Worker processes a large scan starts: ``workers`` less one when this process reads too.

        With ``examine``, this process reads a chunk itself whenever the workers have enough queued
        (:func:`_in_workers`), so it counts as one of the ``workers`` readers: on two cores, one worker
        process and this one, each with a core of its own, instead of three processes taking turns on
        two cores (and every file's bytes and findings crossing between them). A caller's own reader
        runs only in worker processes: ``workers`` of them.
        """
        return self.workers - 1 if self.examine_file is examine else self.workers

    @property
    def in_flight(self) -> int:
        """Chunks sent to the workers before the walk waits for one to come back.

        While this process writes a batch (a few tens of milliseconds for 500 files) it hands nothing
        new to the workers: with only a few chunks each queued they ran dry halfway through every
        write and a core stood idle. Queuing a batch's worth of files more keeps both busy.
        """
        return self.pool_size * IN_FLIGHT_PER_WORKER + -(-self.batch_size // CHUNKSIZE)

    def scan_files(self, root: RootRecord, paths: Sequence[Path]) -> ScanSummary:
        """Catalog only ``paths``, files the app itself just put under ``root`` (a finished download).

        Each is compared with the catalog and read as a full scan would read it (pickles in a worker
        process), but nothing else of the root is walked or opened, and nothing is marked missing: a
        download into a library of thousands of files reads one header, not the library.
        """
        started = time.perf_counter()
        summary = ScanSummary(roots=1)
        index = self._listed = self.library.file_index(root.id)
        items: list[FoundFile] = []
        for path in paths:
            found = found_at(path)
            if found is None:
                summary.problems.append(f"{shown(str(path))}: no model file or diffusers folder here")
                continue
            summary.seen += 1
            known = index.get(str(found.path))
            if known is None:
                summary.new += 1
            elif _unchanged(known, found) and not found.is_folder and not _unreadable(known, found):
                summary.unchanged += 1
                summary.count_health(known.status)
                continue
            else:
                summary.changed += 1
            items.append(found)
        results = zip(items, _pickles_in_a_worker(items, self.examine_file), strict=True)
        batch: list[ScannedFile] = []
        for item, scanned in results:
            self._note(summary, item, scanned)
            batch.append(scanned)
        self._flush(root, batch, summary)
        summary.elapsed_s = time.perf_counter() - started
        return summary

    def scan_root(self, root: RootRecord) -> ScanSummary:
        started = time.perf_counter()
        summary = ScanSummary(roots=1)
        root_path = Path(root.path)
        try:
            self._scan(root, root_path, summary)
        except _CancelledScanError:
            summary.cancelled = True
        summary.elapsed_s = time.perf_counter() - started
        self.progress(Progress(summary.seen, summary.seen, str(summary)))
        return summary

    def _scan(self, root: RootRecord, root_path: Path, summary: ScanSummary) -> None:
        if not root.placed_here:
            # Another machine's folder this one never placed: its stored path may be another folder here.
            summary.problems.append(
                f"{root.name}: a folder other machines share ({root_path}); say where this machine reaches "
                f"it first: {map_command(root.name)}"
            )
            summary.not_here += 1
            return
        if not root_path.is_dir():
            summary.problems.append(
                f"{root_path}: folder not found (is the drive connected?{_map_hint(root)})"
            )
            summary.not_here += 1
            # An unplugged drive must not turn a whole library into "missing": leave it as it was.
            return
        all_roots = self.library.roots()
        holder = alias_of(root, all_roots)
        if holder is not None:
            # A link into another root: its files are that root's, never cataloged twice.
            summary.problems.append(
                f"{root_path}: a link into the library folder {holder.path}; scanned there"
            )
            return
        self.progress(Progress(0, None, f"Looking for models in {root_path}…"))
        index = self._listed = self.library.file_index(root.id)
        shared = shared_with_others(self.library, root)  # inode/device: hints (catalog.stat_match)
        elsewhere = _not_its_files(root, root_path, index) or (
            "" if self.files_gone else mostly_not_here(root_path, index, shared, map_command(root.name))
        )
        if elsewhere:
            # A shared folder mapped to the wrong place: its own files must not join the shared library.
            summary.problems.append(f"{root_path}: {elsewhere}; nothing was cataloged or marked missing.")
            summary.left_as_they_were.append(str(root_path))
            summary.not_here += 1
            return
        library = LibraryPlaces.of(r.path for r in all_roots)
        # Only the layout's model folders are walked (not an install's venv, outputs or custom nodes).
        starts = scan_roots(root_path, root.layout) or [root_path]
        # A model folder that is a link into the library (a shared-folder link) is walked where it lies.
        starts = [start for start in starts if not _links_into(start, root_path, library)]
        walk = _Walk(self, starts, index, library, summary)
        # A folder this machine reaches at its own path (shared storage, catalog.machine_paths): the rows'
        # devices are the machine's that added the folder, and are filled here only where unknown, so two
        # machines never rewrite each other's on every rescan.
        walk.shared = shared
        walk.own_devices = root.path == (root.canonical_path or root.path) and not walk.shared
        try:
            self._examine_all(root, walk, summary)
        except CancelledError as exc:  # cancelled while walking: nothing more is read or written
            raise _CancelledScanError from exc
        finally:
            summary.seen = len(walk.seen)  # all the walk saw, or what it saw before it was cancelled
        if walk.devices:
            self.library.set_devices(walk.devices)
        gone = [entry.id for entry in walk.vanished.values()]
        absent = (
            ""
            if self.files_gone
            else _looks_unreachable(root_path, len(gone), index)
            or empty_shared_folder(root_path, len(gone), index, walk.shared)
        )
        if absent:
            # An unmounted share (its mount point is an empty folder) or a folder mapped to the wrong place
            # must not turn the library into "missing" for every machine sharing it: leave it as it was.
            summary.problems.append(f"{root_path}: {absent}; nothing was marked missing.{_map_hint(root)}")
            empty = holds_nothing(root_path)
            if empty is False:
                summary.left_as_they_were.append(str(root_path))
            elif empty:  # an unmounted drive or share: its files are not here, as for a folder not found
                summary.not_here += 1
        elif gone:
            self.library.mark_missing(gone)
            summary.missing += len(gone)

    def _examine_all(self, root: RootRecord, walk: _Walk, summary: ScanSummary) -> None:
        """Read what the walk finds while it goes on: files go to worker processes as they are found.

        Up to ``parallel_threshold`` files are gathered first: a scan that finds fewer is read without
        starting a process (pickles excepted, see :func:`_pickles_in_a_worker`).
        """
        items = walk.to_examine()
        first = list(islice(items, self.parallel_threshold))
        results: Iterable[tuple[Queued, ScannedFile]]
        if self.workers > 1 and len(first) >= self.parallel_threshold:
            results = _in_workers(chain(first, items), self.pool_size, self.examine_file, self.in_flight)
        elif self.workers > 1:
            found = [as_found(item) for item in first]
            results = zip(found, _pickles_in_a_worker(found, self.examine_file), strict=True)
        else:  # workers=1: everything in this process, as asked
            results = ((item, self.examine_file(item)) for item in map(as_found, chain(first, items)))
        try:
            self._collect(root, walk, results, summary)
        finally:  # tables this process validated itself (a small scan): not kept for the window's lifetime
            from core.formats.safetensors_header import forget_validated_tables

            forget_validated_tables()

    def _collect(
        self,
        root: RootRecord,
        walk: _Walk,
        results: Iterable[tuple[Queued, ScannedFile]],
        summary: ScanSummary,
    ) -> None:
        batch: list[ScannedFile] = []
        # About a hundred reports per scan: enough for a smooth bar, few enough for queued GUI signals;
        # while the walk goes on the total is not known yet, so the step follows the files sent so far.
        step = max(1, min(50, walk.sent // 100))
        done = 0
        try:
            for item, scanned in results:
                done += 1
                if self.cancel.cancelled:
                    self._flush(root, batch, summary)
                    raise _CancelledScanError
                self._note(summary, item, scanned)
                batch.append(scanned)
                if len(batch) >= self.batch_size:
                    self._flush(root, batch, summary)
                    batch = []
                total = walk.sent if walk.finished else None
                if total is not None and step == 1:
                    step = max(1, min(50, total // 100))
                if done % step == 0 or done == total:
                    self.progress(Progress(done, total, f"Reading {_name(item)}"))
        except CancelledError:  # the walk was cancelled: what was read so far is kept
            self._flush(root, batch, summary)
            raise
        if done and done != total:  # the walk ended after its last file was read: the bar ends full
            self.progress(Progress(done, done, f"Reading {_name(item)}"))
        self._flush(root, batch, summary)

    @staticmethod
    def _note(summary: ScanSummary, item: Queued, scanned: ScannedFile) -> None:
        """Count a file just read under its status, and list what went wrong with it or its sidecars."""
        summary.count_health(scanned.status)
        if scanned.status_reason:
            _add_problem(summary, f"{shown(path_text(item))}: {scanned.status_reason}")
        for error in scanned.sidecars.errors if scanned.sidecars else ():
            _add_problem(summary, f"{shown(str(as_found(item).path.parent / error))}")

    def _flush(self, root: RootRecord, batch: list[ScannedFile], summary: ScanSummary) -> None:
        """Write a batch in one transaction; a batch the catalog refuses is written file by file.

        A value one file produced that the database cannot hold (an integer of thousands of digits in
        its metadata, say) must cost that file its details, never the batch: the file that still fails
        alone is written with what the walk knew and a status that says why.
        """
        if not batch:
            return
        try:
            written = self.library.write_scan_batch(root.id, batch)
        except _DATABASE_DOWN:
            raise
        except Exception:  # one row's value, found by writing the rows one by one
            if len(batch) == 1:
                self._write_minimal(root, batch[0], summary)
                return
        else:
            # Files this scan found new that another machine's scan cataloged meanwhile (a shared catalog):
            # updated, not added by this scan, so not counted as its new files.
            meanwhile = sum(path not in self._listed for path in written.existed)
            summary.new -= meanwhile
            summary.unchanged += meanwhile
            return
        for scanned in batch:
            self._flush(root, [scanned], summary)

    def _write_minimal(self, root: RootRecord, scanned: ScannedFile, summary: ScanSummary) -> None:
        try:
            self.library.apply_scan_batch(root.id, [minimal_record(scanned)])
        except _DATABASE_DOWN:
            raise
        except Exception as exc:
            _add_problem(summary, f"{shown(scanned.path)}: could not be cataloged ({type(exc).__name__})")
            return
        _add_problem(summary, f"{shown(scanned.path)}: {STORE_FAILED}")


STORE_FAILED = "what was read from this file could not be stored in the catalog; only its name and size were"


def minimal_record(scanned: ScannedFile) -> ScannedFile:
    """The finding reduced to what the walk knew, for a file whose details the catalog refused."""
    status = scanned.status if scanned.status is not FileStatus.OK else FileStatus.CORRUPT
    reason = STORE_FAILED if scanned.status is FileStatus.OK else shown(scanned.status_reason or STORE_FAILED)
    return ScannedFile(
        path=scanned.path,
        size=_sqlite_int(scanned.size),
        mtime_ns=_sqlite_int(scanned.mtime_ns),
        inode=_sqlite_int(scanned.inode),
        device=_sqlite_int(scanned.device),
        format=scanned.format,
        status=status,
        status_reason=reason[:1000],
        sidecar_mtime_ns=_sqlite_int(scanned.sidecar_mtime_ns),
    )


def _sqlite_int(value: int) -> int:
    return value if -(2**63) <= value < 2**63 else 0


def _add_problem(summary: ScanSummary, line: str) -> None:
    if len(summary.problems) < MAX_PROBLEMS_LISTED:
        summary.problems.append(line)


def examine_in_workers(
    items: Iterable[FoundFile], workers: int, examine_file: Callable[[FoundFile], ScannedFile] = examine
) -> Generator[ScannedFile, None, None]:
    """``examine_file`` of every item, in order, in worker processes; one per item, whatever happens.

    ``items`` may be a walk still under way: see :func:`_in_workers`.
    """
    for _item, scanned in _in_workers(items, workers, examine_file):
        yield scanned


def _in_workers(
    items: Iterable[Queued],
    workers: int,
    examine_file: Callable[[FoundFile], ScannedFile],
    in_flight: int | None = None,
) -> Generator[tuple[Queued, ScannedFile], None, None]:
    """Each item with ``examine_file`` of it, in order, read in worker processes as items arrive.

    Parsing headers is CPU-bound Python: worker processes use every core while this process walks and
    writes batches (started as :func:`worker_context` says). Items are sent in chunks
    of :data:`CHUNKSIZE` as soon as a chunk is full, so the workers start on the first files while the
    walk is still listing the others; what is ready is handed on at once, and the walk waits only when
    ``in_flight`` chunks are queued (:data:`IN_FLIGHT_PER_WORKER` per worker unless said).

    Starting the workers waits for the fork server to import the readers, a few tenths of a second in
    which this process used to wait too: they are started on a thread (:func:`_start_workers`), and
    until they are up this process reads the chunks itself, as a small scan does (never a pickle, and
    only with ``examine``: a caller's own reader always runs in the workers). Once they are up, it
    reads a chunk itself whenever ``in_flight`` chunks are queued for them, instead of waiting for one:
    the scan's own work (walking, collecting, writing) and the workers' then share the cores without a
    process waiting while another has more than it can do (:attr:`Scanner.pool_size`).

    ``examine`` never raises, so a failed task means its process died (killed for memory, a crash in
    native code): from that chunk on, the files are read again one at a time in a fresh one-worker
    pool, which finds the file that ends its reader; that file gets :data:`WORKER_DIED` and the scan
    goes on.
    """
    pool = ProcessPoolExecutor(workers, mp_context=worker_context())
    starting = _start_workers(pool, workers) if examine_file is examine else None
    pending: deque[tuple[list[Queued], Future[list[ScannedFile]]]] = deque()
    limit = in_flight if in_flight is not None else workers * IN_FLIGHT_PER_WORKER
    # With ``examine``, this process reads a chunk itself instead of waiting while the workers have
    # ``limit`` chunks to read: up to ``limit`` more chunks may then wait behind a slow one.
    most = 2 * limit if examine_file is examine else limit
    source = iter(items)
    chunk: list[Queued] = []
    try:
        while True:
            item = next(source, None)
            if item is not None:
                chunk.append(item)
                if len(chunk) < CHUNKSIZE:
                    continue
            if chunk:
                if (
                    starting is not None
                    and not any(map(_is_pickle, chunk))
                    and (starting.is_alive() or _queued(pending) >= limit)
                ):
                    # The workers are still starting, or have enough to read: this process reads the
                    # chunk instead of waiting (the file's bytes and findings then cross no process).
                    pending.append((chunk, _read_here(chunk)))
                else:
                    pending.append((chunk, _submit(pool, chunk, examine_file)))
                chunk = []
            walking = item is not None
            # Hand on what is ready; wait for a worker only when enough is queued (and this process
            # may not read on) or the walk is over.
            while pending and (pending[0][1].done() or len(pending) > most or not walking):
                if not walking and starting is not None and _read_back_here(pending, workers):
                    continue  # the walk is over: the chunks no worker has begun are read here too
                sent, future = pending.popleft()
                try:
                    results = future.result()
                except Exception:
                    rest = list(
                        map(as_found, [*sent, *(i for queued, _ in pending for i in queued), *source])
                    )
                    pool.shutdown(wait=False, cancel_futures=True)
                    yield from zip(rest, _examine_one_by_one(rest, examine_file), strict=True)
                    return
                yield from zip(sent, results, strict=True)
            if not walking:
                return
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_back_here(pending: deque[tuple[list[Queued], Future[list[ScannedFile]]]], workers: int) -> bool:
    """Read here the last chunk sent on that no worker has begun (never a pickle); False if none.

    Once the walk is over this process would only wait while the workers read what is queued for
    them: taking chunks back from the end of the queue (a task not yet handed to a worker can be
    cancelled) ends the scan when the workers' current chunks end, instead of a queue's worth later.
    The first ``workers + 1`` chunks are left to the workers: the pool hands that many on at once
    (one running in each worker, one waiting), so they are theirs already.
    """
    if pending[0][1].done():
        return False  # the first chunk is ready: hand it on first
    for index in range(len(pending) - 1, workers, -1):
        chunk, future = pending[index]
        if not future.done() and not any(map(_is_pickle, chunk)) and future.cancel():
            pending[index] = (chunk, _read_here(chunk))
            return True
    return False


def _queued(pending: deque[tuple[list[Queued], Future[list[ScannedFile]]]]) -> int:
    """How many of the chunks sent on are not read yet (those read here are read at once)."""
    return sum(not future.done() for _chunk, future in pending)


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> threading.Thread:
    """Start the pool's processes on a thread, which ends once they are up.

    The pool starts a process per task submitted while it has fewer than ``workers``, and the first
    one waits for the fork server; a no-op task per worker starts them all. A pool that cannot start
    (or is shut down meanwhile) is met by the first real task, as it always was.
    """

    def start() -> None:
        try:
            for _ in range(workers):
                pool.submit(int)
        except Exception:  # the scan's own submit meets the same failure and handles it
            return

    thread = threading.Thread(target=start, name="scan-workers-start", daemon=True)
    thread.start()
    return thread


def _read_here(chunk: list[Queued]) -> Future[list[ScannedFile]]:
    """The chunk read in this process, as a finished task (``examine`` turns every failure into a status)."""
    done: Future[list[ScannedFile]] = Future()
    done.set_result([examine(as_found(item)) for item in chunk])
    return done


def worker_context() -> multiprocessing.context.BaseContext:
    """How scan workers start: forked from a fork server where the system has one, else spawned.

    Forking this process is unsafe (it may run Qt and catalog threads). A fork server is a fresh,
    single-threaded process started once per app run that has imported what a worker runs (the readers
    and matchers, :data:`catalog.scan_worker.PRELOAD`, not this module): each worker is forked from it in
    milliseconds instead of a new interpreter importing them again (a quarter of a
    second of CPU per worker, per scan). A worker is still a process of its own: one that dies costs
    the file it was reading, as before.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _submit(
    pool: ProcessPoolExecutor, chunk: list[Queued], examine_file: Callable[[FoundFile], ScannedFile]
) -> Future[list[ScannedFile]]:
    """The chunk's task; once a worker has died the pool takes no more, and the chunk's future holds
    that failure, met in order like any other (the files from the dead worker's chunk on are then
    read one by one)."""
    try:
        return pool.submit(examine_chunk, chunk, examine_file)
    except BrokenProcessPool as exc:
        failed: Future[list[ScannedFile]] = Future()
        failed.set_exception(exc)
        return failed


def _examine_one_by_one(
    items: list[FoundFile], examine_file: Callable[[FoundFile], ScannedFile]
) -> Iterator[ScannedFile]:
    """Read ``items`` in order in a one-worker pool: the first task that fails is the file that ended
    its process; it is marked, and a fresh pool goes on with the files after it."""
    remaining = items
    while remaining:
        pool = ProcessPoolExecutor(1, mp_context=worker_context())
        try:
            futures = [pool.submit(examine_file, item) for item in remaining]
            for position, future in enumerate(futures):
                try:
                    result = future.result()
                except Exception as exc:
                    yield worker_died(remaining[position], exc)
                    remaining = remaining[position + 1 :]
                    break
                yield result
            else:
                remaining = []
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# Files read by the restricted unpickler, whose numpy reconstruction runs native code: even a small scan
# reads them in a worker process, so that a file that crashes its reader cannot take the window with it.
PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin"})


def _pickles_in_a_worker(
    items: list[FoundFile], examine_file: Callable[[FoundFile], ScannedFile]
) -> Iterator[ScannedFile]:
    """``examine_file`` of every item in order: pickles in one worker process, the rest here (a small
    scan of safetensors starts no process at all)."""
    risky = [item for item in items if _is_pickle(item)]
    if not risky:
        yield from map(examine_file, items)
        return
    from_worker = examine_in_workers(risky, 1, examine_file)
    try:
        for item in items:
            yield next(from_worker) if _is_pickle(item) else examine_file(item)
    finally:
        from_worker.close()


def _is_pickle(item: Queued) -> bool:
    if not isinstance(item, FoundFile):  # a plain file: ``Path.suffix`` of its name, from the text
        name = os.path.basename(item[0])  # noqa: PTH119 - no Path per file
        dot = name.rfind(".")
        return 0 < dot < len(name) - 1 and name[dot:].lower() in PICKLE_SUFFIXES
    return not item.is_folder and item.unreadable is None and item.path.suffix.lower() in PICKLE_SUFFIXES


def _name(item: Queued) -> str:
    """``Path.name`` of a queued file."""
    return item.path.name if isinstance(item, FoundFile) else os.path.basename(item[0])  # noqa: PTH119


WORKER_DIED = "reading it ended the process that read it ({}); it may exhaust memory or crash other loaders"


def worker_died(item: FoundFile, exc: BaseException) -> ScannedFile:
    """The finding for a file whose reader process died: unsafe, because it takes down what reads it."""
    why = "killed, or out of memory" if isinstance(exc, BrokenProcessPool) else type(exc).__name__
    return ScannedFile(
        path=str(item.path),
        size=item.size,
        mtime_ns=item.mtime_ns,
        inode=item.inode,
        device=item.device,
        format=format_from_suffix(item.path) if not item.is_folder else FileFormat.DIFFUSERS,
        status=FileStatus.UNSAFE,
        status_reason=WORKER_DIED.format(why),
        sidecar_mtime_ns=item.sidecar_mtime_ns,
    )


class _Walk:
    """The walk of one root, each file compared with the catalog as it is found.

    ``to_examine`` yields the files to read (new, changed, and those looked at again each scan) while the
    walk goes on; an unchanged file is counted and dropped from the walk's plain strings, never becoming
    a ``FoundFile``, and a new file without sidecars is yielded as a ``PlainFile`` tuple (its
    ``FoundFile`` is built by the worker that reads it: :mod:`catalog.scan_worker`). A new path whose
    (size, inode) a cataloged row has may be that row moved: it waits until the walk has seen every
    path, then takes the row if its old path is gone (as it always did).
    """

    def __init__(
        self,
        scanner: Scanner,
        starts: list[Path],
        index: dict[str, IndexedFile],
        places: LibraryPlaces,
        summary: ScanSummary,
    ) -> None:
        self.scanner = scanner
        self.starts = starts
        self.index = index
        self.places = places
        self.summary = summary
        self.sent = 0  # files yielded to read so far
        self.finished = False  # the walk is over: ``sent`` is the total
        self.devices: list[tuple[int, int]] = []  # (asset id, st_dev) of unchanged rows to update
        self.vanished: dict[tuple[int, int], IndexedFile] = {}  # rows whose file is gone, once finished
        self.seen: set[str] = set()  # every path the walk found so far
        self.own_devices = True  # record a changed st_dev (else only an unknown one; see Scanner._scan)
        self.shared = False  # a folder other machines use: their inode numbers are not this machine's

    def to_examine(self) -> Iterator[Queued]:
        index, summary = self.index, self.summary
        movable = {(e.size, e.inode) for e in index.values() if e.status is not FileStatus.MISSING}
        seen = self.seen
        maybe_moved: list[FoundFile] = []
        for start in self.starts:
            for listed in walk_listing(start, self.scanner.cancel, self.places):
                if isinstance(listed, FoundFile):
                    item = listed
                    path = str(item.path)
                else:
                    path = listed[0]
                if path in seen:
                    continue  # listed again from an overlapping start: the first finding stands
                seen.add(path)
                known = index.get(path)
                if isinstance(listed, tuple):
                    if known is not None and self._unchanged_listed(known, listed):
                        continue
                    st = listed[3]
                    if known is None and not listed[5] and (st.st_size, st.st_ino) not in movable:
                        summary.new += 1  # a new plain file (most of a first scan): handed on as text
                        self.sent += 1
                        yield (path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
                        continue
                    item = found_listed(listed)
                if known is None:
                    if item.unreadable is None and (item.size, item.inode) in movable:
                        maybe_moved.append(item)  # decided once every path has been seen
                        continue
                    summary.new += 1
                elif _unchanged(known, item, self.shared) and _unreadable(known, item):
                    summary.unchanged += 1  # looked at again each scan (a link may work again), opens nothing
                elif _unchanged(known, item, self.shared) and known.identified_with < RULES_VERSION:
                    summary.reidentified += 1  # read again: older rules identified it
                elif _unchanged(known, item, self.shared):
                    summary.unchanged += 1
                    if known.device != item.device and (self.own_devices or not known.device):
                        self.devices.append((known.id, item.device))
                    if not item.is_folder:
                        summary.count_health(known.status)  # not reopened: the catalog's status holds
                        continue
                    # a diffusers folder is read again, and counted when it is
                else:
                    summary.changed += 1
                self.sent += 1
                yield item
        self.vanished = {
            (entry.size, entry.inode): entry
            for path, entry in index.items()
            if path not in seen and entry.status is not FileStatus.MISSING
        }
        for item in maybe_moved:
            moved_from = self.vanished.pop((item.size, item.inode), None)
            if moved_from is not None and not item.is_folder:
                self.scanner.library.relocate(
                    moved_from.id,
                    str(item.path),
                    size=item.size,
                    mtime_ns=item.mtime_ns,
                    inode=item.inode,
                    device=item.device,
                )
                summary.moved += 1
                summary.count_health(moved_from.status)  # the same file, its status kept
                continue
            summary.new += 1
            self.sent += 1
            yield item
        self.finished = True

    def _unchanged_listed(self, known: IndexedFile, listed: Listed) -> bool:
        """The rescan's fast path: a readable cataloged file whose stat and sidecars are as cataloged is
        counted here, from the walk's strings. False sends it down the full comparison."""
        st = listed[3]
        if (
            known.size != st.st_size
            or (known.mtime_ns != st.st_mtime_ns and not same_mtime(known.mtime_ns, st.st_mtime_ns))
            or not (self.shared or _same_inode(known, st.st_ino, st.st_dev))
            or known.status is FileStatus.MISSING
            or known.status is FileStatus.UNREADABLE
            or known.identified_with < RULES_VERSION
            or listed_sidecar_mtime(listed) > known.sidecar_mtime_ns
        ):
            return False
        self.summary.unchanged += 1
        if known.device != st.st_dev and (self.own_devices or not known.device):
            self.devices.append((known.id, st.st_dev))  # cataloged before devices were, or remounted
        self.summary.count_health(known.status)  # not reopened: the catalog's status still holds
        return True


class _CancelledScanError(Exception):
    """Internal: unwinds a scan that the user cancelled."""


def _links_into(start: Path, root_path: Path, library: LibraryPlaces) -> bool:
    real = reached_through_link(start, root_path) if start != root_path else None
    return real is not None and library.contains(real)


def _unreadable(known: IndexedFile, item: FoundFile) -> bool:
    return known.status is FileStatus.UNREADABLE or item.unreadable is not None


def _unchanged(known: IndexedFile, item: FoundFile, shared: bool = False) -> bool:
    if known.status is FileStatus.MISSING:
        return False
    if item.sidecar_mtime_ns > known.sidecar_mtime_ns:
        return False  # a sidecar appeared or changed next to it: read them (hashes are kept)
    return (
        known.size == item.size
        and same_mtime(known.mtime_ns, item.mtime_ns)
        and (shared or _same_inode(known, item.inode, item.device))
    )


def _looks_unreachable(root_path: Path, gone: int, index: dict[str, IndexedFile]) -> str:
    """Why the ``gone`` files of a root should not be marked missing (empty: they should).

    A folder whose drive or share is not mounted is an empty folder (its mount point); a folder mapped to
    the wrong place holds other files. Either way most of what the catalog lists is "gone", which a
    person deleting models never does by accident. So none is marked missing when the folder is empty
    while the catalog listed :data:`UNREACHABLE_EMPTY_MIN` files or more in it, or when more than
    :data:`UNREACHABLE_SHARE` of the files listed present and more than :data:`UNREACHABLE_MIN` of them
    are gone. Deleting a few files (or emptying a folder of one or two) is still seen as such.
    """
    if not gone:
        return ""
    listed = sum(entry.status is not FileStatus.MISSING for entry in index.values())
    empty = holds_nothing(root_path) is True
    if empty and listed >= UNREACHABLE_EMPTY_MIN:
        return (
            f"the folder is empty but the catalog lists {listed} file{'s' if listed != 1 else ''} in it "
            "(is the drive or share mounted?)"
        )
    if gone > UNREACHABLE_MIN and gone > UNREACHABLE_SHARE * listed:
        return (
            f"{gone} of the {listed} files the catalog lists in it are not there (is the drive or share "
            "mounted, and mapped to the right folder?)"
        )
    return ""


def _not_its_files(root: RootRecord, root_path: Path, index: dict[str, IndexedFile]) -> str:
    """Why a shared folder this machine reaches through a mapping (``roots map``) is not scanned here
    (empty: it is): its folder holds files, but none of the first files the catalog lists in it. It was
    mapped to the wrong place (or forced while the share was away, and the folder filled since). An empty
    folder is left to :func:`_looks_unreachable` (an unmounted share, nothing to catalog)."""
    if root.path == (root.canonical_path or root.path):
        return ""
    listed = [entry for entry in index.values() if entry.status is not FileStatus.MISSING]
    known = listed[:: max(1, len(listed) // MAP_SAMPLE)][:MAP_SAMPLE]  # spread over the folder
    if not known or any_present((entry.path, entry.size, None) for entry in known):
        return ""
    if holds_nothing(root_path) is not False:
        return ""
    files = (
        f"the {len(known)} checked of the {len(listed)} files"
        if len(listed) > len(known)
        else f"{len(known)} file{'s' if len(known) != 1 else ''}"
    )
    return (
        f"none of {files} the catalog lists in the shared folder {root.name!r} is here (is the share "
        f"mounted, and mapped to the right folder? {map_command(root.name)})"
    )


def _map_hint(root: RootRecord) -> str:
    """For a folder this machine reaches at its stored path (maybe another machine's): how to say where
    it is here (catalog.machine_paths)."""
    if not root.name or root.path != (root.canonical_path or root.path):
        return ""
    return f" If it is mounted elsewhere on this machine: {map_command(root.name)}"


def _same_inode(known: IndexedFile, inode: int, device: int) -> bool:
    """Whether the row's inode says nothing against the file being the one cataloged. Inode numbers are
    per file system, and per machine on shared storage (an SMB or NFS mount numbers files its own way): one
    is compared only where the row's device is this file's or not known yet. Size and modification time
    decide for a file another machine cataloged, so a shared file is never read or hashed again."""
    return known.inode == inode or known.device not in (0, device)
