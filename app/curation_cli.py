"""The CLI's curation commands: ``tag``, ``collection``, ``rate``, ``set``, ``sidecars write``, ``deleted``.

Every command names assets by id or path (:func:`app.cli_ids.assets_by_ids_or_paths`), changes them in one
transaction (``Library.bulk_edit`` / ``update_user_data`` / ``set_overrides``), prints one line per asset
(or the updated assets as JSON with ``--json``), and refuses a bad value in one line that says what is
accepted (an unknown kind lists the kinds).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from app.cli_arguments import user_path
from app.cli_ids import assets_by_ids_or_paths, row_id
from app.context import AppContext
from app.covers import cover_from_image
from app.serialize import asset_to_json, deleted_file_to_json, json_text
from app.sidecar_writer import SidecarReport, write_many
from catalog.errors import NotFoundError
from catalog.normalize import label_key
from catalog.records import AssetQuery, AssetRecord, BulkEdit, HiddenFilter, Overrides, UserDataChanges
from core.errors import AtelierError
from core.taxonomy import Architecture, AssetKind

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CurationUsageError(AtelierError):
    """A value the user typed that no asset can take; printed as one line, exit 2."""


Handler = Callable[[AppContext, argparse.Namespace, TextIO], int]


def _usage_errors_exit_2(command: str, handler: Handler) -> Handler:
    """A bad value typed by the user is a usage error (exit 2, one line), like argparse's own."""

    def run(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
        try:
            return handler(context, args, out)
        except CurationUsageError as exc:
            print(f"atelier {command}: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return run


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    tag = sub.add_parser(
        "tag",
        parents=[common],
        description=(
            "tag ID|PATH... [--add T...] [--remove T...] [--set T... | --clear]; without one, lists the tags"
        ),
    )
    tag.add_argument("targets", nargs="+", metavar="ID|PATH")
    tag.add_argument("--add", nargs="+", action="extend", default=[], metavar="TAG")
    tag.add_argument("--remove", nargs="+", action="extend", default=[], metavar="TAG")
    replace = tag.add_mutually_exclusive_group()
    replace.add_argument("--set", nargs="+", default=None, metavar="TAG", help="replace the tags by these")
    replace.add_argument("--clear", action="store_true", help="remove every tag of these assets")
    tag.add_argument("--json", action="store_true")

    collection = sub.add_parser(
        "collection",
        parents=[common],
        description="collection [NAME] [--add ID|PATH...] [--remove ID|PATH...] [--list]",
    )
    collection.add_argument("name", nargs="?", help="the collection (none: list every collection)")
    collection.add_argument("--add", nargs="+", action="extend", default=[], metavar="ID|PATH")
    collection.add_argument("--remove", nargs="+", action="extend", default=[], metavar="ID|PATH")
    collection.add_argument("--list", action="store_true", help="list the collection's assets")
    collection.add_argument("--json", action="store_true")

    rate = sub.add_parser(
        "rate",
        parents=[common],
        description="rate ID|PATH... N [--favorite | --no-favorite]",
    )
    rate.add_argument("items", nargs="+", metavar="ID|PATH... N")
    rate.add_argument("--favorite", action=argparse.BooleanOptionalAction, default=None)
    rate.add_argument("--json", action="store_true")

    set_cmd = sub.add_parser(
        "set",
        parents=[common],
    )
    set_cmd.add_argument("targets", nargs="+", metavar="ID|PATH")
    set_cmd.add_argument("--kind", help="override the kind the file was identified as")
    set_cmd.add_argument("--arch", help="override the architecture the file was identified as")
    set_cmd.add_argument("--base-label", help="the base-model label (Pony, Illustrious...; '' clears it)")
    set_cmd.add_argument("--trigger-words", help="your trigger words, comma separated: \"a, b\" ('' clears)")
    set_cmd.add_argument("--weight", help="preferred LoRA weight, e.g. 0.8")
    set_cmd.add_argument("--name", help="display name ('' goes back to the file name)")
    set_cmd.add_argument("--description", help="your description ('' clears it)")
    set_cmd.add_argument("--notes", help="your notes ('' clears them)")
    set_cmd.add_argument("--nsfw", action=argparse.BooleanOptionalAction, default=None)
    set_cmd.add_argument("--hidden", action=argparse.BooleanOptionalAction, default=None)
    set_cmd.add_argument("--favorite", action=argparse.BooleanOptionalAction, default=None)
    set_cmd.add_argument("--cover", type=user_path, metavar="IMAGE", help="make this picture the cover")
    set_cmd.add_argument(
        "--reset-overrides", action="store_true", help="back to the kind and architecture the file says"
    )
    set_cmd.add_argument(
        "--write-sidecars", action="store_true", help="then write the A1111 <name>.json and preview"
    )
    set_cmd.add_argument(
        "--force", action="store_true", help="with --write-sidecars: replace another preview"
    )
    set_cmd.add_argument("--json", action="store_true")

    sidecars = sub.add_parser(
        "sidecars",
        parents=[common],
        description="sidecars write ID|PATH... [--force]",
    )
    sidecars.add_argument("action", choices=["write"])
    sidecars.add_argument("targets", nargs="+", metavar="ID|PATH")
    sidecars.add_argument(
        "--force", action="store_true", help="replace a different preview already next to the model"
    )
    sidecars.add_argument("--json", action="store_true")

    deleted = sub.add_parser("deleted", parents=[common])
    deleted.add_argument(
        "--forget", nargs="+", type=row_id, default=[], metavar="ID", help="stop remembering"
    )
    deleted.add_argument("--json", action="store_true")


# commands -------------------------------------------------------------------------------------------------
def cmd_tag(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    records = assets_by_ids_or_paths(context.library, args.targets)
    edit = BulkEdit(
        add_tags=tuple(args.add),
        remove_tags=tuple(args.remove),
        set_tags=() if args.clear else tuple(args.set) if args.set is not None else None,
    )
    if not edit.is_empty:
        records = context.library.bulk_edit([r.id for r in records], edit)
    return _print_assets(records, args, out, lambda r: ", ".join(r.tags) or "(no tags)")


def cmd_collection(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    if args.name is None:
        if args.add or args.remove:
            raise CurationUsageError("name the collection to add to or remove from: collection NAME --add ID")
        counts = library.facets().collections
        if args.json:
            _dump([{"name": name, "count": count} for name, count in counts.items()], out)
        elif not counts:
            print("No collections yet: collection NAME --add ID|PATH... makes one", file=out)
        for name, count in counts.items() if not args.json else ():
            print(f"{count:>6}  {name}", file=out)
        return EXIT_OK
    name = " ".join(args.name.split())
    if not name:
        raise CurationUsageError("a collection needs a name")
    if args.add:
        added = assets_by_ids_or_paths(library, args.add)
        library.bulk_edit([r.id for r in added], BulkEdit(add_collections=(name,)))
        if not args.json:
            print(f"Added {_count(added)} to {name}", file=out)
    if args.remove:
        removed = assets_by_ids_or_paths(library, args.remove)
        library.bulk_edit([r.id for r in removed], BulkEdit(remove_collections=(name,)))
        if not args.json:
            print(f"Removed {_count(removed)} from {name}", file=out)
    if not (args.add or args.remove) and label_key(name) not in map(label_key, library.all_collections()):
        raise NotFoundError(f"no collection named {name!r} (see `atelier collection --list`)")
    if args.list or args.json or not (args.add or args.remove):
        members = library.search(AssetQuery(collection=name, hidden=HiddenFilter.ALL))
        return _print_assets(members, args, out, lambda r: r.path)
    return EXIT_OK


def cmd_rate(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    *targets, rating_text = args.items
    if not targets:
        raise CurationUsageError("rate needs the assets and then the rating: rate ID|PATH... N (0-5)")
    try:
        rating = int(rating_text)
    except ValueError:
        raise CurationUsageError(
            f"the rating is a whole number from 0 (unrated) to 5, not {rating_text!r}"
        ) from None
    if not 0 <= rating <= 5:
        raise CurationUsageError(f"the rating goes from 0 (unrated) to 5, not {rating}")
    records = assets_by_ids_or_paths(context.library, targets)
    records = context.library.bulk_edit(
        [r.id for r in records], BulkEdit(rating=rating, favorite=args.favorite)
    )
    return _print_assets(
        records, args, out, lambda r: f"{'★' * r.rating or 'unrated'}{' ♥' if r.favorite else ''}"
    )


def cmd_set(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    overrides = Overrides(
        kind=_kind(args.kind) if args.kind is not None else None,
        architecture=_architecture(args.arch) if args.arch is not None else None,
        reset=args.reset_overrides,
    )
    changes = UserDataChanges(
        display_name=args.name,
        description=args.description,
        notes=args.notes,
        nsfw=args.nsfw,
        favorite=args.favorite,
        hidden=args.hidden,
        base_model_label=args.base_label,
        trigger_words=_words(args.trigger_words) if args.trigger_words is not None else None,
        preferred_weight=_weight(args.weight) if args.weight is not None else None,
    )
    if args.force and not args.write_sidecars:
        raise CurationUsageError(
            "--force goes with --write-sidecars (it replaces a preview next to the model)"
        )
    records = assets_by_ids_or_paths(library, args.targets)
    nothing = overrides == Overrides() and changes == UserDataChanges() and args.cover is None
    if nothing and not args.write_sidecars:
        raise CurationUsageError(
            "nothing to set: give --kind, --arch, --base-label, --trigger-words, --weight, --name, "
            "--description, --notes, --nsfw, --hidden, --favorite, --cover, --reset-overrides "
            "or --write-sidecars"
        )
    updated: list[AssetRecord] = []
    for original in records:
        record = original
        if changes != UserDataChanges():
            record = library.update_user_data(record.id, changes)
        if overrides != Overrides():
            record = library.set_overrides(record.id, overrides)
        if args.cover is not None:
            cover_from_image(library, record.id, args.cover)
            record = library.get(record.id) or record
        updated.append(record)
    reports: list[SidecarReport] = []
    failures: list[str] = []
    if args.write_sidecars:
        reports, failed = write_many(library, updated, force=args.force)
        failures = [line for _, line in failed]
    if args.json:
        data = [asset_to_json(r) for r in updated]
        by_id = {report.asset_id: report for report in reports}
        for item in data:
            report = by_id.get(item["id"])
            if report is not None:
                item["sidecars"] = _report_json(report)
        _dump(data, out)
    else:
        for record in updated:
            print(_set_line(record), file=out)
        for report in reports:
            print(report.line, file=out)
    for line in failures:
        print(f"atelier set: {line}", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


def cmd_sidecars(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    records = assets_by_ids_or_paths(context.library, args.targets)
    reports, failed = write_many(context.library, records, force=args.force)
    if args.json:
        _dump(
            [_report_json(r) for r in reports]
            + [{"asset_id": record.id, "error": line} for record, line in failed],
            out,
        )
    else:
        for report in reports:
            print(report.line, file=out)
    for _, line in failed:
        print(f"atelier sidecars: {line}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_deleted(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    library = context.library
    if args.forget:
        forgotten = library.forget_deleted(args.forget)
        if not args.json:
            noun = "file" if len(args.forget) == 1 else "files"
            print(f"Forgot {forgotten} of {len(args.forget)} deleted {noun}", file=out)
    records = library.deleted_files()
    if args.json:
        _dump([deleted_file_to_json(d) for d in records], out)
        return EXIT_OK
    if not records and not args.forget:
        print("No deleted files remembered.", file=out)
    for d in records if not args.forget else ():
        civitai = f"  civitai {d.model_id}/{d.version_id}" if d.site == "civitai" and d.version_id else ""
        name = d.model_name or d.file_name
        version = f" ({d.version_name})" if d.version_name else ""
        print(f"{d.id:>6}  {d.deleted_at:%Y-%m-%d}  {name}{version}{civitai}  {d.path}", file=out)
    return EXIT_OK


COMMANDS: dict[str, Handler] = {
    name: _usage_errors_exit_2(name, handler)
    for name, handler in {
        "tag": cmd_tag,
        "collection": cmd_collection,
        "rate": cmd_rate,
        "set": cmd_set,
        "sidecars": cmd_sidecars,
        "deleted": cmd_deleted,
    }.items()
}


# values -------------------------------------------------------------------------------------------------
def _kind(text: str) -> AssetKind:
    value = text.strip().lower().replace("-", "_")
    try:
        return AssetKind(value)
    except ValueError:
        valid = ", ".join(kind.value for kind in AssetKind)
        raise CurationUsageError(f"unknown kind {text!r}; valid kinds: {valid}") from None


def _architecture(text: str) -> Architecture:
    value = text.strip().lower().replace("-", "_")
    try:
        return Architecture(value)
    except ValueError:
        valid = ", ".join(arch.value for arch in Architecture)
        raise CurationUsageError(f"unknown architecture {text!r}; valid architectures: {valid}") from None


def _weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CurationUsageError(f"the weight is a number such as 0.8, not {text!r}") from None
    if not math.isfinite(value):
        raise CurationUsageError(f"the weight is a number such as 0.8, not {text!r}")
    return value


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


# output -------------------------------------------------------------------------------------------------
def _print_assets(
    records: Sequence[AssetRecord],
    args: argparse.Namespace,
    out: TextIO,
    detail: Callable[[AssetRecord], str],
) -> int:
    if args.json:
        _dump([asset_to_json(r) for r in records], out)
        return EXIT_OK
    for record in records:
        print(f"{record.id:>6}  {record.display_name or record.file_name}: {detail(record)}", file=out)
    return EXIT_OK


def _set_line(record: AssetRecord) -> str:
    kind = record.kind.value
    if record.kind_override is not None:
        kind += f" (you set; file says {record.file_kind.value})"
    arch = record.architecture.value
    if record.architecture_override is not None:
        arch += f" (you set; file says {record.file_architecture.value})"
    facts = [kind, arch]
    if record.base_model_label:
        facts.append(record.base_model_label)
    if record.trigger_words:
        facts.append("triggers: " + ", ".join(record.trigger_words))
    if record.preferred_weight is not None:
        facts.append(f"weight {record.preferred_weight:g}")
    facts += [flag for flag, on in (("nsfw", record.nsfw), ("hidden", record.hidden)) if on]
    return f"{record.id:>6}  {record.display_name or record.file_name}: {' · '.join(facts)}"


def _report_json(report: SidecarReport) -> dict[str, Any]:
    return {
        "asset_id": report.asset_id,
        "json": str(report.json_path),
        "preview": report.preview.value,
        "preview_path": str(report.preview_path) if report.preview_path else None,
    }


def _count(records: Sequence[AssetRecord]) -> str:
    return f"{len(records)} asset" + ("" if len(records) == 1 else "s")


def _dump(data: object, out: TextIO) -> None:
    json.dump(json_text(data), out, indent=2)
    out.write("\n")
