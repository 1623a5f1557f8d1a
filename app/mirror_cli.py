"""The CLI's ``mirror`` command: share the library with A1111/Forge, ComfyUI or InvokeAI.

``mirror --ui comfyui --mode symlink DEST`` makes (or changes) a mirror and syncs it; ``--list``,
``--sync [DEST|ID]`` and ``--remove DEST|ID`` manage them; ``--comfyui-yaml FILE [--root ID|PATH]`` writes
ComfyUI's ``extra_model_paths.yaml`` entry for library folders; ``--read-comfyui-yaml FILE [--add-roots]``
lists the folders an existing file points at and adds them as library folders.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.context import AppContext
from app.messages import user_message
from app.progress_bar import ProgressBar
from app.serialize import json_text
from catalog.mirrors import MirrorRecord
from core.errors import AtelierError
from core.jobs import CancelToken
from core.organize.mirror_plan import MirrorMode, MirrorUI
from core.taxonomy import AssetKind

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
_DETAIL_LINES = 10
MIRRORED_KINDS = tuple(kind.value for kind in AssetKind if kind is not AssetKind.UNKNOWN)


class MirrorUsageError(AtelierError):
    """A ``mirror`` command line that asks for nothing, or for two things at once."""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    mirror = sub.add_parser(
        "mirror",
        parents=[common],
        description=(
            "mirror --ui comfyui|a1111|invokeai [--mode symlink|hardlink|copy] DEST: make or change a mirror "
            "and sync it; --list; --sync [DEST|ID]; --remove DEST|ID; --comfyui-yaml FILE [--root ID|PATH]; "
            "--read-comfyui-yaml FILE [--add-roots]"
        ),
    )
    mirror.add_argument("dest", nargs="?", help="the mirror folder (or a mirror's id for --sync/--remove)")
    mirror.add_argument("--ui", choices=[ui.value for ui in MirrorUI], help="the layout to mirror into")
    mirror.add_argument(
        "--mode",
        choices=[mode.value for mode in MirrorMode],
        default=None,
        help="symlink (default), hardlink or copy; falls back in that order where the disk refuses links",
    )
    mirror.add_argument(
        "--kinds",
        nargs="+",
        metavar="KIND",
        default=[],
        help=f"only these kinds, separated by spaces or commas ({', '.join(MIRRORED_KINDS)}); DEST may come "
        "before --kinds or after its kinds",
    )
    mirror.add_argument("--collection", action="append", default=[], help="only this collection (repeatable)")
    mirror.add_argument("--list", action="store_true", help="list the mirrors and their last sync")
    mirror.add_argument("--sync", action="store_true", help="sync DEST, or every mirror")
    mirror.add_argument(
        "--remove", action="store_true", help="remove what Atelier made in DEST, and the mirror"
    )
    mirror.add_argument("--comfyui-yaml", metavar="FILE", help="write ComfyUI's extra_model_paths.yaml entry")
    mirror.add_argument("--root", action="append", default=[], help="with --comfyui-yaml: a library folder")
    mirror.add_argument("--read-comfyui-yaml", metavar="FILE", help="list the folders of a ComfyUI yaml file")
    mirror.add_argument(
        "--add-roots", action="store_true", help="with --read-comfyui-yaml: add them to the library"
    )
    mirror.add_argument("--json", action="store_true")


def cmd_mirror(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    args.kinds = _kinds_and_dest(args)
    wanted = [
        name
        for name, given in (
            ("--list", args.list),
            ("--sync", args.sync),
            ("--remove", args.remove),
            ("--comfyui-yaml", args.comfyui_yaml),
            ("--read-comfyui-yaml", args.read_comfyui_yaml),
            ("--ui", args.ui),
        )
        if given
    ]
    if len(wanted) > 1:
        raise MirrorUsageError(f"{wanted[0]} and {wanted[1]} cannot be used together")
    if not wanted:
        if args.dest:
            raise MirrorUsageError("say which UI to mirror into: --ui comfyui, a1111 or invokeai")
        return _list(context, args, out)
    action = wanted[0]
    if action == "--list":
        return _list(context, args, out)
    if action == "--sync":
        return _sync(context, args, out)
    if action == "--remove":
        return _remove(context, args, out)
    if action == "--comfyui-yaml":
        return _write_yaml(context, args, out)
    if action == "--read-comfyui-yaml":
        return _read_yaml(context, args, out)
    return _create(context, args, out)


def _kinds_and_dest(args: argparse.Namespace) -> list[AssetKind]:
    """The kinds ``--kinds`` names, as ``mirror --ui comfyui --kinds checkpoint lora DEST`` means them.

    argparse gives ``--kinds`` every word after it, DEST included when it comes last; a last word that is
    no kind is therefore DEST when none came before (``args.dest`` is set to it). A word close to a kind's
    name is taken as that kind mistyped, never as a folder to fill. Commas also separate kinds
    (``--kinds checkpoint,lora``)."""
    words: list[str] = list(args.kinds)
    if words and args.dest is None and not _names_kinds(words[-1]) and not _close_kinds(words[-1]):
        args.dest = words.pop()
    kinds: list[AssetKind] = []
    for word in (part.strip() for given in words for part in given.split(",")):
        if word in MIRRORED_KINDS:
            kinds.append(AssetKind(word))
        elif word:
            close = _close_kinds(word)
            hint = f"did you mean {close[0]}? " if close else ""
            raise MirrorUsageError(
                f"--kinds: {word!r} is not a kind ({hint}choose from {', '.join(MIRRORED_KINDS)}; "
                "give DEST before --kinds if it is the folder)"
            )
    return kinds


def _names_kinds(word: str) -> bool:
    return all(part.strip() in MIRRORED_KINDS for part in word.split(",") if part.strip())


def _close_kinds(word: str) -> list[str]:
    from difflib import get_close_matches

    return [
        match
        for part in word.split(",")
        if part.strip() and part.strip() not in MIRRORED_KINDS
        for match in get_close_matches(part.strip(), MIRRORED_KINDS, n=1, cutoff=0.75)
    ]


def _emit(out: TextIO, data: object) -> None:
    json.dump(json_text(data), out, indent=2)
    out.write("\n")


def _create(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.organize.mirror import create_mirror

    if not args.dest:
        raise MirrorUsageError("give the folder to mirror into, e.g. `atelier mirror --ui comfyui ~/ComfyUI`")
    library = context.library
    existing = library.mirror_at(Path(args.dest).expanduser().absolute())
    mode = MirrorMode(args.mode) if args.mode else (existing.mode if existing else MirrorMode.SYMLINK)
    mirror = create_mirror(
        library,
        MirrorUI(args.ui),
        mode,
        Path(args.dest),
        kinds=args.kinds,
        collections=args.collection,
    )
    return _sync_and_print(context, [mirror], args, out)


def _sync(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.organize.mirror import find_mirror

    library = context.library
    mirrors = [find_mirror(library, args.dest)] if args.dest else library.mirrors()
    if not mirrors:
        others = library.mirrors_elsewhere()  # each machine lists and syncs its own
        if others:
            counts = ", ".join(f"{count} on {name}" for name, count in others)
            raise MirrorUsageError(
                "no mirrors on this machine yet (other machines sharing this catalog have their own: "
                f"{counts}; each syncs its own): make one with `atelier mirror --ui comfyui DEST`"
            )
        raise MirrorUsageError("no mirrors yet: make one with `atelier mirror --ui comfyui DEST`")
    return _sync_and_print(context, mirrors, args, out)


def _sync_and_print(
    context: AppContext, mirrors: list[MirrorRecord], args: argparse.Namespace, out: TextIO
) -> int:
    from app.interrupts import EXIT_INTERRUPTED, stoppable
    from app.organize.mirror import sync_mirrors

    # Ctrl+C stops after the entry being made; what was made is recorded, the next sync goes on from it.
    with ProgressBar("Mirroring", unit="file") as bar, stoppable(CancelToken()) as cancel:
        summary = sync_mirrors(context.library, bar.update, cancel, mirror_ids=[m.id for m in mirrors])
    if args.json:
        _emit(out, [report.to_json() for report in summary.reports])
    else:
        for report in summary.reports:
            print(report, file=out)
            _details(report.to_json(), out)
    refused = any(r.state in ("refused", "unreachable") for r in summary.reports)
    if cancel.cancelled:
        print("Stopped: `atelier mirror --sync` goes on from where this one stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if summary.failed or refused else EXIT_OK


def _details(report: dict[str, Any], out: TextIO) -> None:
    for key, label in (
        ("clashes", "renamed"),
        ("not_ours", "left alone"),
        ("skipped", "skipped"),
        ("failed", "failed"),
    ):
        lines = report.get(key) or []
        for line in lines[:_DETAIL_LINES]:
            print(f"  {label}: {line}", file=out)
        if len(lines) > _DETAIL_LINES:
            print(f"  … and {len(lines) - _DETAIL_LINES} more {label}", file=out)


def _list(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    mirrors = context.library.mirrors()
    if args.json:
        _emit(out, [_mirror_json(m) for m in mirrors])
        return EXIT_OK
    others = context.library.mirrors_elsewhere()
    if not mirrors:
        where = " on this machine" if others else ""
        print(
            f"No mirrors{where} yet: make one with `atelier mirror --ui comfyui|a1111|invokeai DEST`",
            file=out,
        )
    for m in mirrors:
        what = (
            ", ".join([k.value for k in m.kinds] + [f"collection {c}" for c in m.collections]) or "everything"
        )
        synced = m.synced_at.strftime("%Y-%m-%d %H:%M") if m.synced_at else "never synced"
        print(
            f"{m.id:>4}  {m.ui.label:<13} {m.mode.value:<8} {m.entry_count:>6} entries  {m.target}", file=out
        )
        print(f"      {what}; {synced}: {m.report.get('message', '')}", file=out)
    if others:
        counts = ", ".join(f"{count} on {name}" for name, count in others)
        print(
            f"Mirrors of other machines sharing this catalog ({counts}): each machine lists and syncs "
            "its own",
            file=out,
        )
    return EXIT_OK


def _mirror_json(mirror: MirrorRecord) -> dict[str, Any]:
    return {
        "id": mirror.id,
        "ui": mirror.ui.value,
        "mode": mirror.mode.value,
        "target": str(mirror.target),
        "kinds": [k.value for k in mirror.kinds],
        "collections": list(mirror.collections),
        "entries": mirror.entry_count,
        "created_at": mirror.created_at.isoformat(),
        "synced_at": mirror.synced_at.isoformat() if mirror.synced_at else None,
        "report": mirror.report,
    }


def _remove(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.organize.mirror import MirrorApplier, find_mirror

    if not args.dest:
        raise MirrorUsageError("say which mirror to remove: its folder or id (see `atelier mirror --list`)")
    mirror = find_mirror(context.library, args.dest)
    report = MirrorApplier(context.library).remove(mirror)
    if args.json:
        _emit(out, report.to_json())
    else:
        print(report, file=out)
        _details(report.to_json(), out)
    return EXIT_FAILED if report.failed else EXIT_OK


def _write_yaml(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.cli_ids import root_by_id_name_or_path
    from app.organize.comfyui_yaml import write_section

    roots = context.library.roots()
    chosen = []
    for text in args.root:
        found = root_by_id_name_or_path(roots, text)
        if found is None:
            raise MirrorUsageError(f"no library folder {text!r} (see `atelier roots`)")
        chosen.append(found)
    if not chosen:
        if not roots:
            raise MirrorUsageError("no library folders yet: add one with `atelier scan FOLDER`")
        chosen = list(roots)
    yaml_path = Path(args.comfyui_yaml).expanduser()
    if yaml_path.is_dir():
        yaml_path = yaml_path / "extra_model_paths.yaml"
    results: list[dict[str, Any]] = []
    failed = False
    for root in chosen:
        try:
            section = write_section(yaml_path, Path(root.path), root.layout)
            results.append({"root": root.path, "section": section, "file": str(yaml_path)})
            if not args.json:
                print(f"{yaml_path}: section {section!r} shows {root.path} to ComfyUI", file=out)
        except AtelierError as exc:
            failed = True
            results.append({"root": root.path, "error": user_message(exc)})
            if not args.json:
                print(f"  ! {user_message(exc)}", file=out)
    if args.json:
        _emit(out, results)
    elif not failed:
        print("Restart ComfyUI to see the models (the previous file is kept as .bak)", file=out)
    return EXIT_FAILED if failed else EXIT_OK


def _read_yaml(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from app.organize.comfyui_yaml import offered_roots, read_folders

    yaml_path = Path(args.read_comfyui_yaml).expanduser()
    folders = read_folders(yaml_path)
    library_roots = [Path(r.path) for r in context.library.roots()]
    offered = offered_roots(folders, library_roots)
    added: list[dict[str, Any]] = []
    failed = False
    if args.add_roots:
        for path in offered:
            try:
                root = context.add_root(path)
                added.append({"path": root.path, "id": root.id, "layout": root.layout.value})
            except (AtelierError, OSError) as exc:
                failed = True
                added.append({"path": str(path), "error": user_message(exc)})
    if args.json:
        _emit(
            out,
            {
                "folders": [
                    {"section": f.section, "key": f.key, "path": str(f.path), "exists": f.exists}
                    for f in folders
                ],
                "offered": [str(p) for p in offered],
                "added": added,
            },
        )
        return EXIT_FAILED if failed else EXIT_OK
    for folder in folders:
        missing = "" if folder.exists else "  (not there)"
        print(f"{folder.section:<16} {folder.key:<16} {folder.path}{missing}", file=out)
    if not args.add_roots:
        if offered:
            print("Library folders to add (with --add-roots):", file=out)
            for path in offered:
                print(f"  {path}", file=out)
        else:
            print("Every folder of this file is already in the library", file=out)
    for item in added:
        if "error" in item:
            print(f"  ! {item['error']}", file=out)
        else:
            print(
                f"Added library folder {item['path']} ({item['layout']} layout); `atelier scan` to read it",
                file=out,
            )
    return EXIT_FAILED if failed else EXIT_OK


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"mirror": cmd_mirror}
