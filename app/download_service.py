"""The one download pipeline, for the window and the CLI alike.

target (``app.download_targets``) -> request with the expected size and SHA-256, in the folder of the
file's kind under a library folder's layout (``app.download_requests``) -> one HTTP session whose auth
adds each site's token for that site's configured origin only (``app.site_keys``) ->
``core.downloads.Downloader`` (resumable, verified while it downloads, atomic) -> the verified file
enters the library (``app.download_ingest``).

The window adds only a Qt adapter (``desktop.download_manager``) that calls :meth:`DownloadService.run`
on worker threads; the CLI calls the same methods in the foreground. The queue lives in the catalog (with
a catalog on a server, in this machine's ``download-queue.sqlite3``: ``catalog.download_store``), so a
download queued by either is seen, resumed or cancelled by the other.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.download_ingest import ingest_download
from app.download_paths import NoDownloadRootError, choose_root, describe_default_root
from app.download_requests import civitai_request, hf_request
from app.download_targets import CivitaiTarget, HfTarget, Target, parse_target
from app.interrupts import stoppable
from app.site_keys import download_tokens
from catalog.download_store import SqlDownloadStore
from catalog.records import AssetRecord, DeletedFileRecord, RootRecord
from core.download_locks import RunLocks
from core.downloads import Downloader, DownloadRecord, DownloadRequest, DownloadSource, DownloadStatus
from core.errors import AtelierError
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.sources.civitai_records import CivitaiFile, CivitaiVersion

if TYPE_CHECKING:
    import requests

    from app.context import AppContext

LOCKS_FOLDER = "download-locks"
# A download in one of these states is continued (not duplicated) when the same file is asked for again.
_REUSABLE = (
    DownloadStatus.QUEUED,
    DownloadStatus.PAUSED,
    DownloadStatus.FAILED,
    DownloadStatus.INTERRUPTED,
)


@dataclass(frozen=True)
class RequestBuilder:
    """A looked-up file: its published SHA-256, and the request for it once the root is known."""

    expected_sha256: str | None
    build: Callable[[RootRecord], DownloadRequest]
    civitai_version_id: str | None = None  # for the deleted-file memory (see _refuse_owned)

    def __call__(self, root: RootRecord) -> DownloadRequest:
        return self.build(root)


class DownloadTargetError(AtelierError):
    """A target that cannot be downloaded as asked (no library folder, no such file...)."""


class AlreadyInLibraryError(DownloadTargetError):
    """The site publishes the file's SHA-256 and the library already has a file with it.

    Not a failure for the user: the CLI prints the message and exits 0, the window shows it as the
    answer to the paste. ``again=True`` on :meth:`DownloadService.enqueue` downloads a second copy.
    """

    def __init__(self, asset: AssetRecord) -> None:
        self.asset = asset
        super().__init__(f"Already in the library: {asset.path} (#{asset.id})")


class DeletedBeforeError(AlreadyInLibraryError):
    """The same Civitai version or the same bytes were deleted from the library on purpose.

    The same rule as :class:`AlreadyInLibraryError` (the library had it): refused unless ``again``, and
    every place that answers "already in the library" answers this too, with the date of the deletion.
    ``Library.forget_deleted`` (Library › Deleted files… › Forget, ``deleted --forget``) lifts it.
    """

    def __init__(self, deleted: DeletedFileRecord) -> None:
        # No ``asset``: the file is gone; ``deleted`` says what it was and when.
        self.deleted = deleted
        name = deleted.model_name or deleted.file_name
        version = f" {deleted.version_name}" if deleted.version_name else ""
        when = f"{deleted.deleted_at:%Y-%m-%d}"
        DownloadTargetError.__init__(
            self, f"You deleted this version on {when}: {name}{version} (was {deleted.path})"
        )


class DownloadCompleteError(DownloadTargetError):
    """Cancel or resume asked of a download that has already finished."""

    def __init__(self, download_id: int, path: Path | None) -> None:
        where = f": {path}" if path else ""
        super().__init__(f"Download {download_id} is already complete{where}")


@dataclass(frozen=True)
class FinishedDownload:
    path: Path
    asset: AssetRecord | None
    # Ctrl+C was pressed while the finished file entered the library: it did; the command stops after it.
    stop_asked: bool = False


@dataclass(frozen=True)
class Queued:
    """A queued download and where it goes; ``created_root`` when ``--to`` made a new library folder,
    ``created_folder`` when that folder did not exist on disk before."""

    download_id: int
    root: RootRecord
    created_root: bool = False
    created_folder: bool = False


@dataclass(frozen=True)
class _Destination:
    root: RootRecord | None  # None: ``path`` becomes a new library folder
    path: Path
    folder: Path | None = None  # a folder inside a library folder: the file goes there as it is


class DownloadService:
    """Queue, run and finish downloads for one profile (see the module's docstring)."""

    def __init__(self, context: AppContext) -> None:
        self.context = context

    # parts, built on first use ----------------------------------------------------------------------
    @cached_property
    def store(self) -> SqlDownloadStore:
        return self.context.open_download_queue()

    @cached_property
    def session(self) -> requests.Session:
        """Each site's token to its own configured origin only; no retries of its own: the engine
        retries (resuming each time) within one time budget, see ``core.downloads``."""
        from core.net import make_session

        context = self.context
        tokens = download_tokens(context.civitai_base_url, context.hf_endpoint, context.tokens.get)
        return make_session(auth=tokens, retries=0)

    @cached_property
    def downloader(self) -> Downloader:
        return Downloader(
            self.session,
            self.store,
            concurrency=int(self.context.settings.download_concurrency),
            locks=RunLocks(self.context.data_dir / LOCKS_FOLDER),
        )

    def finish_writes(self, say: Callable[[str], None]) -> builtins.list[str]:
        """Wait until every finished download is on disk (``core.download_flush``): the exit join.

        ``say`` gets one line when that takes over a second; returns one line per file the disk failed
        to write (empty when all is well).
        """
        if "downloader" not in self.__dict__:
            return []  # nothing was downloaded by this process
        return self.downloader.final_flush.wait_all(say)

    def close(self) -> None:
        """Wait for the finished downloads' last flush (saying so on stderr after a second), then close
        the queue. The command and the window each call this when they end."""
        for failure in self.finish_writes(_say_on_stderr):
            _say_on_stderr(failure)
        if "store" in self.__dict__:
            self.store.close()

    # where downloads go -----------------------------------------------------------------------------
    def roots(self) -> builtins.list[RootRecord]:
        """The library folders a download can go to: those this machine reaches (a shared folder it has
        not mapped is left out: its stored path is another machine's)."""
        return [root for root in self.context.library.roots() if root.placed_here]

    def unmapped_roots(self) -> builtins.list[RootRecord]:
        """The shared library folders this machine has not mapped yet: once mapped, a download can go
        there (the window says so when no other folder is there to download into)."""
        return [root for root in self.context.library.roots() if not root.placed_here]

    def default_root(self) -> RootRecord:
        """The download folder of the settings, else the first library folder added."""
        try:
            return choose_root(self.roots(), str(self.context.settings.download_root))
        except NoDownloadRootError as exc:
            raise DownloadTargetError(str(exc)) from exc

    def default_root_reason(self) -> str:
        """Why :meth:`default_root` is that folder, for the window and the CLI to say."""
        return describe_default_root(self.roots(), str(self.context.settings.download_root))

    def _destination(self, to: Path | None, *, exact: bool = False) -> _Destination:
        """Checks ``to`` before anything is fetched; a folder to create is only created on enqueue.

        ``exact``: the file goes into ``to`` itself even when it is a library folder (not into the folder
        of its kind under that library folder's layout): an update downloaded beside the old file.
        """
        if to is None:
            root = self.default_root()
            return _Destination(root, Path(root.path))
        wanted = to.expanduser().resolve()
        if wanted.exists() and not wanted.is_dir():
            raise DownloadTargetError(f"{wanted} is a file, not a folder: give a folder to download into")
        roots = self.roots()
        for root in roots:
            if Path(root.path) == wanted:
                return _Destination(root, wanted, folder=wanted if exact else None)
        holders = [root for root in roots if wanted.is_relative_to(root.path)]
        if holders:
            root = max(holders, key=lambda r: len(r.path))
            return _Destination(root, wanted, folder=wanted)
        return _Destination(None, wanted)

    def _materialize(self, destination: _Destination) -> tuple[RootRecord, bool, bool]:
        """The destination's root, whether it was added now, and whether its folder was created now."""
        if destination.root is not None:
            return destination.root, False, False
        existed = destination.path.is_dir()
        try:
            destination.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadTargetError(f"Could not create {destination.path}: {exc.strerror or exc}") from exc
        return self.context.add_root(destination.path), True, not existed

    # queueing -----------------------------------------------------------------------------------------
    def parse_target(self, text: str) -> Target:
        """``text`` as a target (raises ``TargetError``); file URLs of the configured Hub endpoint count."""
        return parse_target(text, hf_endpoint=self.context.hf_endpoint())

    def enqueue(
        self, target: Target, *, to: Path | None = None, again: bool = False, exact: bool = False
    ) -> Queued:
        """Look the file up on its site and queue it; ``to`` is a library folder (made one if new).

        ``exact`` puts the file in ``to`` itself even when ``to`` is a library folder (see
        :meth:`_destination`). Raises :class:`AlreadyInLibraryError` when the library already has the
        file (by the SHA-256 the site publishes) unless ``again``; nothing is created or queued then.
        """
        destination = self._destination(to, exact=exact)
        build = self._hf_builder(target) if isinstance(target, HfTarget) else self._civitai_builder(target)
        if not again:
            self._refuse_owned(build.expected_sha256, build.civitai_version_id)
        root, created, made = self._materialize(destination)
        request = build(root)
        if destination.folder is not None:
            request = replace(request, target_dir=destination.folder)
        return Queued(self.enqueue_request(request, again=again), root, created, made)

    def in_library(self, sha256: str | None) -> AssetRecord | None:
        """The library's file with this SHA-256 that is still on disk, if any (None for no hash)."""
        if not sha256:
            return None
        wanted = sha256.upper()
        for asset in self.context.library.find_by_hash(sha256):
            same = asset.hashes is not None and (asset.hashes.sha256 or "").upper() == wanted
            if same and Path(asset.path).exists():
                return asset
        return None

    def _refuse_owned(self, sha256: str | None, civitai_version_id: str | None = None) -> None:
        """The one "you have this already" rule: a file still in the library, or one the user deleted
        (same SHA-256, or the same Civitai version in other bytes)."""
        owned = self.in_library(sha256)
        if owned is not None:
            raise AlreadyInLibraryError(owned)
        deleted = self.context.library.deleted_match(
            sha256=sha256, site="civitai" if civitai_version_id else None, version_id=civitai_version_id
        )
        if deleted is not None:
            raise DeletedBeforeError(deleted)

    def enqueue_request(self, request: DownloadRequest, *, again: bool = False) -> int:
        """Queue ``request``; the same file already queued, stopped or interrupted is continued instead.

        A file the library already has is refused (:class:`AlreadyInLibraryError`) unless ``again``.
        """
        if not again:
            version = (request.remote_ids or {}).get("version_id")
            civitai_version = str(version) if request.source is DownloadSource.CIVITAI and version else None
            self._refuse_owned(request.expected_sha256, civitai_version)
        for record in self.store.list():
            same = record.url == request.url and record.target_dir == request.target_dir
            if same and self.needs_library_entry(record):
                return record.id  # downloaded before, never added: run() adds it, nothing is fetched
            if same and record.status is DownloadStatus.RUNNING:
                # Left "running" by a process that died (killed, stopped with SIGTERM): interrupted and
                # continued here; one a live window or command holds is left to it.
                if record.id in {found.id for found in self.downloader.recover_interrupted()}:
                    self.downloader.resume(record.id)
                return record.id
            if same and record.status in _REUSABLE:
                self.downloader.resume(record.id)
                return record.id
        return self.store.add(request)

    def _civitai_builder(self, target: CivitaiTarget) -> RequestBuilder:
        client = self.context.civitai()
        if target.file_hash is not None:
            found = client.version_by_hash(target.file_hash)
            if found is None or found.model_id is None:
                raise DownloadTargetError(f"Civitai has no file with the hash {target.file_hash}")
            version, model = found, client.get_model(found.model_id)
        elif target.version_id is None:
            if target.model_id is None:
                raise DownloadTargetError("no Civitai version or model given")
            model = client.get_model(target.model_id)
            if not model.versions:
                raise DownloadTargetError(f"Civitai model {model.id} has no version to download")
            version = client.get_version(model.versions[0].id)
        else:
            version = client.get_version(target.version_id)
            if version.model_id is None:
                raise DownloadTargetError(f"Civitai version {version.id} names no model")
            model = client.get_model(version.model_id)
        file = _hashed_file(version, target.file_hash) or _choose_file(version, target.file_id)
        url = file.download_url or client.download_url(version.id, file.id, version=version)
        subfolder = str(self.context.settings.download_subfolder)
        return RequestBuilder(
            file.sha256,
            lambda root: civitai_request(model, version, file, url, roots=[root], subfolder=subfolder),
            civitai_version_id=str(version.id),
        )

    def _hf_builder(self, target: HfTarget) -> RequestBuilder:
        client = self.context.huggingface()
        detail = client.model_info(target.repo_id, target.revision)
        file = detail.file(target.path)
        if file is None:
            raise DownloadTargetError(f"{target.repo_id} has no file {target.path!r} at {target.revision}")
        url = client.resolve_file(target.repo_id, target.path, target.revision).url
        subfolder = str(self.context.settings.download_subfolder)
        return RequestBuilder(
            file.sha256, lambda root: hf_request(detail, file, url, roots=[root], subfolder=subfolder)
        )

    # running ------------------------------------------------------------------------------------------
    def run(
        self, download_id: int, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> FinishedDownload:
        """Download (or resume) one item and bring the file into the library (the job function).

        Once the file is complete under its name, a first Ctrl+C in a command no longer stops anything
        here: the file enters the library (its catalog hashes finish, its row is written) and the result
        says the user asked to stop, for the command to stop after it. Stopped in between, the download
        would be complete on disk but missing from the library (``needs_library_entry``).
        """
        self.get(download_id)
        path = self.downloader.run_one(download_id, progress, cancel)
        with stoppable(CancelToken()) as finishing:
            hashes = self.downloader.take_file_hashes(download_id)
            asset = ingest_download(self.context, self.get(download_id), path, hashes)
            if asset is not None:  # the library's remote link now keeps the site's answer: one copy
                self.store.drop_metadata(download_id)
        return FinishedDownload(path, asset, stop_asked=finishing.cancelled)

    def needs_library_entry(self, record: DownloadRecord) -> bool:
        """A completed download whose file is on disk but not in the library (the process was stopped
        between the two): running it again (:meth:`run`) adds the file without fetching a byte."""
        path = record.completed_path
        if record.status is not DownloadStatus.COMPLETED or path is None or not path.is_file():
            return False
        return self.context.library.get_by_path(path) is None

    def recover_interrupted(self) -> builtins.list[DownloadRecord]:
        """Mark downloads cut off by a crash as interrupted, with the bytes their ``.part`` holds."""
        return self.downloader.recover_interrupted()

    def mark_stopped(self, download_id: int) -> DownloadRecord:
        """A download the user stopped (Ctrl+C in a command): paused, with the bytes its ``.part`` holds.

        Paused, not interrupted: only a download whose process died is continued by itself (the window's
        start); one stopped on purpose waits for ``downloads resume`` or Resume in the window.
        """
        record = self.get(download_id)
        if record.status is DownloadStatus.COMPLETED:
            return record  # finished before the stop: its file and byte count stay as they are
        if record.status in (DownloadStatus.QUEUED, DownloadStatus.RUNNING):
            self.store.set_status(download_id, DownloadStatus.PAUSED)
        part = record.part_path
        kept = part.stat().st_size if part is not None and part.is_file() else 0
        if kept != record.bytes_done:
            self.store.set_progress(download_id, kept, record.total)
        return self.get(download_id)

    def mark_interrupted(self, download_id: int) -> None:
        """A download stopped because the app is closing (not by the user): continued on the next start."""
        record = self.get(download_id)
        if record.status in (DownloadStatus.PAUSED, DownloadStatus.RUNNING):
            self.store.set_status(download_id, DownloadStatus.INTERRUPTED)

    def interrupted(self) -> builtins.list[DownloadRecord]:
        return [r for r in self.list() if r.status is DownloadStatus.INTERRUPTED]

    def list(self) -> builtins.list[DownloadRecord]:
        return self.store.list()

    def get(self, download_id: int) -> DownloadRecord:
        record = self.store.get(download_id)
        if record is None:
            raise DownloadTargetError(f"No download with id {download_id} (see `downloads list`).")
        return record

    def pause(self, download_id: int) -> None:
        self.get(download_id)
        self.downloader.pause(download_id)

    def cancel(self, download_id: int) -> None:
        """Stop a download and remove its partial file; a completed one is refused (it stays)."""
        self._refuse_completed(download_id)
        self.downloader.cancel(download_id)

    def resume(self, download_id: int) -> None:
        """Continue a stopped download; a completed one is refused with where its file is, unless its
        file is not in the library yet (then :meth:`run` adds it)."""
        if self.needs_library_entry(self.get(download_id)):
            return
        self._refuse_completed(download_id)
        self.downloader.resume(download_id)

    def _refuse_completed(self, download_id: int) -> None:
        record = self.get(download_id)
        if record.status is DownloadStatus.COMPLETED:
            raise DownloadCompleteError(download_id, record.completed_path)

    def retry(self, download_id: int) -> None:
        self.get(download_id)
        self.downloader.retry(download_id)


def _say_on_stderr(line: str) -> None:
    print(f"atelier: {line}", file=sys.stderr, flush=True)


def _hashed_file(version: CivitaiVersion, file_hash: str | None) -> CivitaiFile | None:
    """The file of ``version`` with this hash (of any kind Civitai lists), when one has it: a version
    found by a file's hash may offer others (a pruned copy, a config) beside it."""
    if file_hash is None:
        return None
    wanted = file_hash.upper()
    return next((f for f in version.files if wanted in (h.upper() for h in f.hashes.values())), None)


def _choose_file(version: CivitaiVersion, file_id: int | None) -> CivitaiFile:
    if file_id is not None:
        for file in version.files:
            if file.id == file_id:
                return file
        raise DownloadTargetError(f"Civitai version {version.id} has no file {file_id}")
    chosen = version.primary_file or (version.files[0] if version.files else None)
    if chosen is None:
        raise DownloadTargetError(f"Civitai version {version.id} has no file to download")
    return chosen
