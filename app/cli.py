"""The headless commands: ``python main.py <command>`` (or ``atelier <command>``).

Each command prints a human summary by default and one JSON document with ``--json``. Errors print one
clear line on stderr and exit non-zero: 1 for a failure of the work, 2 for a usage error (``render`` and
``grid`` exit 3 when assets are missing from the library).
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app import (
    catalog_cli,
    convert_cli,
    curation_cli,
    download_cli,
    dupes_cli,
    exchange_cli,
    mirror_cli,
    organize_cli,
    organize_template_cli,
    remote_cli,
    render_cli,
    updates_cli,
)
from app.after_scan import ChainJobs, ChainSteps, LookupRequest, context_jobs, lookup_line, run_chain
from app.cli_ids import MAX_ROW_ID, asset_by_id_or_path
from app.command_access import refuse_if_read_only
from app.context import AppContext
from app.interrupts import EXIT_INTERRUPTED, ctrl_c_handling
from app.messages import user_message
from app.progress_bar import ProgressBar
from app.serialize import asset_to_json, inspection_to_json, root_to_json
from app.settings import DataDirError
from app.show_text import print_asset
from catalog.examine import examine, look_at, sidecar_problems
from catalog.records import AssetQuery, AssetRecord, HiddenFilter
from core.errors import AtelierError
from core.file_hashes import FileHashes
from core.formats.diffusers_folder import looks_like_diffusers
from core.formats.model_file import FormatError, UnreadableFileError
from core.formats.reader import read_header
from core.formats.safe_open import check_regular
from core.hashing import hash_file
from core.jobs import CancelToken, ProgressCallback
from core.layouts import MODEL_FILE_SUFFIXES
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from core.waits import WaitNotice, waits_reported_to

if TYPE_CHECKING:
    from catalog.enrich import EnrichSummary

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away
SEARCH_SOURCES = ("library", "civitai", "hf")
_INFO_SIDECARS = (".civitai.info", ".cm-info.json", ".metadata.json")


class CliError(AtelierError):
    """A failure to report as one line on stderr."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="where the catalog and settings live (default: $ATELIER_DATA_DIR or the platform's data dir)",
    )
    parser = argparse.ArgumentParser(
        prog="atelier",
        description="Atelier: a model library for Stable Diffusion. Without a command, opens the app.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", parents=[common], help="add library folders and scan them")
    scan.add_argument("roots", nargs="*", type=Path, help="folders to add (default: rescan every root)")
    scan.add_argument(
        "--layout", choices=[layout.value for layout in LibraryLayout], help="force the folder layout"
    )
    scan.add_argument("--no-hash", action="store_true", help="skip hashing new files after the scan")
    scan.add_argument(
        "--no-lookup",
        action="store_true",
        help="do not look new files up on Civitai after hashing (see the auto_lookup_civitai setting)",
    )
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")

    inspect = sub.add_parser("inspect", parents=[common], help="identify files (no catalog needed)")
    inspect.add_argument("paths", nargs="+", type=Path)
    inspect.add_argument("--json", action="store_true", help="print one JSON array")
    inspect.add_argument("--hash", action="store_true", help="also compute every hash")

    search = sub.add_parser(
        "search",
        parents=[common],
        help="search the library, Civitai or Hugging Face",
        description=(
            "search [library|civitai|hf] WORDS...: the library unless the first word names a site; "
            "options may come before, between or after the words"
        ),
    )
    search.add_argument("words", nargs="*", help="[civitai|hf|library] then the words to find")
    search.add_argument("--kind", action="append", choices=[k.value for k in AssetKind], default=[])
    search.add_argument("--arch", action="append", choices=[a.value for a in Architecture], default=[])
    search.add_argument("--tag", action="append", default=[], help="tag filter (repeatable)")
    search.add_argument(
        "--hidden",
        choices=["visible", "all", "only"],
        default="visible",
        help="library: files you hid (set --hidden) are left out unless 'all' or 'only'",
    )
    search.add_argument(
        "--type", action="append", default=[], help="Civitai model type: Checkpoint, LoRA, Embedding, ..."
    )
    search.add_argument(
        "--base-model", action="append", default=[], help="Civitai base model, e.g. 'SDXL 1.0'"
    )
    search.add_argument(
        "--sort", help="Civitai: 'Most downloaded', 'Highest rated', 'Newest'; hf: downloads, likes..."
    )
    search.add_argument("--period", help="Civitai: AllTime, Year, Month, Week or Day")
    search.add_argument("--nsfw", action="store_true", help="Civitai: include NSFW results")
    search.add_argument("--user", help="Civitai creator or Hugging Face author")
    search.add_argument("--cursor", help="Civitai: the cursor printed by the previous page")
    search.add_argument("--limit", type=int, default=None, help="results to show (library 100, sites 20)")
    search.add_argument("--json", action="store_true")

    show = sub.add_parser("show", parents=[common], help="show one asset by id or path")
    show.add_argument("target", help="asset id or file path")
    show.add_argument("--json", action="store_true")

    enrich_cmd = sub.add_parser("enrich", parents=[common], help="look up hashed files on Civitai")
    enrich_cmd.add_argument("--force", action="store_true", help="ask again about files not found before")
    enrich_cmd.add_argument("--no-covers", action="store_true", help="do not fetch cover images")
    enrich_cmd.add_argument("--json", action="store_true")

    download_cli.add_commands(sub, common)
    render_cli.add_commands(sub, common)
    mirror_cli.add_commands(sub, common)
    organize_cli.add_commands(sub, common)
    dupes_cli.add_commands(sub, common)
    organize_template_cli.add_commands(sub, common)
    convert_cli.add_commands(sub, common)
    exchange_cli.add_commands(sub, common)
    updates_cli.add_commands(sub, common)
    curation_cli.add_commands(sub, common)
    catalog_cli.add_commands(sub, common)

    roots = sub.add_parser("roots", parents=[common], help="list library folders")
    roots.add_argument("--json", action="store_true", help="print one JSON array")
    hash_cmd = sub.add_parser("hash", parents=[common], help="hash files that have no hashes yet")
    hash_cmd.add_argument("--json", action="store_true")
    return parser


def parse_command_line(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; ``search``'s words may come before, between or after its options.

    ``search civitai --type LORA pixel`` leaves "pixel" over after argparse's one run of positionals;
    for ``search`` such leftover words join the query, for every other command they are an error.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command == "search" and not any(item.startswith("-") for item in extra):
            args.words = [*args.words, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one headless command (``main.py`` opens the desktop app when no command is given)."""
    parser = build_parser()
    args = parse_command_line(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run_command(args)


def _name_bytes_or_backslash(error: UnicodeError) -> tuple[str | bytes, int]:
    """Encoding error handler for printed text: a file name's undecodable bytes go out as those bytes
    (what ``ls`` shows, and what a shell passes back to ``show``); any other unencodable character as a
    backslash escape. Printing a name never fails."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    if all(0xDC80 <= ord(char) <= 0xDCFF for char in chunk):
        return bytes(ord(char) - 0xDC00 for char in chunk), error.end
    return codecs.backslashreplace_errors(error)


codecs.register_error("atelier.names", _name_bytes_or_backslash)


def use_safe_output() -> None:
    """Make stdout and stderr print any file name: once, before a command prints anything.

    Python decodes file names that are not UTF-8 with lone surrogates, which no encoding accepts;
    without this ``search`` or ``show`` of such a file would end in a traceback.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="atelier.names")


def run_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    handlers = {
        "scan": _cmd_scan,
        "inspect": _cmd_inspect,
        "search": _cmd_search,
        "show": _cmd_show,
        "roots": _cmd_roots,
        "hash": _cmd_hash,
        "enrich": _cmd_enrich,
        "download": download_cli.cmd_download,
        "downloads": download_cli.cmd_downloads,
        "render": render_cli.cmd_render,
        "grid": render_cli.cmd_grid,
        "mirror": mirror_cli.cmd_mirror,
        **organize_cli.COMMANDS,
        **dupes_cli.COMMANDS,
        "organize": organize_template_cli.cmd_organize,
        "convert": convert_cli.cmd_convert,
        "export": exchange_cli.cmd_export,
        "import": exchange_cli.cmd_import,
        "updates": updates_cli.cmd_updates,
        **curation_cli.HANDLERS,
        **catalog_cli.COMMANDS,
    }
    try:
        context = AppContext(getattr(args, "data_dir", None))
    except DataDirError as exc:
        print(f"atelier {args.command}: {user_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # A site's "wait and try again" is said on stderr while the command waits (the window shows it
        # in the pane that asked); the result still goes to stdout.
        with (
            ctrl_c_handling(args.command) as stopped,
            waits_reported_to(lambda notice: _say_wait(args.command, notice)),
        ):
            refuse_if_read_only(context, args)  # a changing command in a read-only data folder: one line
            code = handlers[args.command](context, args, out)
        out.flush()  # a closed pipe shows here, inside the handling below, not at interpreter exit
        for line in stopped:  # Ctrl+C stopped an operation after a file: what it did, exit 130
            print(f"atelier {args.command}: {line}", file=sys.stderr)
        return EXIT_INTERRUPTED if stopped else code
    except BrokenPipeError:
        # The reader went away (``show 3 | head``): stop quietly, as command-line tools do.
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except (AtelierError, OSError, *download_cli.EXPECTED_ERRORS) as exc:
        # Every expected failure (remote, catalog, render, a file) is one line, never a traceback.
        return _report_error(args, out, user_message(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return _report_error(args, out, "interrupted", EXIT_INTERRUPTED)
    finally:
        context.close()


def _report_error(args: argparse.Namespace, out: TextIO, message: str, code: int) -> int:
    """The command's one error line on stderr; with ``--json`` also ``{"error", "exit_code"}`` on stdout,
    so a script reading the JSON sees the failure too."""
    print(f"atelier {args.command}: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        try:
            json.dump({"error": message, "exit_code": code}, out)
            out.write("\n")
            out.flush()
        except (BrokenPipeError, ValueError):
            silence_stdout()
    return code


def _say_wait(command: str, notice: WaitNotice) -> None:
    """Says a wait a user would notice (a second or more); a quick second try goes unsaid, so a
    failure stays the one line the command ends with."""
    if notice.seconds >= 1:
        print(f"atelier {command}: {notice.text()}", file=sys.stderr, flush=True)


# commands ---------------------------------------------------------------------------------------------
def _cmd_scan(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
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
    elif not context.library.roots():
        raise CliError("no library folders yet: give one, e.g. `atelier scan ~/stable-diffusion-webui`")

    steps = ChainSteps(
        root_ids=tuple(root_ids) if root_ids is not None else None,
        hash=not args.no_hash,
        look_up=not args.no_hash and not args.no_lookup and context.load_settings().auto_lookup_civitai,
    )
    return _run_chain(context, steps, args, out)


def _cmd_hash(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    steps = ChainSteps(scan=False, look_up=context.load_settings().auto_lookup_civitai)
    return _run_chain(context, steps, args, out)


def _run_chain(context: AppContext, steps: ChainSteps, args: argparse.Namespace, out: TextIO) -> int:
    """The after-scan chain with a progress bar per step; prints each step's summary (or one JSON)."""
    summary = run_chain(_with_progress_bars(context_jobs(context)), steps)
    result: dict[str, Any] = {}
    if summary.scanned is not None:
        result["scan"] = _summary_json(summary.scanned)
        if not args.json:
            print(summary.scanned, file=out)
            for problem in getattr(summary.scanned, "problems", ()):
                print(f"  ! {problem}", file=out)
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
        if not args.json and (getattr(mirrored, "changed", 0) + getattr(mirrored, "failed", 0)) > 0:
            print(mirrored, file=out)
    if args.json:
        json.dump(result, out, indent=2)
        out.write("\n")
    hash_failed = getattr(summary.hashed, "failed", 0) if summary.scanned is None else 0
    return EXIT_FAILED if hash_failed else EXIT_OK


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
    )


def _cmd_inspect(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    results: list[dict[str, Any]] = []
    failed = False
    for path in args.paths:
        if not (path.exists() or path.is_symlink()):
            print(f"atelier inspect: {path}: no such file or folder", file=sys.stderr)
            failed = True
            continue
        refusal = _not_a_model(path)
        if refusal is not None:
            print(f"atelier inspect: {path}: {refusal}", file=sys.stderr)
            failed = True
            continue
        results.append(_inspect_one(path, with_hashes=args.hash))
    if args.json:
        json.dump(results, out, indent=2)
        out.write("\n")
    else:
        for item in results:
            _print_inspection(item, out)
    return EXIT_FAILED if failed else EXIT_OK


def _not_a_model(path: Path) -> str | None:
    """Why ``path`` is not something to inspect at all (a plain folder, a sidecar), else None.

    A file with a model suffix, or any file whose bytes are a model format, is inspected (and reported
    corrupt when it is damaged); only what is plainly no model is turned away with one line.
    """
    if path.is_dir():
        if looks_like_diffusers(frozenset(entry.name for entry in os.scandir(path))):
            return None
        return (
            "a folder, not a diffusers model (no model_index.json or config.json); "
            "`scan` it to catalog the models inside"
        )
    if path.suffix.lower() in MODEL_FILE_SUFFIXES:
        return None
    try:
        check_regular(path)
    except UnreadableFileError:
        return None  # a named pipe or a broken link is inspected, and reported unreadable with why
    try:
        read_header(path)
    except FormatError:
        sidecar = next((s for s in _INFO_SIDECARS if path.name.lower().endswith(s)), None)
        what = f" (a {sidecar} sidecar: `show` the model beside it)" if sidecar else ""
        return f"not a model file{what}"
    except OSError:
        return None  # unreadable: inspected, and reported with its reason
    return None


def _inspect_one(path: Path, *, with_hashes: bool) -> dict[str, Any]:
    """What a scan would catalog for ``path``, read the same way (``catalog.examine``), never opening a
    named pipe, socket or device: those, and broken links, are ``unreadable`` with the reason."""
    scanned = examine(look_at(path))
    readable = scanned.status is not FileStatus.UNREADABLE
    hashes: FileHashes | None = None
    if with_hashes and readable and path.is_file():
        hashes = hash_file(path)
    item = inspection_to_json(
        path,
        size=scanned.size if readable else None,
        file_format=scanned.format,
        status=scanned.status,
        status_reason=scanned.status_reason,
        identification=scanned.identification,
        hashes=hashes,
        sidecars=scanned.sidecars,
        with_hashes=with_hashes,
    )
    if scanned.sidecars is not None and scanned.sidecars.errors:
        item["sidecar_problems"] = list(scanned.sidecars.errors)  # the model's own status is unaffected
    return item


def _print_inspection(item: dict[str, Any], out: TextIO) -> None:
    print(item["path"], file=out)
    for problem in item.get("sidecar_problems", ()):
        print(f"  sidecar:      {problem}", file=out)
    if item["status"] != FileStatus.OK.value:
        print(f"  status:       {item['status']} - {item['status_reason']}", file=out)
        return
    details = ", ".join(
        f"{key} {item[key]}" for key in ("network", "variant", "prediction", "precision") if item.get(key)
    )
    print(f"  kind:         {item['kind']} / {item['architecture']}", file=out)
    print(f"  format:       {item['format']}" + (f" ({details})" if details else ""), file=out)
    for reason in item["reasons"]:
        print(f"  because       {reason}", file=out)
    if item["kind"] == AssetKind.UNKNOWN.value:
        for refusal in item["refusals"]:
            print(f"  not           {refusal}", file=out)
    if item["trigger_words"]:
        print(f"  triggers:     {', '.join(item['trigger_words'])}", file=out)
    for key, value in (item.get("hashes") or {}).items():
        print(f"  {key + ':':13} {value or '-'}", file=out)


def _cmd_search(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    if args.limit is not None and args.limit < 1:
        raise CliError("--limit must be at least 1")
    if args.limit is not None:
        args.limit = min(args.limit, MAX_ROW_ID)  # "as many as there are": more than SQLite can count
    words = list(args.words)
    source = words.pop(0) if words and words[0] in SEARCH_SOURCES else "library"
    text = " ".join(words)
    try:
        if source == "civitai":
            return remote_cli.search_civitai(context, args, text, out)
        if source == "hf":
            return remote_cli.search_huggingface(context, args, text, out)
    except remote_cli.SearchOptionError as exc:
        print(f"atelier search: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _search_library(context, args, text, out)


def _search_library(context: AppContext, args: argparse.Namespace, text: str, out: TextIO) -> int:
    query = AssetQuery(
        text=text,
        kinds=tuple(AssetKind(k) for k in args.kind),
        architectures=tuple(Architecture(a) for a in args.arch),
        tags=tuple(args.tag),
        hidden=HiddenFilter(args.hidden),
        limit=args.limit or 100,
    )
    records = context.library.search(query)
    if args.json:
        json.dump([asset_to_json(r) for r in records], out, indent=2)
        out.write("\n")
        return EXIT_OK
    for record in records:
        print(_one_line(record), file=out)
    total = context.library.count(
        AssetQuery(
            text=query.text,
            kinds=query.kinds,
            architectures=query.architectures,
            tags=query.tags,
            hidden=query.hidden,
        )
    )
    print(f"{len(records)} of {total} shown", file=out)
    return EXIT_OK


def _one_line(record: AssetRecord) -> str:
    """One search hit; the Civitai name follows the file's own, so a hit found by it explains itself."""
    name = record.display_name or record.file_name
    status = "" if record.status is FileStatus.OK else f" [{record.status.value}]"
    remote = record.remote_model_name
    civitai = f"  ({remote})" if remote and remote.casefold() != name.casefold() else ""
    return f"{record.id:>6}  {record.kind.value:<12} {record.architecture.value:<12} {name}{civitai}{status}"


def _cmd_show(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    record = asset_by_id_or_path(library, args.target)
    data = asset_to_json(record, previews=library.previews(record.id), links=library.remote_links(record.id))
    # The catalog keeps what sidecars say, not their failures: read them now, so a problem stays in view.
    data["sidecar_problems"] = list(sidecar_problems(Path(record.path)))
    if args.json:
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_OK
    print_asset(data, out)
    return EXIT_OK


def _cmd_enrich(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
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
        json.dump(_summary_json(looked_up), out, indent=2)
        out.write("\n")
    else:
        print(looked_up, file=out)
        for problem in looked_up.problems:
            print(f"  ! {problem}", file=out)
    return EXIT_FAILED if looked_up.failed else EXIT_OK


def _cmd_roots(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    roots = context.library.roots()
    if args.json:
        json.dump([root_to_json(root) for root in roots], out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not roots:
        print("No library folders yet: add one with `atelier scan FOLDER`", file=out)
    for root in roots:
        files = "file " if root.file_count == 1 else "files"
        print(f"{root.id:>4}  {root.layout.value:<16} {root.file_count:>7} {files}  {root.path}", file=out)
    return EXIT_OK


# helpers ------------------------------------------------------------------------------------------------
def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush after a closed pipe stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout has no file descriptor (captured in tests): nothing will flush to a pipe


def _summary_json(summary: object) -> dict[str, Any]:
    data = dict(vars(summary))
    data["message"] = str(summary)
    return data
