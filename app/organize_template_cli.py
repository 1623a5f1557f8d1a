"""The CLI's ``organize --template T [--dry-run] [--root ID|PATH] [--kind K] [ID|PATH...]``.

The plan is shown first (from -> to, conflicts, unchanged): with ``--dry-run`` nothing else happens.
Conflicts are handled as ``move`` handles them: they are listed and nothing moves (exit 1) unless
``--rename-conflicts`` (``name (2).safetensors``) or ``--skip-conflicts`` (move the rest) says what to do;
a conflict is never applied. Then the command asks ("Move 400 files (1,000 with sidecars and previews)?")
on a terminal; without one it needs ``--yes``, as ``delete`` and ``dupes --resolve`` do, so a script never
reorganizes a library by accident. The moves go through the journaling engine (``app.organize.engine``)
with a progress bar; Ctrl+C stops cleanly after the file being moved (a second Ctrl+C interrupts at once,
and the journal still completes or rolls back that file on the next start). A kill at any moment is
repaired by the next run: opening the library runs the engine's recovery first.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from app.cli_ids import assets_by_ids_or_paths, root_by_id_name_or_path
from app.confirm import ask
from app.context import AppContext
from app.progress_bar import ProgressBar
from app.serialize import json_text
from core.errors import AtelierError
from core.organize.plan import REASON_EXISTS, REASON_TAKEN
from core.organize.template import DEFAULT_TEMPLATE, FIELDS, fields_help
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
        "--root", help="the library folder (id, name or path) files go into; default: each file's own"
    )
    organize.add_argument(
        "--from",
        dest="from_roots",
        action="append",
        default=[],
        help="only files of this library folder (id, name or path; repeatable)",
    )
    organize.add_argument(
        "--kind",
        action="append",
        default=[],
        type=str.lower,
        choices=[kind.value for kind in AssetKind],
        help="only files of this kind (repeatable)",
    )
    conflicts = organize.add_mutually_exclusive_group()
    conflicts.add_argument(
        "--rename-conflicts",
        action="store_true",
        help='add " (2)", " (3)"... to a name already taken (default: nothing moves while any conflicts)',
    )
    conflicts.add_argument(
        "--skip-conflicts", action="store_true", help="leave files whose target is taken, move the rest"
    )
    organize.add_argument(
        "--yes", "-y", action="store_true", help="do not ask before moving (needed without a terminal)"
    )
    organize.add_argument("--fields", action="store_true", help="list the template fields and exit")
    organize.add_argument("--json", action="store_true")


def cmd_organize(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.organize.template_plan import TemplateScope, plan_template

    if args.fields:
        if args.json:  # each field with what it holds, as --fields prints them
            json.dump([{"field": name, "description": text} for name, text in FIELDS.items()], out, indent=2)
            out.write("\n")
        else:
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
    planned = plan_template(
        library, template, scope=scope, target_root=target_root, rename_conflicts=args.rename_conflicts
    )
    blocked = bool(planned.plan.conflicts) and not args.skip_conflicts
    if args.dry_run:
        _print_plan(planned, out, dry_run=True, as_json=args.json)
        return EXIT_FAILED if blocked else EXIT_OK
    if not args.json:
        _print_plan(planned, out, dry_run=False, as_json=False)
    if blocked or planned.plan.is_empty:
        if args.json:
            _dump({**_plan_json(planned, dry_run=False), "result": None}, out)
        if blocked:
            _refuse_conflicts(planned, rename_offered=not args.rename_conflicts)
            return EXIT_FAILED
        return EXIT_OK
    if not args.yes and not _confirmed(planned, skipped=len(planned.plan.conflicts)):
        print("Nothing was moved.", file=out)
        return EXIT_OK
    result = _apply(library, planned)
    if args.json:
        document = _plan_json(planned, dry_run=False)
        document["result"] = {
            "operation_id": result.operation_id,
            "done": result.done,
            "skipped": result.skipped,
            "failed": [{"path": path, "reason": reason} for path, reason in result.failed],
            "cancelled": result.cancelled,
            "notes": list(result.notes),
        }
        _dump(document, out)
    else:
        print(_result_line(planned, result), file=out)
        for path, reason in result.failed:
            print(f"  ! {path}: {reason}", file=out)
        for note in result.notes:
            print(f"Note: {note}", file=out)
    if result.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if result.failed else EXIT_OK


def _refuse_conflicts(planned: TemplatePlan, *, rename_offered: bool) -> None:
    """The one-line refusal (on stderr, as every command's errors) and what to add to go on; the
    conflicts themselves were listed with the plan. As ``move``: nothing moves until the user says
    what to do with them."""
    conflicts = planned.plan.conflicts
    print(
        f"atelier organize: {_count(len(conflicts), 'conflict')}, nothing was moved "
        "(nothing is ever overwritten)",
        file=sys.stderr,
    )
    renamable = rename_offered and any(c.code in (REASON_EXISTS, REASON_TAKEN) for c in conflicts)
    rename = 'use --rename-conflicts to add " (2)" to taken names, or ' if renamable else "use "
    print(f"  {rename}--skip-conflicts to move the rest and leave these", file=sys.stderr)


def _confirmed(planned: TemplatePlan, *, skipped: int) -> bool:
    """Whether the user agrees to move the plan's files ("Move 400 files (1,000 with sidecars)?").
    Without a terminal nothing is asked and nothing moves: a script says --yes (as for ``delete``)."""
    moves = planned.plan.move_count
    question = move_question(moves, planned.plan.file_count, skipped=skipped)
    refusal = f"not moving {moves:,} file{'s' if moves != 1 else ''} without confirmation"
    return ask(question, refusal=refusal)


def move_question(moves: int, files: int, *, skipped: int = 0) -> str:
    """ "Move 400 files (1,000 with sidecars and previews)?", with the conflicts left where they are."""
    question = f"Move {_count(moves, 'file')}"
    if files != moves:
        question += f" ({files:,} with sidecars and previews)"
    if skipped:
        question += f", leaving {_count(skipped, 'conflict')} in place"
    return question + "?"


def _count(number: int, noun: str) -> str:
    """ "1 file", "1,000 files"."""
    return f"{number:,} {noun}{'s' if number != 1 else ''}"


def _dump(document: dict[str, Any], out: TextIO) -> None:
    json.dump(json_text(document), out, indent=2)
    out.write("\n")


def _apply(library: Library, planned: TemplatePlan) -> OperationResult:
    from app.organize.template_plan import apply_template

    # Ctrl+C stops after the current file: the engine's operations are stoppable (app.interrupts).
    with ProgressBar("Organizing", unit="file") as bar:
        return apply_template(library, planned, progress=bar.update)


def _root(roots: list[RootRecord], text: str) -> RootRecord:
    """The library folder ``text`` names: its id (as ``roots`` lists it), its name or its path."""
    found = root_by_id_name_or_path(roots, text)
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
        json.dump(json_text(_plan_json(planned, dry_run=dry_run)), out, indent=2)
        out.write("\n")
        return
    from app.organize.template_plan import companions_text

    plan = planned.plan
    print(f"Template: {planned.template.text}", file=out)
    if dry_run:
        for move in plan.moves[:SHOWN_MOVES]:
            companions = companions_text(target for _, target in move.companions)
            extra = f"  (with {companions})" if companions else ""
            print(f"  {planned.relative(move.source)}  ->  {planned.relative(move.target)}{extra}", file=out)
        if len(plan.moves) > SHOWN_MOVES:
            print(f"  … and {len(plan.moves) - SHOWN_MOVES} more (--json lists every move)", file=out)
    for conflict in plan.conflicts:
        print(f"  ! {planned.relative(conflict.source)}: {conflict.reason}", file=out)
    files = plan.file_count
    companions = f" ({files:,} files with sidecars and previews)" if files != len(plan.moves) else ""
    summary = (
        f"{len(plan.moves):,} to move{companions}, {_count(len(plan.conflicts), 'conflict')}, "
        f"{len(plan.unchanged):,} already in place"
    )
    print(summary + (" — dry run: nothing was moved" if dry_run else ""), file=out)


def _result_line(planned: TemplatePlan, result: OperationResult) -> str:
    """What was done, in words: "Moved 400 files with 550 sidecars and 50 previews", or how far a
    stopped run got."""
    from app.organize.template_plan import companions_text

    total = planned.plan.move_count
    if result.cancelled:
        return (
            f"Stopped: {result.done:,} of {total:,} file{'s' if total != 1 else ''} moved, the rest left "
            "where they were (run it again to go on, or `atelier undo` to put them back)"
        )
    moved_sources = {source for source, _ in result.moved}
    travelled = [
        target
        for move in planned.plan.moves
        if str(move.source) in moved_sources
        for _, target in move.companions
    ]
    extra = companions_text(travelled)
    line = f"Moved {result.done:,} file{'s' if result.done != 1 else ''}" + (
        f" with {extra}" if extra else ""
    )
    if result.failed:
        line += f", {len(result.failed):,} failed"
    if planned.plan.conflicts:
        line += f", {_count(len(planned.plan.conflicts), 'conflict')} left in place"
    return line + (" (undo with `atelier undo`)" if result.done else "")  # nothing done: nothing to undo


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"organize": cmd_organize}
