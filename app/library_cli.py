"""``atelier search``, ``show`` and ``roots``: reading the library (and searching the sites), and naming
and mapping its folders.

A library search, ``show`` and ``roots`` only read: they use ``AppContext.reads``, which reads the catalog
with the standard ``sqlite3`` module (no SQLAlchemy to import) through the same statements as the
Library (``catalog.queries``); the site clients are loaded only when the first word of ``search`` names a
site (``app.remote_cli``).

``roots add PATH [--name NAME]``, ``roots map NAME PATH [--force]``, ``roots unmap NAME`` and
``roots remove NAME|PATH [--yes]`` change the library's folders (removing one forgets its files' rows, as
the window's Settings › Library folders does; the files stay on disk). A catalog shared by several
machines (on a server, or one file on shared storage) knows each folder by its name, and each machine
says where it reaches the folder (``catalog.machine_paths``; a folder holding none of its files is refused
unless ``--force``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.cli import EXIT_OK, EXIT_USAGE, Handler
from app.cli_arguments import count
from app.cli_ids import asset_by_id_or_path, root_by_id_name_or_path
from app.serialize import asset_to_json, json_text, root_to_json
from app.show_text import print_asset
from catalog.errors import NotFoundError
from catalog.records import AssetQuery, AssetRecord, HiddenFilter, RootPlaces, RootRecord
from core.shell_words import map_command
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from core.wording import counted

if TYPE_CHECKING:
    from app.context import AppContext

SEARCH_SOURCES = ("library", "civitai", "hf")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    search = sub.add_parser(
        "search",
        parents=[common],
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
        "--base-model",
        action="append",
        default=[],
        help=(
            "library: files whose base-model label is this (Pony, Illustrious...; any case; repeatable: "
            "any of them); Civitai: the base model, e.g. 'SDXL 1.0'"
        ),
    )
    search.add_argument(
        "--sort", help="Civitai: 'Most downloaded', 'Highest rated', 'Newest'; hf: downloads, likes..."
    )
    search.add_argument("--period", help="Civitai: AllTime, Year, Month, Week or Day")
    search.add_argument("--nsfw", action="store_true", help="Civitai: include NSFW results")
    search.add_argument("--user", help="Civitai creator or Hugging Face author")
    search.add_argument("--cursor", help="Civitai: the cursor printed by the previous page")
    search.add_argument("--limit", type=count, default=None, help="results to show (library 100, sites 20)")
    search.add_argument("--json", action="store_true")

    show = sub.add_parser("show", parents=[common])
    show.add_argument("target", help="asset id or file path")
    show.add_argument("--json", action="store_true")

    roots = sub.add_parser(
        "roots",
        parents=[common],
        description=(
            "roots: list the library folders (names, this machine's path, other machines' paths); "
            "roots add PATH [--name NAME]; roots map NAME PATH [--force]: where this machine reaches a "
            "shared folder (refused where none of its files is, unless --force); "
            "roots unmap NAME"
        ),
    )
    roots.add_argument("action", nargs="?", choices=ROOTS_ACTIONS, default="list")
    roots.add_argument("words", nargs="*", help="add: PATH; map: NAME PATH; unmap: NAME; remove: NAME|PATH")
    roots.add_argument("--name", help="add: the folder's name (default: its own name)")
    roots.add_argument(
        "--layout", choices=[layout.value for layout in LibraryLayout], help="add: force the folder layout"
    )
    roots.add_argument(
        "--force",
        action="store_true",
        help="map: even to a folder that holds none of the shared folder's files (a share not mounted yet)",
    )
    roots.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="remove: do not ask for confirmation (needed without a terminal)",
    )
    roots.add_argument("--json", action="store_true", help="print JSON")


def cmd_search(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    words = list(args.words)
    source = words.pop(0) if words and words[0] in SEARCH_SOURCES else "library"
    text = " ".join(words)
    if source == "library":
        return _search_library(context, args, text, out)
    from app import remote_cli  # requests and huggingface_hub: only when a site is searched

    try:
        if source == "civitai":
            return remote_cli.search_civitai(context, args, text, out)
        return remote_cli.search_huggingface(context, args, text, out)
    except remote_cli.SearchOptionError as exc:
        print(f"atelier search: {exc}", file=sys.stderr)
        return EXIT_USAGE


# The options only a site's search reads, with the sites that read them (a library search refuses them
# rather than ignore them: a filter that silently filters nothing shows the whole library as the answer).
SITE_ONLY_OPTIONS = {
    "type": ("--type", "civitai"),
    "sort": ("--sort", "civitai` / `search hf"),
    "period": ("--period", "civitai"),
    "nsfw": ("--nsfw", "civitai"),
    "user": ("--user", "civitai` / `search hf"),
    "cursor": ("--cursor", "civitai"),
}


def _site_option_given(args: argparse.Namespace) -> str | None:
    """Why a library search cannot run with the options given: the first site-only option's message."""
    for attribute, (option, sites) in SITE_ONLY_OPTIONS.items():
        if getattr(args, attribute) not in (None, False, []):
            return f"{option} is for `search {sites}`, not for a library search"
    return None


def _search_library(context: AppContext, args: argparse.Namespace, text: str, out: TextIO) -> int:
    refused = _site_option_given(args)
    if refused is not None:
        print(f"atelier search: {refused}", file=sys.stderr)
        return EXIT_USAGE
    query = AssetQuery(
        text=text,
        kinds=tuple(AssetKind(k) for k in args.kind),
        architectures=tuple(Architecture(a) for a in args.arch),
        base_models=tuple(label.strip() for label in args.base_model if label.strip()),
        tags=tuple(args.tag),
        hidden=HiddenFilter(args.hidden),
        limit=args.limit or 100,
    )
    records = context.reads.search(query)
    if args.json:
        unmapped = {root.id: root for root in context.reads.roots() if not root.placed_here}
        shown = [
            _not_here(asset_to_json(r), unmapped[r.root_id]) if r.root_id in unmapped else asset_to_json(r)
            for r in records
        ]
        json.dump(json_text(shown), out, indent=2)
        out.write("\n")
        return EXIT_OK
    for record in records:
        print(_one_line(record), file=out)
    total = context.reads.count(query._replace(limit=None))
    print(f"{len(records)} of {total} shown", file=out)
    if query.base_models and not total:
        print(_labels_held(context), file=out)
    return EXIT_OK


def _labels_held(context: AppContext) -> str:
    """The library's base-model labels, on one line: after a label no file has, a typo shows."""
    labels = sorted(
        {label for labels in context.reads.base_model_labels().values() for label in labels}, key=str.casefold
    )
    if not labels:
        return "No file in the library has a base-model label (set --base-label, or look them up on Civitai)."
    return "Base-model labels in the library: " + ", ".join(labels)


def _one_line(record: AssetRecord) -> str:
    """One search hit; the Civitai name follows the file's own, so a hit found by it explains itself."""
    name = record.display_name or record.file_name
    status = "" if record.status is FileStatus.OK else f" [{record.status.value}]"
    remote = record.remote_model_name
    civitai = f"  ({remote})" if remote and remote.casefold() != name.casefold() else ""
    return f"{record.id:>6}  {record.kind.value:<12} {record.architecture.value:<12} {name}{civitai}{status}"


def _not_here(data: dict[str, Any], root: RootRecord) -> dict[str, Any]:
    """An asset of a shared folder this machine has not mapped (``show`` and ``search --json`` alike): its
    paths are another machine's, so none is given as this machine's: ``path`` is null, ``path_here`` says
    how to map the folder, the catalog's path is ``stored_path``, and no cover or preview path is given."""
    here = f"not mapped on this machine (the shared folder {root.name!r}: {map_command(root.name)})"
    shown: dict[str, Any] = {}
    for key, value in data.items():  # in the place of the path, in JSON and text alike
        shown.update(
            {"path": None, "path_here": here, "stored_path": value} if key == "path" else {key: value}
        )
    shown["cover_path"] = None
    if "previews" in shown:
        shown["previews"] = []
    return shown


def cmd_show(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from catalog.examine import sidecar_problems

    library = context.reads
    record = asset_by_id_or_path(library, args.target)
    data = asset_to_json(record, previews=library.previews(record.id), links=library.remote_links(record.id))
    unmapped = next((r for r in library.roots() if r.id == record.root_id and not r.placed_here), None)
    if unmapped is not None:
        data = _not_here(data, unmapped)
    else:
        # The catalog keeps what sidecars say, not their failures: read them now, so a problem stays in view.
        data["sidecar_problems"] = list(sidecar_problems(Path(record.path)))
    if args.json:
        json.dump(json_text(data), out, indent=2)
        out.write("\n")
        return EXIT_OK
    print_asset(data, out)
    return EXIT_OK


ROOTS_ACTIONS = ("list", "add", "map", "unmap", "remove")
_ROOTS_WORDS = {
    "list": (),
    "add": ("PATH",),
    "map": ("NAME", "PATH"),
    "unmap": ("NAME",),
    "remove": ("NAME|PATH",),
}


def cmd_roots(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    wanted = _ROOTS_WORDS[args.action]
    if len(args.words) != len(wanted):
        given = " ".join(wanted) or "nothing more"
        return _usage(f"roots {args.action} takes {given} (see `atelier roots --help`)")
    if args.action != "add" and (args.name or args.layout):
        return _usage(f"--name and --layout go with `roots add`, not `roots {args.action}`")
    if args.action != "map" and args.force:
        return _usage(f"--force goes with `roots map`, not `roots {args.action}`")
    if args.action != "remove" and args.yes:
        return _usage(f"--yes goes with `roots remove`, not `roots {args.action}`")
    if args.action == "list":
        return _list_roots(context, args, out)
    if args.action == "remove":
        return _remove_root(context, args, out)
    if args.action == "add":
        layout = LibraryLayout(args.layout) if args.layout else None
        root = context.add_root(Path(args.words[0]), layout, name=args.name)
        verb = "Library folder"
    elif args.action == "map":
        root = context.library.map_root(args.words[0], Path(args.words[1]), force=args.force)
        verb = "On this machine"
    else:
        root = context.library.unmap_root(args.words[0])
        verb = "No longer mapped on this machine (map it again to scan it here):"
    if args.json:
        json.dump(json_text(root_to_json(root)), out, indent=2)
        out.write("\n")
    else:
        print(f"{verb} {root.name!r} is {root.path}", file=out)
    return EXIT_OK


def _remove_root(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    """Forget a library folder and its files' rows, as the window's Settings › Library folders does (the
    files on disk stay as they are; scanning the folder again brings them back, without your tags)."""
    from app.confirm import ask

    roots = context.library.roots()
    root = root_by_id_name_or_path(roots, args.words[0])
    if root is None:
        listed = ", ".join(repr(r.name) for r in roots) or "none yet"
        raise NotFoundError(
            f"No library folder is named {args.words[0]!r} or is at that path "
            f"(the library's folders: {listed})."
        )
    files = counted(root.file_count, "file")
    question = (
        f"Remove the library folder {root.name!r} ({root.path}) and its {files} from the catalog? "
        "The files stay on disk; your tags and notes on them are forgotten."
    )
    refusal = f"not removing the library folder {root.name!r} ({files} in the catalog) without confirmation"
    if not ask(question, yes=args.yes, refusal=refusal):
        print("Nothing was removed.", file=out)
        return EXIT_OK
    context.library.remove_root(root.id)
    if args.json:
        json.dump(json_text({**root_to_json(root), "removed": True}), out, indent=2)
        out.write("\n")
    else:
        print(
            f"Removed the library folder {root.name!r} ({root.path}): its {files} left the catalog; "
            "the files on disk are untouched.",
            file=out,
        )
    return EXIT_OK


def _usage(message: str) -> int:
    print(f"atelier roots: {message}", file=sys.stderr)
    return EXIT_USAGE


def _list_roots(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    places = context.reads.root_places()
    if args.json:
        json.dump(json_text([root_to_json(place.root, place) for place in places]), out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not places:
        print("No library folders yet: add one with `atelier scan FOLDER`", file=out)
    for place in places:
        root = place.root
        files = "file " if root.file_count == 1 else "files"
        line = (
            f"{root.id:>4}  {root.name:<16} {root.layout.value:<16} {root.file_count:>7} {files}  {root.path}"
        )
        print(line + _where_else(place), file=out)
    return EXIT_OK


def _where_else(place: RootPlaces) -> str:
    """What a listing adds after this machine's path: the stored path when this machine reaches the folder
    elsewhere, the other machines' paths, and how to map a folder this machine cannot find."""
    root = place.root
    notes = []
    if root.canonical_path != root.path:
        notes.append(f"stored as {root.canonical_path}")
    notes += [f"{folder.machine_name}: {folder.path}" for folder in place.elsewhere]
    if not root.placed_here:
        notes.append(f"not mapped on this machine: `{map_command(root.name)}`")
    elif not Path(root.path).is_dir():
        notes.append(f"not found on this machine: `{map_command(root.name)}`")
    return f"  ({'; '.join(notes)})" if notes else ""


COMMANDS: dict[str, Handler] = {"search": cmd_search, "show": cmd_show, "roots": cmd_roots}
