"""``atelier scan``, ``hash`` and ``enrich``: the after-scan chain (scan, hash, look up on Civitai, sync
mirrors) with a progress bar per step, as the window runs it (``app.after_scan``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from app.after_scan import ChainJobs, ChainSteps, LookupRequest, context_jobs, lookup_line, run_chain
from app.cli import EXIT_FAILED, EXIT_OK, CliError, Handler
from app.cli_arguments import user_path
from app.progress_bar import ProgressBar
from app.serialize import json_text
from core.jobs import CancelToken, ProgressCallback
from core.taxonomy import LibraryLayout

if TYPE_CHECKING:
    from app.context import AppContext
    from catalog.enrich import EnrichSummary


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    scan = sub.add_parser("scan", parents=[common])
    scan.add_argument("roots", nargs="*", type=user_path, help="folders to add (default: rescan every root)")
    scan.add_argument(
        "--layout", choices=[layout.value for layout in LibraryLayout], help="force the folder layout"
    )
    scan.add_argument("--no-hash", action="store_true", help="skip hashing new files after the scan")
    scan.add_argument(
        "--no-lookup",
        action="store_true",
        help="do not look new files up on Civitai after hashing (see the auto_lookup_civitai setting)",
    )
    scan.add_argument(
        "--force",
        action="store_true",
        help="the files a folder lacks were deleted, even most of them: mark them missing and catalog what "
        "is there (without it such a folder is left as it was: an unmounted share or a wrong mapping)",
    )
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")

    enrich_cmd = sub.add_parser("enrich", parents=[common])
    enrich_cmd.add_argument("--force", action="store_true", help="ask again about files not found before")
    enrich_cmd.add_argument("--no-covers", action="store_true", help="do not fetch cover images")
    enrich_cmd.add_argument("--json", action="store_true")

    hash_cmd = sub.add_parser(
        "hash",
        parents=[common],
        description="Hash the cataloged files that have no hashes yet, then look them up on Civitai by hash "
        "(unless --no-lookup or the auto_lookup_civitai setting is off).",
    )
    hash_cmd.add_argument(
        "--no-lookup",
        action="store_true",
        help="do not look the hashed files up on Civitai (see the auto_lookup_civitai setting)",
    )
    hash_cmd.add_argument("--json", action="store_true")


def cmd_scan(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    layout = LibraryLayout(args.layout) if args.layout else None
    root_ids: list[int] | None = None
    if args.roots:
        root_ids = []
        for path in args.roots:
            try:
                root = context.add_root(path, layout)
            except (NotADirectoryError, FileNotFoundError) as exc:
                raise CliError(str(exc)) from exc
            root_ids.append(root.id)
            if not args.json:
                print(f"Library folder: {root.path} ({root.layout.value} layout)", file=out)
    elif not context.reads.roots():
        raise CliError("no library folders yet: give one, e.g. `atelier scan ~/stable-diffusion-webui`")

    steps = ChainSteps(
        root_ids=tuple(root_ids) if root_ids is not None else None,
        hash=not args.no_hash,
        look_up=not args.no_hash and not args.no_lookup and context.load_settings().auto_lookup_civitai,
    )
    return _run_chain(context, steps, args, out)


def cmd_hash(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    steps = ChainSteps(scan=False, look_up=not args.no_lookup and context.load_settings().auto_lookup_civitai)
    return _run_chain(context, steps, args, out)


def cmd_enrich(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    steps = ChainSteps(
        scan=False, hash=False, lookup=LookupRequest(force=args.force, covers=not args.no_covers)
    )
    summary = run_chain(_with_progress_bars(context_jobs(context)), steps)
    if summary.lookup_problem is not None:
        raise CliError(summary.lookup_problem)
    looked_up = summary.looked_up
    assert looked_up is not None
    if looked_up.offline is not None:
        raise CliError(looked_up.offline)
    if args.json:
        json.dump(json_text(_summary_json(looked_up)), out, indent=2)
        out.write("\n")
    else:
        print(looked_up, file=out)
        for problem in looked_up.problems:
            print(f"  ! {problem}", file=out)
    return EXIT_FAILED if looked_up.failed else EXIT_OK


COMMANDS: dict[str, Handler] = {"scan": cmd_scan, "hash": cmd_hash, "enrich": cmd_enrich}


def _run_chain(context: AppContext, steps: ChainSteps, args: argparse.Namespace, out: TextIO) -> int:
    """The after-scan chain with a progress bar per step; prints each step's summary (or one JSON)."""
    jobs = context_jobs(context, files_gone=bool(getattr(args, "force", False)) and steps.scan)
    summary = run_chain(_with_progress_bars(jobs), steps)
    result: dict[str, Any] = {}
    if summary.scanned is not None:
        result["scan"] = _summary_json(summary.scanned)
        if not args.json:
            print(summary.scanned, file=out)
            for problem in getattr(summary.scanned, "problems", ()):
                print(f"  ! {problem}", file=out)
            if getattr(summary.scanned, "left_as_they_were", ()):
                print(GONE_HINT, file=out)
    if summary.hashed is not None:
        result["hash"] = _summary_json(summary.hashed)
        if not args.json:
            print(summary.hashed, file=out)
    if summary.looked_up is not None or summary.lookup_problem is not None:
        line = summary.lookup_problem or (lookup_line(summary.looked_up) if summary.looked_up else "")
        result["lookup"] = _summary_json(summary.looked_up) if summary.looked_up is not None else {}
        result["lookup"]["message"] = line or str(summary.looked_up)
        if not args.json and line:
            print(line, file=out)
    mirrored = summary.mirrored
    if mirrored is not None and getattr(mirrored, "reports", None):
        result["mirrors"] = [report.to_json() for report in getattr(mirrored, "reports", [])]
        held = any(getattr(report, "held", None) for report in getattr(mirrored, "reports", []))
        if not args.json and (held or getattr(mirrored, "changed", 0) + getattr(mirrored, "failed", 0) > 0):
            print(mirrored, file=out)
    if args.json:
        json.dump(json_text(result), out, indent=2)
        out.write("\n")
    hash_failed = getattr(summary.hashed, "failed", 0) if summary.scanned is None else 0
    return EXIT_FAILED if hash_failed else EXIT_OK


# Under a folder left as it was because most of its files are gone (ScanSummary.left_as_they_were).
GONE_HINT = (
    "  If those files were deleted: atelier scan FOLDER --force marks them missing"
    " and catalogs what is there."
)


def _with_progress_bars(jobs: ChainJobs) -> ChainJobs:
    """The same steps, each drawing its own bar on stderr (silent when stderr is not a terminal)."""
    look_up = jobs.look_up

    def scan(root_ids: Sequence[int] | None, _progress: ProgressCallback, cancel: CancelToken) -> object:
        with ProgressBar("Scanning", unit="file") as bar:
            return jobs.scan(root_ids, bar.update, cancel)

    def hash_files(_progress: ProgressCallback, cancel: CancelToken) -> object:
        with ProgressBar("Hashing", unit="B", unit_scale=True) as bar:
            return jobs.hash(bar.update, cancel)

    def look_up_files(
        request: LookupRequest, _progress: ProgressCallback, cancel: CancelToken
    ) -> EnrichSummary:
        assert look_up is not None
        with ProgressBar("Looking up on Civitai", unit="file") as bar:
            return look_up(request, bar.update, cancel)

    return ChainJobs(
        scan=scan,
        hash=hash_files,
        look_up=look_up_files if look_up is not None else None,
        sync_mirrors=jobs.sync_mirrors,
        merge_search_index=jobs.merge_search_index,
    )


def _summary_json(summary: object) -> dict[str, Any]:
    data = dict(vars(summary))
    data["message"] = str(summary)
    return data
