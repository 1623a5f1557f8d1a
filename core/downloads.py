"""The download engine: resumable, verified, restart-safe downloads into a library folder.

Why it is built this way:

* Bytes go to ``<target_dir>/<name>.part`` and are moved to a free name (never overwriting) only once
  their size and SHA-256 are verified, so a library scan never sees half a model under its real name.
* The queue lives in a :class:`DownloadStore` (the catalog database in the app): the ``.part`` name, the
  URL and the expected hash survive a crash, and ``resume`` after a restart continues with
  ``Range: bytes=N-``. Bytes are appended only on a ``206`` whose ``Content-Range`` starts at ``N``; a
  ``200`` means the server ignored the range, and the file restarts from zero (FORMATS-AND-APIS A.6, B.4).
* The SHA-256 that verifies the file is computed while bytes arrive (``core.hashing.HashPipeline``, a
  thread of its own fed from the receive buffers; ``core.download_body``); on resume the existing
  ``.part`` bytes are hashed once first. The catalog's other hashes (BLAKE3, CRC32, AutoV1/V3) follow
  the file as it is written, at the lowest CPU priority, and are finished behind the caller once the file
  is renamed (``core.download_catalog_hashes``): they never hold the download up, and a multi-GB
  checkpoint is still never read back from disk, neither to verify it nor to catalog it
  (:meth:`Downloader.take_file_hashes`).
* Nothing waits for the disk. The disk writes behind the download (``core.download_body.WriteBehind``:
  a flusher thread pushes what has arrived every 16 MiB or every second), and a verified ``.part`` is
  renamed into place at once; its last flush (``fdatasync`` of the file, then ``fsync`` of its folder)
  runs behind the caller (``core.download_flush.FinalFlush``), and the app waits for it before the
  process exits (``DownloadService.close``, the ``download`` command), saying so if that takes > 1 s.

  What that guarantees:

  - **The process is killed (SIGKILL, a crash) at any moment:** nothing it wrote is lost: written bytes
    are in the kernel's page cache, which outlives the process. The resume offset is the ``.part``'s
    size, i.e. exactly the bytes ``write`` accepted (never a counter that could run ahead of them), and
    every byte received is written before the next read, so a resume fetches again only what was still
    in the socket (at most one chunk; ``bench/bench_download.py`` part 3). A download already renamed is
    complete; the kernel's own writeback puts it on disk even though the process is gone.
  - **Power is lost (or the kernel crashes) during a download:** the ``.part`` keeps what the disk had
    taken, all but the last second or 16 MiB or so (on ext4, sizes become durable with the journal's
    commit, every 5 s). The resume continues from the ``.part``'s size and hashes its bytes from disk,
    so a ``.part`` the power loss damaged fails the SHA-256 check (when the site publishes one) and the
    download starts again.
  - **Power is lost seconds after a download ended:** the file has its real name at once, but is on
    disk only once its final flush is done: usually well under a second after the end (the write-behind
    left only the last second of bytes), up to the disk's backlog when the link was faster than the disk
    (``bench/bench_download.py`` prints both ends: 0.03-0.05 s after 1 GiB from loopback on the 2-core
    dev machine, where the hashing set the pace and the disk kept up). A power loss inside that window
    can leave the file short, empty or absent under its name although the catalog already lists it (the
    next scan of its folder sees the changed file); it must then be downloaded again. A normal exit,
    Ctrl+C and an error that ends a command included, waits for the flush.
* A body is never written past what the site lists or the disk can spare: the first read past the listed
  size ends the download and deletes its ``.part`` (a server sending zeros for ever without a
  ``Content-Length`` filled a disk before), and ``core.download_room`` stops any download, of a known
  size or not, while its disk keeps a small reserve free, its bytes kept for a resume.
* ``Content-Type: application/json`` is sent because Civitai then answers errors as JSON instead of
  redirecting to an HTML login page, and any HTML or JSON reply where a file was expected is an error.
* Dropped connections, 5xx and 429 are retried inside :meth:`Downloader.run_one`, each attempt resuming
  from the ``.part``, within one time budget (``core.download_retries``: 24 s from the first failure, a
  ``Retry-After`` past it ends the download at once); everything else fails at once with a typed
  :class:`~core.sources.errors.RemoteError`.
* Which token a request carries is the session's business (``core.site_tokens``): a download link on
  another origin than its site's configured one never gets the site's token, redirects included.
"""

from __future__ import annotations

import builtins
import errno
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import requests
import urllib3

from core.download_body import ReadInto, WriteBehind, body_reader, limit_receive_window
from core.download_catalog_hashes import CatalogHashes, Follower
from core.download_flush import FinalFlush
from core.download_locks import HeldLock, RunLocks
from core.download_names import choose_file_name, free_path, move_to_free_name, part_name
from core.download_retries import (
    DEFAULT_ATTEMPTS,
    MIN_USEFUL_BYTES,
    SITE_NAMES,
    RetryBudget,
    RetryRule,
    answering_party,
    site_name,
)
from core.download_room import RoomGuard
from core.file_hashes import FileHashes
from core.formats.safe_open import READ_BYTES
from core.hashing import VERIFY_LANES, HashPipeline, HashState, feed_file
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.net import (
    ANSWERED_WRONGLY,
    DEFAULT_TIMEOUT,
    GIVE_UP_AFTER_S,
    ConnectFailure,
    classify_failure,
    describe_failure,
    redact,
)
from core.site_tokens import Origin, TokenPolicy
from core.sizes import human_size
from core.sources.errors import (
    ConnectionLostError,
    DiskFullError,
    HashMismatchError,
    HtmlInsteadOfFileError,
    NetworkError,
    RateLimitedError,
    RemoteError,
    UnexpectedContentError,
    WrongSizeError,
    error_for_status,
    json_error_body,
)
from core.waits import WaitNotice, announce_wait

MIB = 1024 * 1024
PART_SUFFIX = ".part"
DEFAULT_CHUNK_SIZE = 1 * MIB
DEFAULT_CONCURRENCY = 2
_STORE_EVERY_S = 0.5  # how often bytes_done is written to the store while a download runs
_REPORT_EVERY_S = 0.1
_HASH_READ = 4 * MIB
_HASH_BUFFERS = 4  # buffers of the hash ring while receiving: one being filled, the others being hashed
_MAX_BUFFER = 8 * MIB
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


class DownloadSource(StrEnum):
    """Where a download comes from (stored in the database: values never change)."""

    CIVITAI = "civitai"
    HUGGINGFACE = "huggingface"
    URL = "url"


class DownloadStatus(StrEnum):
    """The life of a queued download (stored in the database: values never change)."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Was running when its process died (a crash, a kill): the ``.part`` is kept and the next start
    # resumes it. Set by :meth:`Downloader.recover_interrupted`, never while a process still runs it.
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """What to fetch and where to put it; ``file_name`` is only a hint (the server's name wins).

    ``headers`` are extra request headers; credentials belong on the session (they are not persisted).
    ``remote_ids`` are the site's ids (model/version/file, or repo/revision/path) and ``metadata`` the
    remote payload, both kept so the finished file can be linked to its page in the library.
    """

    url: str
    target_dir: Path
    source: DownloadSource = DownloadSource.URL
    expected_size: int | None = None
    expected_sha256: str | None = None
    file_name: str | None = None
    headers: Mapping[str, str] | None = None
    metadata: Mapping[str, Any] | None = None
    remote_ids: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DownloadRecord:
    """One row of the queue, as the store returns it."""

    id: int
    url: str
    source: DownloadSource
    target_dir: Path
    status: DownloadStatus
    file_name: str | None = None
    suggested_name: str | None = None
    expected_size: int | None = None
    expected_sha256: str | None = None
    error: str | None = None
    bytes_done: int = 0
    total: int | None = None
    completed_path: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    remote_ids: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def part_path(self) -> Path | None:
        """Where the bytes received so far are (known once the server named the file)."""
        return self.target_dir / part_name(self.file_name, PART_SUFFIX) if self.file_name else None


class DownloadStore(Protocol):
    """The persistent queue; the catalog implements it (``catalog.download_store``), tests may fake it.

    Every method is one short transaction and may be called from any thread.
    """

    def add(self, request: DownloadRequest) -> int: ...

    def get(self, download_id: int) -> DownloadRecord | None: ...

    def list(self) -> list[DownloadRecord]: ...

    def set_status(self, download_id: int, status: DownloadStatus, error: str | None = None) -> None: ...

    def set_file_name(self, download_id: int, file_name: str) -> None: ...

    def set_progress(self, download_id: int, bytes_done: int, total: int | None) -> None: ...

    def set_completed(self, download_id: int, path: Path, size: int) -> None: ...


@dataclass(frozen=True, slots=True)
class DownloadProgress(Progress):
    """A :class:`~core.jobs.Progress` with the download's id, speed (bytes/s) and ETA (s, if known)."""

    download_id: int = 0
    bytes_per_s: float = 0.0
    eta_s: float | None = None
    # Who the bytes are read from, as the retry messages name it ("Civitai", or "files.example.net (the
    # file host Civitai pointed to)" after a redirect): a stall names the host that stalled, not the link's.
    reading_from: str = ""


def format_rate(done: int, total: int | None, bytes_per_s: float, eta_s: float | None) -> str:
    """``"12.0 / 100.0 MiB, 5.2 MiB/s, 17 s left"``: the human part of a progress report."""
    size = f"{done / MIB:.1f} / {total / MIB:.1f} MiB" if total else f"{done / MIB:.1f} MiB"
    text = f"{size}, {bytes_per_s / MIB:.1f} MiB/s"
    if eta_s is not None:
        text += f", {eta_s:.0f} s left" if eta_s < 120 else f", {eta_s / 60:.0f} min left"
    return text


class _Meter:
    """Speed over a sliding few seconds, throttled progress reports and store updates."""

    def __init__(self, download_id: int, store: DownloadStore, progress: ProgressCallback) -> None:
        self._id = download_id
        self._store = store
        self._progress = progress
        self._samples: list[tuple[float, int]] = []
        self._last_report = 0.0
        self._last_store = time.monotonic()
        self.reading_from = ""  # who answered the current try (``answering_party``), set per try

    def update(self, done: int, total: int | None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_report < _REPORT_EVERY_S:
            return
        self._last_report = now
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > 3.0:
            self._samples.pop(0)
        first_t, first_done = self._samples[0]
        rate = (done - first_done) / (now - first_t) if now > first_t and done >= first_done else 0.0
        eta = (total - done) / rate if total and rate > 0 else None
        message = format_rate(done, total, rate, eta)
        self._progress(DownloadProgress(done, total, message, self._id, rate, eta, self.reading_from))
        if force or now - self._last_store >= _STORE_EVERY_S:
            self._last_store = now
            self._store.set_progress(self._id, done, total)


# Windows refuses to remove or rename a file while another handle has it open without FILE_SHARE_DELETE,
# which no handle Python opens has: there every handle on the ``.part`` (the catalog follower's too) is
# closed before the move, and the final flush's and catalog hashes' descriptors are opened by the file's
# new name. Elsewhere they are opened before the move, so they name the file whatever its name is after.
OPEN_HANDLES_BLOCK_MOVES = os.name == "nt"


def _verify_state() -> HashState:
    return HashState(VERIFY_LANES)


@dataclass(slots=True)
class _Hash:
    """The hashes of the ``.part`` file, kept across attempts: the verifying SHA-256 of its first
    ``state.length`` bytes, and the catalog's hashes as far as they have followed it."""

    state: HashState = field(default_factory=_verify_state)
    catalog: CatalogHashes = field(default_factory=CatalogHashes)

    def catch_up(self, part: Path, size: int, cancel: CancelToken) -> None:
        """Hash ``part`` up to ``size`` (the bytes a previous attempt or process wrote), once."""
        if size < self.state.length:
            self.reset()
        if size == self.state.length:
            return
        try:
            with open(part, "rb", buffering=0) as file:
                file.seek(self.state.length)
                feed_file(file, self.state, until=size, cancel=cancel, chunk_size=_HASH_READ)
        except BaseException:
            self.reset()  # a cancelled or failed read leaves the lanes' work unfinished
            raise

    def reset(self) -> None:
        self.state = _verify_state()
        self.catalog.reset()


@dataclass(frozen=True, slots=True)
class _Listed:
    """The size a site published for a file. Civitai's ``sizeKB`` is the byte count / 1024 (exact, see
    ``parse_file``) and the Hub lists bytes, so no rounding margin: a finished file must have exactly this
    size anyway (``_finish``), and a byte past it already proves the server is sending something else."""

    size: int
    said_by: str  # "Civitai lists", "Hugging Face lists", or "expected" for a plain link

    def exceeded_by(self, host: str) -> WrongSizeError:
        return WrongSizeError(
            f"{host} sent more than the {human_size(self.size)} ({self.size:,} bytes) {self.said_by} for "
            "this file; the download was stopped and its partial file deleted."
        )


def _is_disk_full(error: OSError) -> bool:
    return error.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))


def _size_or(path: Path, fallback: int) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return fallback


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write returned no progress")
        view = view[written:]


def _sleep(seconds: float, cancel: CancelToken) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        cancel.raise_if_cancelled()
        time.sleep(min(0.05, left))
    cancel.raise_if_cancelled()


class Downloader:
    """Runs queued downloads; one instance per app, shared by the GUI and the CLI.

    ``session`` is built by the composition root (``core.net.make_session``) and carries the token policy
    and the user agent; it should not retry itself (``retries=0``): the engine's tries resume from the
    ``.part`` and all count against one time budget (``core.download_retries``).
    """

    def __init__(
        self,
        session: requests.Session,
        store: DownloadStore,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_s: float = 1.0,
        backoff_max_s: float = 10.0,
        give_up_after_s: float = GIVE_UP_AFTER_S,
        read_timeout_s: float = DEFAULT_TIMEOUT[1],
        locks: RunLocks | None = None,
    ) -> None:
        """``locks`` tells downloads run by another live process from ones whose process died; without
        them (a single-process tool, tests) every ``running`` row not run here counts as interrupted.

        ``attempts``, ``backoff_s``, ``backoff_max_s`` and ``give_up_after_s`` bound the retries of one
        download (see ``core.download_retries``); ``read_timeout_s`` is the longest silence accepted."""
        self.session = session
        self.locks = locks
        self.store = store
        self.chunk_size = chunk_size
        # Each read returns what has arrived (up to a buffer) and is written at once, so a crash loses no
        # byte received; buffers of a chunk keep the hand-overs to the hash thread few.
        self._buffer_size = max(64 * 1024, min(chunk_size, _MAX_BUFFER))
        self.concurrency = max(1, concurrency)
        self.retry_rule = RetryRule(
            max(1, attempts), backoff_s, backoff_max_s, give_up_after_s, read_timeout_s
        )
        self._lock = threading.Lock()
        self._tokens: dict[int, CancelToken] = {}
        self._file_hashes: dict[int, Future[FileHashes]] = {}
        # Finished files are made durable here, behind the caller; the app waits for it before it exits.
        self.final_flush = FinalFlush()

    def take_file_hashes(self, download_id: int) -> FileHashes | None:
        """Every hash of the file the last :meth:`run_one` of ``download_id`` completed, computed while it
        arrived and finished behind :meth:`run_one` (this waits for that); handed out once (the caller
        records them in the catalog). None when that run did not download the file (it was already
        complete), they have been taken, or the file could not be read back (the caller hashes it)."""
        with self._lock:
            pending = self._file_hashes.pop(download_id, None)
        if pending is None:
            return None
        try:
            return pending.result()
        except OSError:
            return None

    # -- queue operations -------------------------------------------------------------------------------

    def enqueue(self, request: DownloadRequest) -> int:
        """Persist ``request`` as a queued download and return its id."""
        return self.store.add(request)

    def list(self) -> list[DownloadRecord]:
        return self.store.list()

    def get(self, download_id: int) -> DownloadRecord:
        record = self.store.get(download_id)
        if record is None:
            raise KeyError(f"no download with id {download_id}")
        return record

    def pause(self, download_id: int) -> None:
        """Stop a running or queued download, keeping its ``.part`` for :meth:`resume`."""
        record = self.get(download_id)
        if record.status in (DownloadStatus.COMPLETED, DownloadStatus.CANCELLED):
            return
        self.store.set_status(download_id, DownloadStatus.PAUSED)
        # The bytes on disk now: a try waiting for data (a stalled server) ends only when its read does,
        # and until then the queue would show the last count stored, up to half a second's bytes short.
        self._store_part_size(record)
        self._cancel_running(download_id)

    def resume(self, download_id: int) -> None:
        """Queue a paused, failed or interrupted download again; it continues from its ``.part``."""
        record = self.get(download_id)
        if record.status is DownloadStatus.COMPLETED or self._is_running_here(download_id):
            return
        self.store.set_status(download_id, DownloadStatus.QUEUED)

    def retry(self, download_id: int) -> None:
        """Queue a failed or cancelled download again (a cancelled one starts from zero)."""
        self.resume(download_id)

    def cancel(self, download_id: int) -> None:
        """Stop a download for good and delete its ``.part`` (the runner deletes it if one is running)."""
        record = self.get(download_id)
        if record.status is DownloadStatus.COMPLETED:
            return
        self.store.set_status(download_id, DownloadStatus.CANCELLED)
        if not self._cancel_running(download_id) and record.part_path is not None:
            record.part_path.unlink(missing_ok=True)

    def _cancel_running(self, download_id: int) -> bool:
        with self._lock:
            token = self._tokens.get(download_id)
        if token is None:
            return False
        token.cancel()
        return True

    def _is_running_here(self, download_id: int) -> bool:
        with self._lock:
            return download_id in self._tokens

    # -- running ----------------------------------------------------------------------------------------

    def run_one(
        self,
        download_id: int,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> Path:
        """Download one queued item to its final path (the job function).

        Raises:
            RemoteError: a typed failure; the store then says ``failed`` with the message.
            CancelledError: paused or cancelled; the store says which (a bare cancel means paused).
        """
        token = cancel or CancelToken()
        with self._lock:
            if download_id in self._tokens:
                raise RemoteError(f"Download {download_id} is already running.")
            self._tokens[download_id] = token
            self._file_hashes.pop(download_id, None)
        held: HeldLock | None = None
        try:
            if self.locks is not None:
                held = self.locks.acquire(download_id)
                if held is None:
                    raise RemoteError(
                        f"Download {download_id} is running in another Atelier window or command."
                    )
            record = self.get(download_id)  # read under the lock: another process may have finished it
            if record.status is DownloadStatus.COMPLETED and record.completed_path is not None:
                return record.completed_path  # run twice (e.g. a restarted queue): nothing to do
            return self._run_locked(download_id, progress, token)
        finally:
            if held is not None:
                held.release()
            with self._lock:
                self._tokens.pop(download_id, None)

    def _run_locked(self, download_id: int, progress: ProgressCallback, token: CancelToken) -> Path:
        try:
            self.store.set_status(download_id, DownloadStatus.RUNNING)
            return self._run_attempts(download_id, progress, token)
        except CancelledError:
            record = self.get(download_id)
            if record.status is DownloadStatus.CANCELLED:
                if record.part_path is not None:
                    record.part_path.unlink(missing_ok=True)
            else:
                if record.status is not DownloadStatus.PAUSED:
                    self.store.set_status(download_id, DownloadStatus.PAUSED)
                self._store_part_size(record)
            raise
        except RemoteError as error:
            self.store.set_status(download_id, DownloadStatus.FAILED, error.message)
            if not isinstance(error, HashMismatchError):  # that one deleted its whole file: the row
                self._store_part_size(self.get(download_id))  # keeps the bytes that came, not 0
            raise

    def _store_part_size(self, record: DownloadRecord) -> None:
        """Make the stored byte count the ``.part`` file's size (reports are stored only twice a second)."""
        size = _part_size(record)
        if size != record.bytes_done:
            self.store.set_progress(record.id, size, record.total)

    def recover_interrupted(self) -> builtins.list[DownloadRecord]:
        """Mark downloads whose process died while running them as interrupted, with their real bytes.

        Called when an app or command starts: a row still ``running`` that no live process holds was cut
        off by a crash. Its byte count becomes the size of its ``.part`` (progress is stored only twice
        a second, and a kill loses the last report), so the queue shows what is really on disk.
        """
        recovered: builtins.list[DownloadRecord] = []
        for record in self.store.list():
            if record.status is DownloadStatus.COMPLETED:
                _drop_leftover_part(record)
                continue
            if record.status is not DownloadStatus.RUNNING or self._is_running_here(record.id):
                continue
            if self.locks is not None and self.locks.is_held(record.id):
                continue  # another window or command is downloading it right now
            self.store.set_status(record.id, DownloadStatus.INTERRUPTED)
            self._store_part_size(record)
            recovered.append(self.get(record.id))
        return recovered

    def _run_attempts(self, download_id: int, progress: ProgressCallback, cancel: CancelToken) -> Path:
        meter = _Meter(download_id, self.store, progress)
        digest = _Hash()
        first = self.get(download_id)
        budget = self.retry_rule.start(site_name(first.source, first.url))
        try:
            while True:
                cancel.raise_if_cancelled()
                record = self.get(download_id)
                had = _part_size(record)
                try:
                    return self._attempt(record, digest, meter, cancel, budget)
                except RemoteError as error:
                    budget.progressed(_part_size(self.get(download_id)) - had)
                    wait = budget.wait_after(error)
                    if wait is None:
                        raise budget.give_up(error) from error
                    asked = isinstance(error, RateLimitedError) and error.retry_after_s is not None
                    notice = WaitNotice(
                        budget.answered_by,
                        wait,
                        budget.reason(error),
                        budget.tries + 1,
                        self.retry_rule.attempts,
                        asked,
                    )
                    announce_wait(notice)
                    _sleep(wait, cancel)
        finally:
            # A try that ended early leaves its follower stopping, not stopped: its handle on the .part is
            # closed here, before the caller keeps or deletes the file (Windows removes no open file).
            digest.catalog.settle()

    def _request(self, record: DownloadRecord, offset: int, budget: RetryBudget) -> requests.Response:
        headers = dict(record.headers)
        # JSON errors from Civitai instead of a login page; identity so byte counts match Content-Length.
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Accept-Encoding", "identity")
        if offset:
            headers["Range"] = f"bytes={offset}-"
        url = record.url
        if Origin.of(url) is None:
            raise RemoteError(
                "The download link is not a web address Atelier can fetch (http or https with a valid "
                "host); the site's data for this file may be damaged."
            )
        try:
            return self.session.get(
                url, headers=headers, stream=True, allow_redirects=True, timeout=budget.timeout()
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            # The hop that failed may be a redirect's target: name whoever it was, not the first host.
            hop = error.request.url if error.request is not None and error.request.url else url
            budget.heard_from(self._answering_party(budget, hop))
            # The reason in words, never requests' text: it would carry the URL and its signed query.
            message = describe_failure(error, budget.answered_by)
            if classify_failure(error) is ConnectFailure.TOO_SLOW:
                # The headers came a byte at a time; the budget's own note says how long we waited.
                raise ConnectionLostError(f"{budget.answered_by} sent its answer too slowly.") from None
            if classify_failure(error) in (ConnectFailure.NAME_LOOKUP, ConnectFailure.TLS):
                raise NetworkError(message, retryable=False) from None  # will not heal in seconds
            raise ConnectionLostError(message) from None
        except requests.RequestException as error:
            if classify_failure(error) in ANSWERED_WRONGLY:  # a redirect loop, a redirect to file://
                hop = error.request.url if error.request is not None and error.request.url else url
                who = self._answering_party(budget, hop)
                raise RemoteError(describe_failure(error, who)) from None
            # An address requests refuses (a bad scheme, a malformed host) is quoted in its message.
            auth = self.session.auth
            secrets = auth.secrets() if isinstance(auth, TokenPolicy) else ()
            raise RemoteError(f"The request to {_host(url)} failed: {redact(str(error), *secrets)}") from None

    def _attempt(
        self, record: DownloadRecord, digest: _Hash, meter: _Meter, cancel: CancelToken, budget: RetryBudget
    ) -> Path:
        part = record.part_path
        offset = _part_size(record)
        response = self._request(record, offset, budget)
        with response:
            host = _host(response.url or record.url)
            budget.heard_from(self._answering_party(budget, response.url or record.url))
            meter.reading_from = budget.answered_by
            if response.status_code == 416 and part is not None and record.file_name is not None:
                whole = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
                if whole is not None and int(whole.group(1)) == offset:
                    # A previous attempt got every byte but not the end of the reply: verify and finish.
                    digest.catch_up(part, offset, cancel)
                    return self._finish(record, record.file_name, part, offset, digest)
                digest.reset()  # first: the follower's handle closes (Windows removes no open file)
                part.unlink(missing_ok=True)  # our .part is longer than the file: start again
                raise ConnectionLostError(f"{host} refused to resume the download; starting again.")
            if response.status_code >= 400:
                body = _read_some(response, 64 * 1024, self.retry_rule.give_up_after_s)
                # Named as the site whose configured address the link is on ("Hugging Face" on any host
                # the settings give it), whose own key the message asks for; else the bare host.
                auth = self.session.auth
                site = auth.site_for(record.url) if isinstance(auth, TokenPolicy) else None
                raise error_for_status(
                    response.status_code,
                    source=site.site if site is not None else host,
                    what="this file",
                    body=json_error_body(body),
                    retry_after=response.headers.get("Retry-After"),
                    had_token=site is not None and site.current() is not None,
                )
            append = False
            total = _int(response.headers.get("Content-Length"))
            if offset and response.status_code == 206:
                match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                if match is None or int(match.group(1)) != offset:
                    digest.reset()
                    if part is not None:
                        part.unlink(missing_ok=True)
                    raise ConnectionLostError(f"{host} sent the wrong part of the file; starting again.")
                append = True
                total = int(match.group(3)) if match.group(3) != "*" else None
            name = record.file_name
            if name is None:
                name = self._decide_name(record, response)
                part = record.target_dir / part_name(name, PART_SUFFIX)
            assert part is not None
            self._check_content_type(response, name, host, self.retry_rule.give_up_after_s)
            if record.expected_size is not None and total is not None and total != record.expected_size:
                raise WrongSizeError(
                    f"{host} announced {total:,} bytes but the file should have {record.expected_size:,}; "
                    "the download link may point at a different file."
                )
            if not append:
                offset = 0
                digest.reset()
            else:
                digest.catch_up(part, offset, cancel)
            room = RoomGuard(part)
            try:
                done = self._receive(
                    response,
                    part,
                    append=append,
                    offset=offset,
                    total=total,
                    digest=digest,
                    meter=meter,
                    cancel=cancel,
                    host=host,
                    listed=self._listed(record),
                    room=room,
                )
            except WrongSizeError:  # more bytes than the site lists: not the listed file, none of it kept
                digest.reset()  # first: the follower's handle closes (Windows removes no open file)
                part.unlink(missing_ok=True)
                raise
        meter.update(done, total, force=True)
        return self._finish(record, name, part, done, digest)

    @staticmethod
    def _listed(record: DownloadRecord) -> _Listed | None:
        """The size the site published for the file, past which no byte is written (None: none known)."""
        if record.expected_size is None:
            return None
        site = SITE_NAMES.get(str(record.source))
        return _Listed(record.expected_size, f"{site} lists" if site else "expected")

    def _answering_party(self, budget: RetryBudget, url: str) -> str:
        """The site when ``url`` is on its configured origin (the session's token policy knows it), else
        the host that answered, as the file host the site pointed to (``answering_party``)."""
        tokens = self.session.auth
        return answering_party(budget.site, url, tokens if isinstance(tokens, TokenPolicy) else None)

    def _decide_name(self, record: DownloadRecord, response: requests.Response) -> str:
        raw_name = choose_file_name(
            response.headers.get("Content-Disposition"),
            [u for u in (response.url, record.url) if u],
            record.suggested_name,
        )
        # The name first: free_path refuses a path too long for Windows before the folder is created.
        name = free_path(record.target_dir, raw_name, also_free=(PART_SUFFIX,)).name
        record.target_dir.mkdir(parents=True, exist_ok=True)
        self.store.set_file_name(record.id, name)
        return name

    @staticmethod
    def _check_content_type(response: requests.Response, name: str, host: str, within_s: float) -> None:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in ("text/html", "application/xhtml+xml"):
            raise HtmlInsteadOfFileError(
                f"{host} sent an HTML page (a login page?) instead of the file. "
                "The file may need an API key (Settings › Sites, or ATELIER_CIVITAI_TOKEN / HF_TOKEN) "
                "or the link may have expired."
            )
        if content_type == "application/json" and not name.lower().endswith(".json"):
            body = _read_some(response, 4096, within_s)
            text = body.decode("utf-8", errors="replace").strip()
            raise UnexpectedContentError(f"{host} sent a JSON message instead of the file: {text[:300]}")

    def _receive(
        self,
        response: requests.Response,
        part: Path,
        *,
        append: bool,
        offset: int,
        total: int | None,
        digest: _Hash,
        meter: _Meter,
        cancel: CancelToken,
        host: str,
        listed: _Listed | None,
        room: RoomGuard,
    ) -> int:
        """Stream the body into ``part``; returns the ``.part`` size, which ``digest`` then covers exactly.

        This thread only reads and writes (``core.download_body``): the SHA-256 runs in a thread of its own,
        the catalog's hashes follow the file (``core.download_catalog_hashes``) and the disk writes behind
        the download; nothing here waits for the disk (the final flush is
        :class:`~core.download_flush.FinalFlush`'s, after the rename) or for the catalog's hashes.
        """
        limit_receive_window(response)
        read = body_reader(response)
        full_size = total  # a 206's total is the whole file's (from Content-Range)
        done = offset
        try:
            with open(part, "ab" if append else "wb", buffering=0) as file:
                fd = file.fileno()
                hasher = HashPipeline(digest.state, self._buffer_size, _HASH_BUFFERS)
                flusher = WriteBehind(fd)
                follower = digest.catalog.follow(part, done)
                try:
                    done = self._pump(
                        read,
                        fd,
                        hasher=hasher,
                        flusher=flusher,
                        follower=follower,
                        done=done,
                        full_size=full_size,
                        meter=meter,
                        cancel=cancel,
                        host=host,
                        listed=listed,
                        room=room,
                    )
                finally:
                    follower.stop()  # settled by whoever continues its hashes: the next try, the finisher
                    flusher.close()
                    try:
                        hasher.close()
                    except BaseException:
                        digest.reset()  # the digest no longer matches the file: catch_up re-reads it
                        raise
                flusher.raise_error()
                if full_size is not None and done < full_size:
                    raise self._lost(host, done, full_size)
        except OSError as error:
            if _is_disk_full(error):
                # What the disk holds, not what was counted: a block the disk took only part of is kept too
                # (resuming hashes the .part from its bytes), and the queue shows the same figure.
                kept = _size_or(part, done)
                raise DiskFullError(
                    f"The disk is full (or the file is too large for it) while saving "
                    f"{part.name.removesuffix(PART_SUFFIX)}. {human_size(kept)} are kept in {part.name}; "
                    "free some space and resume."
                ) from error
            raise RemoteError(f"Could not write {part}: {error.strerror or error}") from error
        return done

    def _pump(
        self,
        read: ReadInto,
        fd: int,
        *,
        hasher: HashPipeline,
        flusher: WriteBehind,
        follower: Follower,
        done: int,
        full_size: int | None,
        meter: _Meter,
        cancel: CancelToken,
        host: str,
        listed: _Listed | None,
        room: RoomGuard,
    ) -> int:
        """Read into the hasher's buffers and write each read at once; returns the bytes now in the file.

        A read returns whatever has arrived, so a pause is noticed within one read even on a slow link,
        and a filled buffer goes to the hash thread while the next one fills. A read timeout counts the
        silence between bytes, so a byte a second never trips it: each window of the budget's length must
        bring MIN_USEFUL_BYTES, or the try ends (the bytes stay in the .part).

        A body longer than the size the site ``listed`` is cut at the first read past it (``WrongSizeError``;
        a server that sends no ``Content-Length`` and never ends would otherwise fill the disk), and
        ``room`` stops any body, of a known size or not, before the disk is full (``core.download_room``).
        """
        window_s = self.retry_rule.give_up_after_s
        window_start, window_done = time.monotonic(), done
        index = hasher.take()
        view = hasher.views[index]
        filled = 0
        try:
            while True:
                cancel.raise_if_cancelled()
                if filled == len(view):
                    hasher.hand_over(index, filled)
                    index, filled = hasher.take(), 0
                    view = hasher.views[index]
                try:
                    n = read(view[filled:])
                except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
                    raise self._lost(host, done, full_size) from error
                if not n:
                    return done
                if listed is not None and done + n > listed.size:
                    raise listed.exceeded_by(host)
                _write_all(fd, view[filled : filled + n])
                filled += n
                done += n
                flusher.wrote(n)
                follower.wrote(done)
                meter.update(done, full_size)
                room.wrote(done)
                now = time.monotonic()
                if now - window_start >= window_s:
                    if done - window_done < MIN_USEFUL_BYTES:
                        raise ConnectionLostError(
                            f"{host} is sending the file too slowly ({done - window_done:,} bytes in "
                            f"{now - window_start:.0f} s)."
                        )
                    window_start, window_done = now, done
        finally:
            # Only bytes that reached the file are hashed: a failed write leaves its block out, and the
            # next try's catch_up hashes whatever part of it the disk did take.
            if filled:
                hasher.hand_over(index, filled)
            else:
                hasher.give_back(index)

    @staticmethod
    def _lost(host: str, done: int, total: int | None) -> ConnectionLostError:
        of = f" of {total:,}" if total is not None else ""
        return ConnectionLostError(
            f"The connection to {host} was lost after {done:,}{of} bytes "
            "(the server sent fewer bytes than it announced)."
        )

    def _finish(self, record: DownloadRecord, name: str, part: Path, done: int, digest: _Hash) -> Path:
        if record.expected_size is not None and done != record.expected_size:
            digest.catalog.settle()
            part.unlink(missing_ok=True)
            raise WrongSizeError(
                f"The downloaded file has {done:,} bytes but should have {record.expected_size:,}."
            )
        actual = digest.state.sha256_hex()
        if record.expected_sha256 and actual.lower() != record.expected_sha256.strip().lower():
            digest.catalog.settle()
            part.unlink(missing_ok=True)
            self.store.set_progress(record.id, done, record.total)  # the row shows what came
            raise HashMismatchError(
                f"The file {site_name(record.source, record.url)} serves does not match the SHA-256 it "
                "publishes, so it was deleted: downloading it again would most likely get the same "
                "file; tell the uploader, or choose another version. "
                f"(SHA-256 {actual.upper()}; the site says {record.expected_sha256.upper()})"
            )
        if OPEN_HANDLES_BLOCK_MOVES:
            digest.catalog.settle()  # the follower's handle on the .part is closed before the move
            final = self._move_into_place(record, part, name, done)
            fd, hashes_fd = self._open_finished(final)
        else:  # opened before the move: they name the file whatever its name becomes after
            fd, hashes_fd = self._open_finished(part)
            try:
                final = self._move_into_place(record, part, name, done)
            except BaseException:
                os.close(fd)
                os.close(hashes_fd)
                raise
        self.final_flush.hand_over(fd, final)  # the file and its name reach the disk behind the caller
        # The catalog's hashes are finished behind the caller too, from the same page-cache bytes.
        hashes = digest.catalog.finish_behind(hashes_fd, done, actual)
        with self._lock:
            self._file_hashes[record.id] = hashes
        return final

    def _move_into_place(self, record: DownloadRecord, part: Path, name: str, done: int) -> Path:
        """The verified ``part`` gets its name in the target folder (a free one: never over a file).

        Completed in the queue while the file has both names: a kill at any point leaves either a running
        download with its whole .part (verified and renamed again on resume) or a completed one whose file
        is where the queue says (a leftover .part is removed by recover_interrupted)."""
        return move_to_free_name(
            part, record.target_dir, name, lambda path: self.store.set_completed(record.id, path, done)
        )

    def _open_finished(self, path: Path) -> tuple[int, int]:
        """Descriptors of the finished file for its final flush and for its catalog hashes."""
        fd = self.final_flush.open(path)
        try:
            return fd, os.open(path, READ_BYTES)
        except BaseException:
            os.close(fd)
            raise

    def run_queue(
        self,
        max_parallel: int | None = None,
        progress: Callable[[int, Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> dict[int, Path | BaseException]:
        """Run every queued download, up to ``max_parallel`` at once, until none is left.

        Downloads queued while this runs are picked up too. ``cancel`` pauses the running ones and stops
        starting new ones. Returns each finished id's final path, or the exception it ended with.
        """
        limit = max(1, max_parallel or self.concurrency)
        stop = cancel or CancelToken()
        results: dict[int, Path | BaseException] = {}
        running: dict[Future[Path], tuple[int, CancelToken]] = {}
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="download") as pool:
            while True:
                if not stop.cancelled and len(running) < limit:
                    busy = {i for i, _ in running.values()}
                    for record in self.store.list():
                        if len(running) >= limit:
                            break
                        if record.status is DownloadStatus.QUEUED and record.id not in busy:
                            token = CancelToken()
                            sink = _bind(progress, record.id)
                            running[pool.submit(self.run_one, record.id, sink, token)] = (record.id, token)
                if not running:
                    return results
                finished, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
                if stop.cancelled:
                    for _, token in running.values():
                        token.cancel()
                for future in finished:
                    download_id, _ = running.pop(future)
                    error = future.exception()
                    results[download_id] = error if error is not None else future.result()


def _bind(progress: Callable[[int, Progress], None] | None, download_id: int) -> ProgressCallback:
    if progress is None:
        return no_progress

    def report(value: Progress) -> None:
        progress(download_id, value)

    return report


def _reader(response: requests.Response) -> Callable[[int], bytes]:
    """``read(n)`` returning whatever has arrived (at most ``n`` bytes), ``b""`` at the end.

    ``read1`` rather than ``read``: urllib3's ``read(n)`` collects ``n`` bytes in a buffer and drops that
    buffer when the connection breaks, so bytes that did arrive would be fetched again on resume.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is not None:
        return cast("Callable[[int], bytes]", read1)
    return lambda size: cast("bytes", raw.read(size))


def _read_some(response: requests.Response, limit: int, within_s: float) -> bytes:
    """Up to ``limit`` bytes of a short reply (an error's JSON), as much as arrived within ``within_s``:
    a reply sent a byte a second must not hold the download for ``limit`` seconds (every byte would
    renew the read timeout). A connection lost midway ends the reply too: it is only read to explain."""
    read = _reader(response)
    deadline = time.monotonic() + within_s
    blocks: builtins.list[bytes] = []
    received = 0
    while received < limit and time.monotonic() < deadline:
        try:
            block = read(limit - received)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError):
            break
        if not block:
            break
        blocks.append(block)
        received += len(block)
    return b"".join(blocks)


def _drop_leftover_part(record: DownloadRecord) -> None:
    """Remove the ``.part`` name a process killed in the middle of the rename left beside a completed
    file: the same file under its old name (a hard link), never a file of its own."""
    part, final = record.part_path, record.completed_path
    if part is None or final is None:
        return
    try:
        if part.samefile(final):
            part.unlink()
    except OSError:  # no .part (the usual case) or no final file: nothing of ours to remove
        return


def _part_size(record: DownloadRecord) -> int:
    """The bytes on disk of ``record``'s ``.part`` file (0 before the first byte)."""
    part = record.part_path
    try:
        return part.stat().st_size if part is not None else 0
    except FileNotFoundError:
        return 0


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the server"
    except ValueError:  # a malformed link from a payload
        return "the server"


def strip_secrets(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Request headers without credentials, for storing in the queue (tokens live on the session)."""
    return {k: v for k, v in (headers or {}).items() if k.lower() not in _SECRET_HEADERS}
