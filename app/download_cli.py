"""The CLI's download commands: ``download TARGET... [--to FOLDER]`` and ``downloads [ACTION] [ID]``.

A download runs in the foreground with a progress bar, through the same ``DownloadService`` as the
window. One stopped by Ctrl+C is paused with its ``.part`` file and continues only with ``downloads
resume [ID]`` (or Resume in the window); one cut off by a lost connection fails with its bytes and
continues the same way. One cut off by a crash (the process killed while it ran) is found on the next
start and shown as interrupted with the bytes on disk; the window continues it when it opens, while a
``download`` command downloads only what it was asked for and names it with the command that continues it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.cli_ids import row_id
from app.context import AppContext
from app.download_service import (
    AlreadyInLibraryError,
    DeletedBeforeError,
    DownloadCompleteError,
    DownloadService,
    DownloadTargetError,
    FinishedDownload,
    Queued,
)
from app.download_targets import TargetError
from app.progress_bar import ProgressBar
from app.serialize import json_text
from core.downloads import DownloadRecord, DownloadStatus
from core.sizes import human_size
from core.sources.errors import RemoteError

EXIT_OK = 0
EXIT_FAILED = 1

# The errors a download command reports as one line (the CLI adds the remote sites' errors).
EXPECTED_ERRORS = (RemoteError, DownloadTargetError, TargetError)


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    download = sub.add_parser("download", parents=[common])
    download.add_argument(
        "targets",
        nargs="+",
        help="civitai:VERSION[:FILE], a Civitai model/download URL, hf:ORG/NAME[@REV]/PATH, or a file's "
        "hash as the render plan and A1111 infotext show it (AutoV2, AutoV3, SHA-256...: found on Civitai)",
    )
    download.add_argument(
        "--again",
        action="store_true",
        help="download even when the library already has the file (a second copy) or you deleted it before",
    )
    download.add_argument(
        "--to",
        help="folder to download into: a library folder, a folder inside one, or a new folder (added "
        "to the library); default: the download folder of the settings, else the first library folder",
    )
    download.add_argument("--json", action="store_true")

    queue = sub.add_parser("downloads", parents=[common])
    queue.add_argument("action", nargs="?", choices=["list", "resume", "cancel"], default="list")
    queue.add_argument(
        "id",
        nargs="?",
        type=row_id,
        help="the download's id (cancel needs one; resume without one continues every interrupted or "
        "paused download, and every failed one that kept bytes, e.g. after a full disk)",
    )
    queue.add_argument("--json", action="store_true")


def cmd_download(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    to = _to_folder(args.to)
    service = context.downloads
    targets = [service.parse_target(text) for text in args.targets]  # all checked before any fetch
    service.recover_interrupted()
    results: list[dict[str, Any]] = []
    done: set[int] = set()
    for target in targets:
        try:
            queued = service.enqueue(target, to=to, again=args.again)
        except AlreadyInLibraryError as owned:  # in the library, or deleted from it on purpose
            results.append(_owned_json(owned))
            if not args.json:
                again = "it anyway" if isinstance(owned, DeletedBeforeError) else "a second copy"
                print(f"{owned} (--again downloads {again})", file=out)
            continue
        if queued.created_root and not args.json:
            print(_created_line(queued), file=out)
        finished = _run(service, queued.download_id)
        done.add(queued.download_id)
        results.append(_finished_json(queued.download_id, finished))
        if not args.json:
            print(_finished_line(finished), file=out)
    if not args.json:  # a command downloads what it was asked for; the others wait to be asked
        for record in service.interrupted():
            if record.id not in done:
                print(_waiting_line(record), file=out)
    if args.json:
        json.dump(json_text(results), out, indent=2)
        out.write("\n")
    return _wait_for_disk(service, "download")


def cmd_downloads(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    service = context.downloads
    if not context.read_only:  # a read-only data folder lists the queue as it was left
        service.recover_interrupted()
    if args.action == "cancel" and args.id is None:
        raise DownloadTargetError("downloads cancel needs the download's id (see `downloads list`)")
    if args.action == "cancel":
        service.cancel(args.id)  # a completed one is refused (DownloadCompleteError)
        print(f"Download {args.id} cancelled; its partial file was removed.", file=out)
        return EXIT_OK
    if args.action == "resume":
        ids = [args.id] if args.id is not None else _stopped_ids(service)
        if not ids:
            print("Nothing to resume: no interrupted, paused or partly downloaded failed download.", file=out)
        for download_id in ids:
            try:
                service.resume(download_id)
            except DownloadCompleteError as complete:
                print(complete, file=out)
                continue
            print(_finished_line(_run(service, download_id)), file=out)
        return _wait_for_disk(service, "downloads")
    records = service.list()
    if args.json:
        json.dump(json_text([_record_json(r) for r in records]), out, indent=2)
        out.write("\n")
    else:
        for record in records:
            print(_record_line(record), file=out)
        if not records:
            print("No downloads yet.", file=out)
    return EXIT_OK


def _wait_for_disk(service: DownloadService, command: str) -> int:
    """The exit join: a finished file's last flush runs behind the download (``core.download_flush``);
    the command ends once it is done, saying so on stderr when that takes over a second."""

    def say(line: str) -> None:
        print(f"atelier {command}: {line}", file=sys.stderr, flush=True)

    failures = service.finish_writes(say)
    for failure in failures:
        say(failure)
    return EXIT_FAILED if failures else EXIT_OK


def _stopped_ids(service: DownloadService) -> list[int]:
    """Downloads ``resume`` continues: interrupted, paused, and failed ones with bytes kept on disk
    (a full disk, a site that gave up: "free some space and resume" must mean this command), and
    completed ones whose file a stop kept out of the library."""
    stopped = (DownloadStatus.INTERRUPTED, DownloadStatus.PAUSED)
    return [
        record.id
        for record in service.list()
        if record.status in stopped
        or (record.status is DownloadStatus.FAILED and record.bytes_done > 0)
        or service.needs_library_entry(record)
    ]


def _to_folder(text: str | None) -> Path | None:
    """``--to``'s folder; an empty one is refused (``Path("")`` would silently be the current folder)."""
    if text is None:
        return None
    if not text.strip():
        raise DownloadTargetError("--to needs a folder")
    return Path(text)


def _created_line(queued: Queued) -> str:
    layout = f"({queued.root.layout.value} layout)"
    if queued.created_folder:
        return f"Created {queued.root.path} and added it as a library folder {layout}"
    return f"Added {queued.root.path} as a library folder {layout}"


def _owned_json(owned: AlreadyInLibraryError) -> dict[str, Any]:
    if isinstance(owned, DeletedBeforeError):
        deleted = owned.deleted
        return {
            "download_id": None,
            "deleted_before": True,
            "deleted_at": deleted.deleted_at.isoformat(),
            "path": deleted.path,
            "model_name": deleted.model_name,
            "version_name": deleted.version_name,
            "version_id": deleted.version_id,
            "sha256": deleted.sha256,
            "message": str(owned),
        }
    asset = owned.asset
    return {
        "download_id": None,
        "already_in_library": True,
        "path": asset.path,
        "asset_id": asset.id,
        "kind": asset.kind.value,
        "architecture": asset.architecture.value,
        "sha256": asset.hashes.sha256 if asset.hashes else None,
    }


def _run(service: DownloadService, download_id: int) -> FinishedDownload:
    """Run one download in the foreground; Ctrl+C pauses it with its bytes (continued only when asked)."""
    try:
        with ProgressBar.of_bytes(f"Downloading #{download_id}") as bar:
            finished = service.run(download_id, bar.update)
    except KeyboardInterrupt:
        record = service.mark_stopped(download_id)
        print(f"\n{_stopped_line(service, record)}", file=sys.stderr, flush=True)
        raise
    if finished.stop_asked:  # Ctrl+C while the finished file entered the library: it did; stop now
        print(_finished_line(finished), file=sys.stderr, flush=True)
        raise KeyboardInterrupt
    return finished


def _kept(record: DownloadRecord) -> str:
    size = record.total or record.expected_size
    of = f" of {human_size(size)}" if size else ""
    return f"{human_size(record.bytes_done)}{of} kept"


def _stopped_line(service: DownloadService, record: DownloadRecord) -> str:
    if service.needs_library_entry(record):
        return (
            f"Download #{record.id} ({_name(record)}) is complete in {record.completed_path} but was not "
            f"added to the library; `downloads resume {record.id}` adds it (nothing is downloaded again)."
        )
    return (
        f"Download #{record.id} ({_name(record)}) paused, {_kept(record)}; "
        f"`downloads resume {record.id}` continues it."
    )


def _waiting_line(record: DownloadRecord) -> str:
    """An earlier download a crash or a kill cut off: named, not continued (this command has its own)."""
    return (
        f"Download #{record.id} ({_name(record)}) was cut off earlier, {_kept(record)}; "
        f"`downloads resume {record.id}` continues it."
    )


def _finished_line(finished: FinishedDownload) -> str:
    where = (
        f" (in the library as #{finished.asset.id}, {finished.asset.kind.value})" if finished.asset else ""
    )
    return f"Downloaded {finished.path}{where}"


def _finished_json(download_id: int, finished: FinishedDownload) -> dict[str, Any]:
    asset = finished.asset
    return {
        "download_id": download_id,
        "path": str(finished.path),
        "asset_id": asset.id if asset else None,
        "kind": asset.kind.value if asset else None,
        "architecture": asset.architecture.value if asset else None,
        "sha256": asset.hashes.sha256 if asset and asset.hashes else None,
    }


def _record_line(record: DownloadRecord) -> str:
    size = record.total or record.expected_size
    progress = f"{human_size(record.bytes_done)} / {human_size(size) if size else '?'}"
    error = f"  - {record.error}" if record.error else ""
    if record.status is DownloadStatus.PAUSED and not record.error:
        error = f"  - stopped by you; `downloads resume {record.id}` continues it"
    name = _name(record)
    return f"{record.id:>5}  {record.status.value:<10} {progress:>20}  {name}{error}"


def _record_json(record: DownloadRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": record.status.value,
        "source": record.source.value,
        "url": record.url,
        "file_name": record.file_name,
        "target_dir": str(record.target_dir),
        "bytes_done": record.bytes_done,
        "total": record.total,
        "error": record.error,
        "completed_path": str(record.completed_path) if record.completed_path else None,
        "remote_ids": dict(record.remote_ids),
    }


def _name(record: DownloadRecord) -> str:
    return record.file_name or record.suggested_name or record.url


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"download": cmd_download, "downloads": cmd_downloads}
