"""The ``dupes`` command: identical files across the library, and resolving them.

Without ``--resolve`` it lists the groups (a file reached by several hard-linked paths is one file, shown
with its paths) with their sizes and the bytes keeping one would free; ``--near`` adds the near-duplicate
hints. With ``--resolve trash|hardlink|symlink`` it shows the plan and the bytes it frees first, asks on a
terminal (without one it needs ``--yes``), then applies it through the organize engine
(:mod:`app.organize.dedupe`); ``atelier undo`` reverses it. ``--keep ID|PATH`` chooses the file kept in
its group (default: :data:`app.organize.dedupe.KEEP_RULE`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from app.cli_ids import assets_by_ids_or_paths
from app.confirm import ask
from app.context import AppContext
from app.organize.dedupe import (
    KEEP_RULE,
    MODES,
    DedupePlan,
    DedupeResult,
    GroupPlan,
    apply_dedupe,
    plan_dedupe,
)
from app.progress_bar import ProgressBar
from app.serialize import json_text
from catalog.duplicates import DuplicateFile, DuplicateGroup, NearDuplicateHint
from core.organize.errors import OrganizeError
from core.sizes import human_size

EXIT_OK = 0
EXIT_FAILED = 1


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    dupes = sub.add_parser(
        "dupes",
        parents=[common],
        description="Groups of files with the same SHA256 (hard links of one file are one file, never a "
        "duplicate). With --resolve, keeps one file per group and sends the others to the trash or "
        f"replaces them with links; the bytes freed are shown first. Kept by default: {KEEP_RULE}.",
    )
    dupes.add_argument(
        "--near", action="store_true", help="also list near-duplicates (hints, never resolved)"
    )
    dupes.add_argument("--resolve", choices=MODES, help="keep one file per group; trash or link the others")
    dupes.add_argument(
        "--keep", nargs="+", default=[], metavar="ID|PATH", help="the file to keep in its group (any number)"
    )
    dupes.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    dupes.add_argument("--json", action="store_true")


def cmd_dupes(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    groups = library.duplicate_groups()
    unhashed = len(library.unhashed())
    keep_ids = [record.id for record in assets_by_ids_or_paths(library, args.keep)] if args.keep else []
    if keep_ids:
        _check_keeps(groups, keep_ids)
        if args.resolve is not None:  # --keep names the groups to resolve; the others stay as they are
            groups = [g for g in groups if any(g.file_of(asset_id) for asset_id in keep_ids)]
    if args.resolve is None:
        hints = library.near_duplicate_hints() if args.near else None
        if args.json:
            listed = plan_dedupe(groups, "trash", keep=keep_ids)
            _dump(
                {
                    "groups": [_group_json(g) for g in listed.groups],
                    "copies_bytes": listed.copies_bytes,
                    "freeable_bytes": listed.freed_bytes,
                    "unhashed": unhashed,
                    **({"hints": [_hint_json(h) for h in hints]} if hints is not None else {}),
                },
                out,
            )
        else:
            _print_groups(groups, keep_ids, unhashed, out)
            if hints is not None:
                _print_hints(hints, out)
        return EXIT_OK

    plan = plan_dedupe(groups, args.resolve, keep=keep_ids)
    if plan.is_empty:
        message = "Nothing to resolve: no duplicate files." if not groups else "Nothing to resolve."
        if args.json:
            _dump({"plan": _plan_json(plan), "result": None, "message": message}, out)
        else:
            print(message, file=out)
            _print_refusals(plan, out)
        return EXIT_OK
    if not args.json:
        _print_plan(plan, out)
    refusal = "not resolving duplicates without confirmation"
    if not ask(f"{plan.summary()}. Go ahead?", yes=args.yes, refusal=refusal, detail=plan.summary()):
        print("Nothing was changed.", file=out)
        return EXIT_OK
    with ProgressBar("Resolving duplicates", unit="file") as bar:
        result = apply_dedupe(library, plan, progress=bar.update)
    if args.json:
        _dump({"plan": _plan_json(plan), "result": _result_json(result)}, out)
    else:
        _print_result(result, out)
    return EXIT_FAILED if result.failed else EXIT_OK


COMMANDS = {"dupes": cmd_dupes}


# printing ----------------------------------------------------------------------------------------------
def _check_keeps(groups: list[DuplicateGroup], keep_ids: list[int]) -> None:
    """Each --keep names a file with duplicates, and at most one file per group."""
    group_of = {p.asset_id: (g, f) for g in groups for f in g.files for p in f.paths}
    outside = [asset_id for asset_id in keep_ids if asset_id not in group_of]
    if outside:
        raise OrganizeError(f"--keep {outside[0]}: that file has no duplicate (see `atelier dupes`)")
    chosen: dict[str, DuplicateFile] = {}
    for asset_id in keep_ids:
        group, item = group_of[asset_id]
        other = chosen.setdefault(group.sha256, item)
        if other is not item:
            raise OrganizeError(
                f"--keep names two copies of one file ({other.path} and {item.path}): keep one per group"
            )


def _print_groups(groups: list[DuplicateGroup], keep_ids: list[int], unhashed: int, out: TextIO) -> None:
    """The groups with the figures the resolve plan will show (a copy hard-linked outside the library,
    in a mirror, frees nothing: both amounts are said, and why)."""
    if not groups:
        print("No duplicate files.", file=out)
    listed = plan_dedupe(groups, "trash", keep=keep_ids)
    for number, group_plan in enumerate(listed.groups, start=1):
        group, kept = group_plan.group, group_plan.keep
        print(
            f"Group {number}: {len(group.files)} identical files of {human_size(group.size)} "
            f"(SHA256 {group.sha256[:12]}…), {group_plan.bytes_text()}",
            file=out,
        )
        for item in group.files:
            mark = "keep" if item is kept else "    "
            for index, path in enumerate(item.paths):
                linked = "" if index == 0 else "  = hard link of the line above (same file)"
                prefix = f"  {mark} " if index == 0 else "       "
                print(f"{prefix}#{path.asset_id:<6} {path.path}  ({_when(path.mtime_ns)}){linked}", file=out)
    if groups:
        print(
            f"{len(groups)} group{'s' if len(groups) != 1 else ''}, {listed.bytes_text()}. "
            "Resolve with `atelier dupes --resolve trash|hardlink|symlink` (--keep ID|PATH to choose).",
            file=out,
        )
    if unhashed:
        print(f"{unhashed} file{'s are' if unhashed != 1 else ' is'} not hashed yet: run `atelier hash` "
              "for a complete list.", file=out)  # fmt: skip


def _print_hints(hints: list[NearDuplicateHint], out: TextIO) -> None:
    print("", file=out)
    if not hints:
        print("No near-duplicates.", file=out)
        return
    print("Near-duplicates (hints, never resolved automatically):", file=out)
    for hint in hints:
        print(f"  {hint.label}", file=out)
        for item in hint.files:
            version = f"  [{item.version_name}]" if item.version_name else ""
            print(f"    #{item.asset_id:<6} {item.path}  ({human_size(item.size)}){version}", file=out)


def _print_plan(plan: DedupePlan, out: TextIO) -> None:
    verb = {"trash": "to the trash", "hardlink": "-> hard link to", "symlink": "-> symlink to"}[plan.mode]
    for group_plan in plan.groups:
        if not group_plan.removals and not group_plan.refusals:
            continue
        print(f"keep  #{group_plan.keep.asset_id} {group_plan.keep.path}", file=out)
        for removal in group_plan.removals:
            target = "" if plan.mode == "trash" else f" {group_plan.keep.path}"
            print(f"      #{removal.asset_id} {removal.path} {verb}{target}", file=out)
        for move in group_plan.sidecars:
            print(f"      sidecar {move.source} -> {move.target} (the kept file has none)", file=out)
    _print_refusals(plan, out)
    print(plan.summary() + ".", file=out)


def _print_refusals(plan: DedupePlan, out: TextIO) -> None:
    for refusal in plan.refusals:
        print(f"  left as is: #{refusal.asset_id} {refusal.path}: {refusal.reason}", file=out)


def _print_result(result: DedupeResult, out: TextIO) -> None:
    freed = human_size(result.freed_bytes)
    if result.mode == "trash":
        print(
            f"Sent {result.done} duplicate{'s' if result.done != 1 else ''} to the trash: {freed} freed once "
            "the trash is emptied. Undo with `atelier undo`.",
            file=out,
        )
    else:
        kind = "hard link" if result.mode == "hardlink" else "symbolic link"
        print(
            f"Replaced {result.done} duplicate{'s' if result.done != 1 else ''} by a {kind}: {freed} freed. "
            "Undo with `atelier undo`.",
            file=out,
        )
    if result.sidecars:
        print(
            f"Moved {result.sidecars} sidecar{'s' if result.sidecars != 1 else ''} beside the kept "
            "file (the kept file had none of that kind).",
            file=out,
        )
    for path, reason in result.failed:
        print(f"  failed: {path}: {reason}", file=sys.stderr)


# JSON --------------------------------------------------------------------------------------------------
def _dump(data: Any, out: TextIO) -> None:
    json.dump(json_text(data), out, indent=2)
    out.write("\n")


def _when(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def _file_json(item: DuplicateFile, kept: bool) -> dict[str, Any]:
    return {
        "id": item.asset_id,
        "path": item.path,
        "root": item.paths[0].root_path,
        "size": item.size,
        "mtime": datetime.fromtimestamp(item.paths[0].mtime_ns / 1e9, UTC).isoformat(),
        "device": item.device,
        "inode": item.inode,
        "keep": kept,
        "links": [{"id": p.asset_id, "path": p.path, "root": p.root_path} for p in item.paths[1:]],
    }


def _group_json(group_plan: GroupPlan) -> dict[str, Any]:
    group = group_plan.group
    return {
        "sha256": group.sha256,
        "size": group.size,
        "copies_bytes": group_plan.copies_bytes,
        "freeable_bytes": group_plan.freed_bytes,
        "files": [_file_json(item, item is group_plan.keep) for item in group.files],
    }


def _hint_json(hint: NearDuplicateHint) -> dict[str, Any]:
    return {
        "reason": hint.reason,
        "key": hint.key,
        "label": hint.label,
        "files": [
            {"id": f.asset_id, "path": f.path, "size": f.size, "sha256": f.sha256, "version": f.version_name}
            for f in hint.files
        ],
    }


def _plan_json(plan: DedupePlan) -> dict[str, Any]:
    return {
        "mode": plan.mode,
        "freed_bytes": plan.freed_bytes,
        "copies_bytes": plan.copies_bytes,
        "summary": plan.summary(),
        "groups": [
            {
                "sha256": g.group.sha256,
                "keep": {"id": g.keep.asset_id, "path": g.keep.path},
                "remove": [{"id": r.asset_id, "path": r.path, "frees": r.frees} for r in g.removals],
                "refused": [{"id": r.asset_id, "path": r.path, "reason": r.reason} for r in g.refusals],
                "sidecars": [{"from": m.source, "to": m.target} for m in g.sidecars],
            }
            for g in plan.groups
        ],
    }


def _result_json(result: DedupeResult) -> dict[str, Any]:
    return {
        "mode": result.mode,
        "done": result.done,
        "freed_bytes": result.freed_bytes,
        "failed": [{"path": path, "reason": reason} for path, reason in result.failed],
        "operations": list(result.operation_ids),
        "cancelled": result.cancelled,
        "sidecars_moved": result.sidecars,
    }
