"""The CLI's ``export FILE [--format csv|json]`` and ``import FILE [--download-missing] [--yes]``.

``import`` always merges the list's user data into the files it matches (it only adds, see
``app.exchange``), then lists what is missing. ``--download-missing`` downloads the missing rows that
name a Civitai version or a Hugging Face file, after asking on a terminal; ``--yes`` skips the question
(and is required when stdin is not a terminal, so a script never downloads gigabytes by accident).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from app.cli_arguments import user_path
from app.confirm import ask
from app.context import AppContext
from app.progress_bar import ProgressBar
from app.serialize import json_text
from core.sizes import human_size

if TYPE_CHECKING:  # the use case loads with the command that needs it
    from app.exchange import ImportResult, ListEntry, MissingDownload

EXIT_OK = 0
EXIT_FAILED = 1


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    export = sub.add_parser(
        "export",
        parents=[common],
    )
    export.add_argument("file", type=user_path, help="the list to write (.csv or .json)")
    export.add_argument("--format", choices=["csv", "json"], help="default: from the file's extension")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")

    imp = sub.add_parser(
        "import",
        parents=[common],
    )
    imp.add_argument("file", type=user_path, help="a list written by `export` (.csv or .json)")
    imp.add_argument(
        "--download-missing",
        action="store_true",
        help="download the missing files that have a Civitai version or Hugging Face link",
    )
    imp.add_argument(
        "--to",
        type=user_path,
        help="library folder to download the missing files into, each into its kind's folder there (as "
        "`download --to`); default: the download folder of the settings, else the first library folder",
    )
    imp.add_argument("--yes", action="store_true", help="download without asking")
    imp.add_argument("--json", action="store_true")


def cmd_export(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.exchange import export_library

    summary = export_library(context.library, args.file, args.format)
    if args.json:
        data = {"path": str(summary.path), "format": summary.format, "count": summary.count}
        json.dump(json_text(data), out, indent=2)
        out.write("\n")
    else:
        print(summary, file=out)
    return EXIT_OK


def cmd_import(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.exchange import ExchangeError, download_missing, import_list

    result = import_list(context.library, args.file)
    plan = result.plan
    downloads: list[MissingDownload] = []
    if args.download_missing and plan.downloadable:
        if not args.yes and not _confirmed(plan.downloadable):
            raise ExchangeError("nothing downloaded: add --yes to download the missing files without asking")
        with ProgressBar.of_bytes("Downloading") as bar:
            downloads = download_missing(
                context.downloads, context.library, plan.downloadable, progress=bar.update, to=args.to
            )
    if args.json:
        json.dump(json_text(_result_json(result, downloads)), out, indent=2)
        out.write("\n")
    else:
        _print_result(result, downloads, out, offered=not args.download_missing)
    return EXIT_FAILED if any(item.error for item in downloads) else EXIT_OK


def _confirmed(entries: tuple[ListEntry, ...]) -> bool:
    size = sum(entry.size or 0 for entry in entries)
    noun = "file" if len(entries) == 1 else "files"
    return ask(f"Download {len(entries)} missing {noun} ({human_size(size)})?")


def _print_result(
    result: ImportResult, downloads: list[MissingDownload], out: TextIO, *, offered: bool
) -> None:
    print(result.summary(), file=out)
    plan = result.plan
    for entry in plan.missing:
        where = entry.download_target or "no Civitai or Hugging Face link"
        print(f"  missing: {entry.file_name}  ({where})", file=out)
    for item in downloads:
        if item.error:
            print(f"  ! {item.entry.file_name}: {item.error}", file=out)
        else:
            print(f"  downloaded: {item.path} (asset {item.asset_id})", file=out)
    if offered and plan.downloadable:
        linked = len(plan.downloadable)
        files = "the 1 file that has a link" if linked == 1 else f"the {linked:,} files that have a link"
        print(f"Add --download-missing to download {files}.", file=out)


def _result_json(result: ImportResult, downloads: list[MissingDownload]) -> dict[str, Any]:
    plan = result.plan
    return {
        "matched": [
            {"file_name": m.entry.file_name, "asset_ids": list(m.asset_ids), "by": m.by} for m in plan.matched
        ],
        "updated_asset_ids": list(result.updated),
        "missing": [
            {
                "file_name": entry.file_name,
                "sha256": entry.sha256,
                "size": entry.size,
                "download_target": entry.download_target,
            }
            for entry in plan.missing
        ],
        "unhashed_here": plan.unhashed_here,
        "rows": plan.rows,
        "repeated_rows": plan.repeated,
        "verbatim_rows": plan.verbatim,
        "downloads": [
            {
                "file_name": item.entry.file_name,
                "target": item.target,
                "asset_id": item.asset_id,
                "path": item.path,
                "error": item.error,
            }
            for item in downloads
        ],
        "message": result.summary(),
    }


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"export": cmd_export, "import": cmd_import}
