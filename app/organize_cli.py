"""The CLI's file commands: ``move``, ``rename``, ``delete``, ``undo`` and ``history``.

They run the same engine as the window (``app.organize.engine``): each is one journaled operation, the
catalog follows every file, and ``undo`` reverses the newest one (or the one named). Nothing is ever
overwritten: a name conflict stops ``move``/``rename`` with the list of conflicts unless
``--rename-conflicts`` (``name (2).safetensors``) or ``--skip-conflicts`` says what to do. ``delete``
sends files to the system trash and asks first on a terminal; without one it needs ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.cli_arguments import count
from app.cli_ids import asset_by_id_or_path, assets_by_ids_or_paths, row_id
from app.confirm import ask
from app.context import AppContext
from app.organize.engine import (
    OperationResult,
    apply_moves,
    delete_assets,
    plan_in_library,
    recent_operations,
    undo,
    undoable_operation,
)
from app.progress_bar import ProgressBar
from app.serialize import json_text
from catalog.journal import OperationRecord
from catalog.records import AssetRecord
from catalog.stat_match import holds_nothing
from core.formats.reader import MODEL_EXTENSIONS
from core.organize.errors import OrganizeError
from core.organize.names import NameRefusedError, name_refusal, with_model_extension
from core.organize.plan import MAX_NAME_BYTES, REASON_TOO_LONG, TOO_LONG_REASONS, Conflict, MovePlan
from core.sizes import human_size

if TYPE_CHECKING:
    from catalog.library import Library

EXIT_OK = 0
EXIT_FAILED = 1

Handler = Callable[[AppContext, argparse.Namespace, TextIO], int]


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    move = sub.add_parser(
        "move",
        parents=[common],
        description="move SRC... DEST: DEST is a folder (end it with / to create it), or a new file name "
        "when one SRC is given. The catalog follows; `atelier undo` moves them back.",
    )
    move.add_argument("sources", nargs="+", metavar="SRC", help="asset id or file path")
    move.add_argument("dest", metavar="DEST", help="a folder inside a library folder, or a new file name")
    _conflict_options(move)
    move.add_argument("--json", action="store_true")

    rename = sub.add_parser("rename", parents=[common])
    rename.add_argument("target", metavar="ID|PATH", help="asset id or file path")
    rename.add_argument(
        "name", metavar="NAME", help="the new name (the extension is kept when NAME has none)"
    )
    _conflict_options(rename)
    rename.add_argument("--json", action="store_true")

    delete = sub.add_parser("delete", parents=[common])
    delete.add_argument("targets", nargs="+", metavar="ID|PATH", help="asset id or file path")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--json", action="store_true")

    undo_cmd = sub.add_parser("undo", parents=[common])
    undo_cmd.add_argument(
        "operation", nargs="?", type=row_id, metavar="OPERATION_ID", help="which one (see `atelier history`)"
    )
    undo_cmd.add_argument("--json", action="store_true")

    history = sub.add_parser("history", parents=[common])
    history.add_argument("--limit", type=count, default=20, help="how many operations to list (default 20)")
    history.add_argument("--json", action="store_true")


def _conflict_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--rename-conflicts", action="store_true", help='add " (2)", " (3)"... to a name already taken'
    )
    group.add_argument("--skip-conflicts", action="store_true", help="leave files whose name is taken")


def cmd_move(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    records = assets_by_ids_or_paths(library, args.sources)
    _require_files(library, records)
    requests = _move_targets(records, args.dest)
    plan = plan_in_library(library, requests, rename_conflicts=args.rename_conflicts)
    return _apply(context, plan, "move", args, out)


def cmd_rename(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    record = asset_by_id_or_path(library, args.target)
    _require_files(library, [record])
    source = Path(record.path)
    target = source.with_name(_new_name(source, args.name))
    plan = plan_in_library(library, [(record.id, source, target)], rename_conflicts=args.rename_conflicts)
    return _apply(context, plan, "rename", args, out)


def cmd_delete(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    records = assets_by_ids_or_paths(library, args.targets)
    total = sum(record.size for record in records)
    noun = "file" if len(records) == 1 else "files"
    names = ", ".join(record.file_name for record in records[:3]) + (" ..." if len(records) > 3 else "")
    question = f"Send {len(records)} {noun} ({human_size(total)}: {names}) and their sidecars to the trash?"
    refusal = f"not deleting {len(records)} {noun} without confirmation (they would go to the trash)"
    if not ask(question, yes=args.yes, refusal=refusal):
        print("Nothing was deleted.", file=out)
        return EXIT_OK
    with ProgressBar("Sending to the trash", unit="file") as bar:
        result = delete_assets(library, [record.id for record in records], progress=bar.update)
    if args.json:
        _dump(_result_json(result), out)
    else:
        print(
            f"Sent {result.done} {_noun(result.done)} to the trash ({human_size(result.freed_bytes)}, "
            f"{result.freed_bytes} bytes, sidecars included)."
            + (" Undo with `atelier undo`." if result.done else ""),  # nothing done: nothing to undo
            file=out,
        )
        _print_failures(result, out)
    return EXIT_FAILED if result.failed else EXIT_OK


def cmd_undo(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    with ProgressBar("Undoing", unit="file") as bar:
        result = undo(context.library, args.operation, progress=bar.update)
    if args.json:
        _dump(_result_json(result), out)
    else:
        if result.done or not result.failed:  # nothing put back: the errors alone say what happened
            print(
                f"Undone: {result.done} {_noun(result.done)} put back (operation {result.operation_id}).",
                file=out,
            )
        for (source, target), action in zip(result.moved, result.actions, strict=True):
            print(f"  {_undone_line(action, source, target)}", file=out)
        _print_failures(result, out)
    return EXIT_FAILED if result.failed else EXIT_OK


def _undone_line(action: str, source: str, target: str) -> str:
    """What one step of an undo did, in words: a file moved back ("from -> to"), a file restored from the
    trash, a link made a file of its own again (not a move onto the file it linked to)."""
    if action == "unlink":
        return f"restored {source} (was a link to {target})"
    if action == "restore" or source == target:
        return f"restored {target}"
    return f"{source} -> {target}"


def cmd_history(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    operations = recent_operations(library, args.limit)
    next_undo = undoable_operation(library)
    if args.json:
        _dump([_operation_json(op, op.id == (next_undo.id if next_undo else None)) for op in operations], out)
        return EXIT_OK
    if not operations:
        print("No moves, renames or deletes yet.", file=out)
    for op in operations:
        mark = "  <- undo" if next_undo is not None and op.id == next_undo.id else ""
        when = op.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        steps = f"{op.done_count}/{op.step_count}"
        label = f"{op.label} (of #{op.undo_of})" if op.undo_of is not None else op.label
        print(f"{op.id:>5}  {when}  {op.kind:<8} {op.state:<11} {steps:>7}  {label}{mark}", file=out)
    return EXIT_OK


COMMANDS: dict[str, Handler] = {
    "move": cmd_move,
    "rename": cmd_rename,
    "delete": cmd_delete,
    "undo": cmd_undo,
    "history": cmd_history,
}


# helpers ---------------------------------------------------------------------------------------------
def _require_files(library: Library, records: list[AssetRecord]) -> None:
    """Refuses a move of a file that is not on disk, saying what helps: a file gone from a folder that
    is there is fixed by rescanning it; a folder that is empty or not there at all (an unmounted share or
    drive, the scan's own test: ``holds_nothing``) is fixed by mounting it, and a rescan would refuse it."""
    for record in records:
        if os.path.lexists(record.path):
            continue
        root = library.get_root(record.root_id) if record.root_id is not None else None
        if root is not None and holds_nothing(Path(root.path)) is not False:
            what = f"the shared folder {root.name!r}" if root.name else "its library folder"
            raise OrganizeError(
                f"{record.path} is not reachable: {what} ({root.path}) is empty or not there on this "
                "machine (is the drive or share mounted?). Mount it, then try again; nothing was moved"
            )
        raise OrganizeError(f"{record.path} is missing on disk: nothing was moved (rescan its folder)")


def _move_targets(records: list[AssetRecord], dest: str) -> list[tuple[int | None, Path, Path]]:
    """Each record's target: inside DEST when it is a folder (or ends with /), else DEST is a new name."""
    folder_wanted = dest.endswith(("/", os.sep))
    where = _absolute(Path(dest).expanduser())
    if len(records) > 1 and not where.is_dir() and not folder_wanted:
        raise OrganizeError(
            f"{len(records)} files cannot take one file name ({where.name}): give an existing folder, "
            "or end DEST with / to make one"
        )
    if where.is_dir() or folder_wanted:
        if where.exists() and not where.is_dir():
            raise OrganizeError(f"{where} is a file: give a folder to move several files into")
        return [(record.id, Path(record.path), where / record.file_name) for record in records]
    record = records[0]
    source = Path(record.path)
    return [(record.id, source, where.with_name(_new_name(source, where.name)))]


def _absolute(path: Path) -> Path:
    """``path`` made absolute with its existing part resolved (links included), as the catalog stores it."""
    path = path.absolute()
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    return existing.resolve() / path.relative_to(existing)


def _new_name(source: Path, name: str) -> str:
    """``name`` for ``source``: refused when it is a path or not a name the disk keeps as typed
    (:func:`core.organize.names.name_refusal`); the model's extension kept when it has none."""
    name = name.strip()
    refusal = name_refusal(name, how_to_move="use `atelier move`")
    if refusal is not None:
        raise NameRefusedError(refusal)
    suffix = source.suffix if source.suffix.lower() in MODEL_EXTENSIONS else ""
    given = Path(name).suffix.lower()
    if suffix and given in MODEL_EXTENSIONS and given != suffix.lower():
        raise OrganizeError(f"{name} would not be a {given} file: keep {suffix} (see `atelier convert`)")
    return with_model_extension(source.name, name)


def _apply(context: AppContext, plan: MovePlan, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    too_long = [conflict for conflict in plan.conflicts if conflict.code in TOO_LONG_REASONS]
    if too_long and len(too_long) == len(plan.conflicts) and not args.skip_conflicts:
        raise OrganizeError(_too_long_line(too_long[0]))  # not a conflict: no option helps but a shorter name
    if plan.conflicts and not args.skip_conflicts:
        if args.json:
            _dump({"conflicts": [_conflict_json(c) for c in plan.conflicts], "moved": []}, out)
        count = plan.conflict_count
        print(
            f"atelier {args.command}: {count} name conflict{'s' if count > 1 else ''}, nothing was "
            f"{'renamed' if kind == 'rename' else 'moved'} (nothing is ever overwritten):",
            file=sys.stderr,
        )
        for conflict in plan.conflicts:
            print(f"  {conflict.source} -> {conflict.target}: {conflict.reason}", file=sys.stderr)
        if len(too_long) < len(plan.conflicts):
            print(
                '  use --rename-conflicts to add " (2)", or --skip-conflicts to leave these', file=sys.stderr
            )
        else:
            print("  use --skip-conflicts to leave these", file=sys.stderr)
        return EXIT_FAILED
    if plan.is_empty and not plan.conflicts:
        message = "Nothing to do: the files are already there."
        _dump({"moved": [], "conflicts": [], "message": message}, out) if args.json else print(
            message, file=out
        )
        return EXIT_OK
    verb = "Renaming" if kind == "rename" else "Moving"
    with ProgressBar(verb, unit="file") as bar:
        result = apply_moves(context.library, plan, kind=kind, progress=bar.update)
    if args.json:
        _dump({**_result_json(result), "conflicts": [_conflict_json(c) for c in plan.conflicts]}, out)
    else:
        companions = {move.source: len(move.companions) for move in plan.moves}
        past = "Renamed" if kind == "rename" else "Moved"
        for source, target in result.moved:
            extra = companions.get(Path(source), 0)
            tail = (
                f"  (+{extra} sidecar{'s' if extra != 1 else ''}/preview{'s' if extra != 1 else ''})"
                if extra
                else ""
            )
            print(f"{past} {source} -> {target}{tail}", file=out)
        for conflict in plan.conflicts:
            print(f"Skipped {conflict.source}: {conflict.reason}", file=out)
        _print_failures(result, out)
        for note in result.notes:
            print(f"Note: {note}", file=out)
        if result.done:
            print("Undo with `atelier undo`.", file=out)
    return EXIT_FAILED if result.failed else EXIT_OK


def _too_long_line(conflict: Conflict) -> str:
    if conflict.code != REASON_TOO_LONG:
        return conflict.reason  # a full path too long for Windows: the reason says how to lift it
    size = len(os.fsencode(conflict.target.name))
    if size > MAX_NAME_BYTES:
        return f"the name is longer than {MAX_NAME_BYTES} bytes ({size}): shorten it"
    return (
        f"the name is {size} bytes, and with the endings of its sidecars and previews longer than "
        f"{MAX_NAME_BYTES}: shorten it"
    )


def _print_failures(result: OperationResult, out: TextIO) -> None:
    """One line per failed file on stderr, as every command's errors; what was done stays on stdout."""
    for path, reason in result.failed:
        line = reason if path in reason else f"{path}: {reason}"
        print(f"atelier {result.kind}: {line}", file=sys.stderr)
    if result.cancelled:
        print(f"  Stopped early: {result.skipped} left as they were.", file=out)


def _noun(count: int) -> str:
    return "file" if count == 1 else "files"


def _result_json(result: OperationResult) -> dict[str, Any]:
    return {
        "operation_id": result.operation_id,
        "kind": result.kind,
        "done": result.done,
        "skipped": result.skipped,
        "failed": [{"path": path, "reason": reason} for path, reason in result.failed],
        "cancelled": result.cancelled,
        "freed_bytes": result.freed_bytes,
        "moved": [{"from": source, "to": target} for source, target in result.moved],
        "asset_ids": list(result.asset_ids),
        "notes": list(result.notes),
    }


def _conflict_json(conflict: Conflict) -> dict[str, Any]:
    return {
        "asset_id": conflict.asset_id,
        "source": str(conflict.source),
        "target": str(conflict.target),
        "reason": conflict.reason,
        "code": conflict.code,
    }


def _operation_json(op: OperationRecord, next_undo: bool) -> dict[str, Any]:
    return {
        "id": op.id,
        "kind": op.kind,
        "label": op.label,
        "state": op.state,
        "created_at": op.created_at.isoformat(),
        "finished_at": op.finished_at.isoformat() if op.finished_at else None,
        "undo_of": op.undo_of,
        "steps": op.step_count,
        "done": op.done_count,
        "summary": dict(op.summary),
        "next_undo": next_undo,
    }


def _dump(data: object, out: TextIO) -> None:
    json.dump(json_text(data), out, indent=2)
    out.write("\n")
