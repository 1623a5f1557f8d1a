"""The CLI's ``convert ID|PATH [--fp16] [--prune] [--trash-old] [--json]``.

Runs ``app.convert.convert_asset`` in the foreground with a progress bar on stderr; prints one summary
line (or one JSON object) with the new file's id and path. A refused file (unsafe pickle, not a pickle,
a hypernetwork, an existing ``.safetensors``) is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from app.cli_ids import asset_by_id_or_path
from app.context import AppContext
from app.progress_bar import ProgressBar
from app.serialize import asset_to_json, json_text

EXIT_OK = 0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    convert = sub.add_parser(
        "convert",
        parents=[common],
        description=(
            "Writes <stem>.safetensors beside the file with the same tensors and metadata, reads it back "
            "to verify it, catalogs it with the old file's tags, notes, rating and collections. An unsafe "
            "pickle is refused with the reason; an existing .safetensors is never replaced."
        ),
    )
    convert.add_argument("target", help="asset id or file path")
    convert.add_argument("--fp16", action="store_true", help="store float tensors as float16 (half the size)")
    convert.add_argument(
        "--prune",
        action="store_true",
        help="checkpoints: drop the EMA weights (model_ema.*) and optimizer state A1111 never loads",
    )
    convert.add_argument(
        "--trash-old", action="store_true", help="move the old file to the trash afterwards (undoable)"
    )
    convert.add_argument("--json", action="store_true")


def cmd_convert(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.convert import convert_asset  # numpy, safetensors and the pickle reader: only for this command

    library = context.library
    record = asset_by_id_or_path(library, args.target)
    with ProgressBar("Converting", unit="B", unit_scale=True) as bar:
        outcome = convert_asset(
            library,
            record.id,
            fp16=args.fp16,
            prune=args.prune,
            trash_old=args.trash_old,
            progress=bar.update,
        )
    if args.json:
        result = outcome.result
        data = {
            "source": str(result.source),
            "target": str(result.target),
            "old_asset_id": outcome.old_asset_id,
            "asset": asset_to_json(outcome.asset),
            "tensors": result.tensors,
            "fp16": result.fp16,
            "pruned": list(result.pruned),
            "layout": result.layout,
            "metadata": result.metadata,
            "source_size": result.source_size,
            "target_size": result.target_size,
            "old_file_trashed": bool(outcome.trashed and outcome.trashed.done),
        }
        json.dump(json_text(data), out, indent=2)
        out.write("\n")
        return EXIT_OK
    print(outcome.summary, file=out)
    print(f"New asset {outcome.asset.id}: {outcome.asset.path}", file=out)
    return EXIT_OK


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"convert": cmd_convert}
