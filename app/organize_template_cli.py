"""The CLI's ``organize --template T [--dry-run] [--root ID|PATH] [--kind K] [ID|PATH...]``.

The plan is shown first (from -> to, conflicts, unchanged): with ``--dry-run`` nothing else happens.
Otherwise the conflict-free moves are applied through the journaling engine (``app.organize.engine``)
with a progress bar; Ctrl+C stops cleanly after the file being moved (a second Ctrl+C interrupts at once,
and the journal still completes or rolls back that file on the next start). A kill at any moment is
repaired by the next run: opening the library runs the engine's recovery first. Conflicts are never
applied: they are listed, and the command exits 1 so a script notices that not everything was organized.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from app.cli_ids import assets_by_ids_or_paths, is_row_id
from app.context import AppContext
from app.progress_bar import ProgressBar
from core.errors import AtelierError
from core.jobs import CancelToken
from core.organize.template import DEFAULT_TEMPLATE, fields_help
from core.taxonomy import AssetKind

if TYPE_CHECKING:
    from app.organize.engine import OperationResult
    from app.organize.template_plan import TemplatePlan
    from catalog.library import Library
    from catalog.records import RootRecord

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT: stopped by Ctrl+C, what was moved is kept
SHOWN_MOVES = 50  # a dry run lists this many moves, then counts the rest (--json lists all)

FIELDS_EPILOG = (
    "template fields ({field}, or {field|text} for a default when a file has no value):\n"
    + fields_help()
    + "\n\nParts that come out empty are left out. The file keeps its name unless the last part uses "
    "{file_name} or {ext}.\nExample: organize --template '{kind}/{architecture}/{base_label}/{creator}/"
    "{model_name}' --dry-run"
)


class OrganizeOptionError(AtelierError):
    """A library folder or asset given on the command line that the library does not have."""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    organize = sub.add_parser(
        "organize",
        parents=[common],
        help="move files into folders named by a template (plan first with --dry-run)",
        description="Move model files (with their sidecars and previews) into the folders a template "
        "names, relative to their library folder.",
        epilog=FIELDS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    organize.add_argument(
        "assets", nargs="*", help="only these files (ids or paths); default: the whole library"
    )
    organize.add_argument(
        "--template",
        help=f"where files go, e.g. '{{kind}}/{{architecture}}/{{creator}}' "
        f"(default: the organize_template setting, else {DEFAULT_TEMPLATE})",
    )
    organize.add_argument("--dry-run", action="store_true", help="show the plan, move nothing")
    organize.add_argument(
        "--root", help="the library folder (id or path) files go into; default: each file's own"
    )
    organize.add_argument(
        "--from",
        dest="from_roots",
        action="append",
        default=[],
        help="only files of this library folder (id or path; repeatable)",
    )
    organize.add_argument(
        "--kind",
        action="append",
        default=[],
        type=str.lower,
        choices=[kind.value for kind in AssetKind],
        help="only files of this kind (repeatable)",
    )
    organize.add_argument("--fields", action="store_true", help="list the template fields and exit")
    organize.add_argument("--json", action="store_true")


def cmd_organize(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.organize.template_plan import TemplateScope, plan_template

    if args.fields:
        print(fields_help(), file=out)
        return EXIT_OK
    library = context.library  # opening it completes or rolls back an operation a kill cut off
    template = args.template or str(context.settings.organize_template) or DEFAULT_TEMPLATE
    roots = library.roots()
    target_root = _root(roots, args.root).id if args.root else None
    scope = TemplateScope(
        asset_ids=tuple(r.id for r in assets_by_ids_or_paths(library, args.assets)) if args.assets else None,
        kinds=tuple(AssetKind(kind) for kind in args.kind),
        root_ids=tuple(_root(roots, text).id for text in args.from_roots),
    )
    planned = plan_template(library, template, scope=scope, target_root=target_root)
    if args.dry_run:
        _print_plan(planned, out, dry_run=True, as_json=args.json)
        return EXIT_FAILED if planned.plan.conflicts else EXIT_OK
    if not args.json:
        _print_plan(planned, out, dry_run=False, as_json=False)
    if planned.plan.is_empty:
        if args.json:
            json.dump(_plan_json(planned, dry_run=False), out, indent=2)
            out.write("\n")
        return EXIT_FAILED if planned.plan.conflicts else EXIT_OK
    result = _apply(library, planned)
    if args.json:
        document = _plan_json(planned, dry_run=False)
        document["result"] = {
            "operation_id": result.operation_id,
            "done": result.done,
            "skipped": result.skipped,
            "failed": [{"path": path, "reason": reason} for path, reason in result.failed],
            "cancelled": result.cancelled,
        }
        json.dump(document, out, indent=2)
        out.write("\n")
    else:
        print(_result_line(result), file=out)
        for path, reason in result.failed:
            print(f"  ! {path}: {reason}", file=out)
    if result.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if result.failed or planned.plan.conflicts else EXIT_OK


def _apply(library: Library, planned: TemplatePlan) -> OperationResult:
    from app.organize.template_plan import apply_template

    token = CancelToken()
    with _ctrl_c_cancels(token), ProgressBar("Organizing", unit="file") as bar:
        return apply_template(library, planned, progress=bar.update, cancel=token)


@contextmanager
def _ctrl_c_cancels(token: CancelToken) -> Iterator[None]:
    """The first Ctrl+C asks the engine to stop after the current file; a second one interrupts."""
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\natelier organize: stopping after the current file…", file=sys.stderr, flush=True)

    try:
        signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread (a test calling run_command from a worker): no handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _root(roots: list[RootRecord], text: str) -> RootRecord:
    """The library folder ``text`` names: its id (as ``roots`` lists it) or its path."""
    wanted = text.strip()
    if wanted.isdigit() and not Path(wanted).exists():
        found = next((r for r in roots if is_row_id(int(wanted)) and r.id == int(wanted)), None)
    else:
        path = str(Path(wanted).expanduser().resolve())
        found = next((r for r in roots if r.path == path), None)
    if found is None:
        raise OrganizeOptionError(f"{text!r} is not a library folder (see `atelier roots`)")
    return found


def _plan_json(planned: TemplatePlan, *, dry_run: bool) -> dict[str, Any]:
    plan = planned.plan
    return {
        "template": planned.template.text,
        "dry_run": dry_run,
        "considered": planned.considered,
        "moves": [
            {
                "id": move.asset_id,
                "from": str(move.source),
                "to": str(move.target),
                "companions": [{"from": str(a), "to": str(b)} for a, b in move.companions],
            }
            for move in plan.moves
        ],
        "conflicts": [
            {
                "id": conflict.asset_id,
                "from": str(conflict.source),
                "to": str(conflict.target),
                "reason": conflict.reason,
                "code": conflict.code,
            }
            for conflict in plan.conflicts
        ],
        "unchanged": len(plan.unchanged),
    }


def _print_plan(planned: TemplatePlan, out: TextIO, *, dry_run: bool, as_json: bool) -> None:
    if as_json:
        json.dump(_plan_json(planned, dry_run=dry_run), out, indent=2)
        out.write("\n")
        return
    plan = planned.plan
    print(f"Template: {planned.template.text}", file=out)
    if dry_run:
        for move in plan.moves[:SHOWN_MOVES]:
            extra = f"  (+{len(move.companions)} beside it)" if move.companions else ""
            print(f"  {planned.relative(move.source)}  ->  {planned.relative(move.target)}{extra}", file=out)
        if len(plan.moves) > SHOWN_MOVES:
            print(f"  … and {len(plan.moves) - SHOWN_MOVES} more (--json lists every move)", file=out)
    for conflict in plan.conflicts:
        print(f"  ! {planned.relative(conflict.source)}: {conflict.reason}", file=out)
    files = plan.file_count
    companions = f" ({files} files with sidecars and previews)" if files != len(plan.moves) else ""
    summary = (
        f"{len(plan.moves)} to move{companions}, {len(plan.conflicts)} "
        f"conflict{'s' if len(plan.conflicts) != 1 else ''}, {len(plan.unchanged)} already in place"
    )
    print(summary + (" — dry run: nothing was moved" if dry_run else ""), file=out)


def _result_line(result: OperationResult) -> str:
    if result.cancelled:
        return f"Stopped: {result.done} moved, the rest left where they were (run it again to go on)"
    failed = f", {len(result.failed)} failed" if result.failed else ""
    return f"Moved {result.done} file(s){failed} (undo with `atelier undo`)"
