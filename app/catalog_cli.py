"""``atelier new-catalog [--from BACKUP]``: a new empty library, or a backup put back, only when asked.

A catalog that was there and is now missing or unreadable is never replaced silently (see
``app.catalog_access``); this command is the user's way to say "start over" or "use this backup". What
was at the catalog's path is moved aside under a dated name, never deleted.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from app.cli_arguments import user_path
from app.serialize import json_text

if TYPE_CHECKING:
    from app.context import AppContext

EXIT_OK = 0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    new_catalog = sub.add_parser(
        "new-catalog",
        parents=[common],
        description="Moves the current catalog file (missing, damaged or not) aside as "
        "catalog.sqlite3.set-aside-<time>, then creates an empty catalog, or a copy of --from.",
    )
    new_catalog.add_argument(
        "--from", dest="source", type=user_path, metavar="BACKUP", help="an Atelier catalog file to copy in"
    )
    new_catalog.add_argument("--json", action="store_true")


def cmd_new_catalog(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    made = context.start_new_catalog(args.source)
    if args.json:
        data = {
            "catalog": str(made.catalog),
            "set_aside": [str(path) for path in made.set_aside],
            "restored_from": str(made.restored_from) if made.restored_from else None,
            "message": str(made),
        }
        json.dump(json_text(data), out, indent=2)
        out.write("\n")
    else:
        print(made, file=out)
    return EXIT_OK


COMMANDS = {"new-catalog": cmd_new_catalog}
