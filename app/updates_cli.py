"""The CLI's update command: ``updates [ID|PATH...] [--check] [--download | --ignore] [--json]``.

* ``updates`` lists the files with a newer version on Civitai for their own base model (a sibling version
  for another base is no update: ``catalog.updates_bases``) (file, current version -> new version, date,
  base model, what changed), from the last check, checking first when there was none today;
* ``--check`` asks Civitai now (100 models per request);
* ``--download`` downloads the new versions beside the old files (all, or the files named);
* ``--ignore ID|PATH`` forgets the update of the named files' models (it is remembered per model, so
  every file of the model stops showing it) until a still newer version appears.

The work is ``app.updates.UpdateService``'s, the same the window uses; an unreachable Civitai ends in
one line and exit 1 (the CLI's error handling).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from app.cli_ids import assets_by_ids_or_paths
from app.context import AppContext
from app.progress_bar import ProgressBar
from app.serialize import json_text
from app.updates import CheckSummary, NoUpdateError, UpdateService
from catalog.updates import AssetUpdate
from core.sizes import human_size
from core.sources.civitai_updates import VersionInfo
from core.wording import counted

EXIT_OK = 0
EXIT_FAILED = 1
CHANGES_PREVIEW_CHARS = 160


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    updates = sub.add_parser(
        "updates",
        parents=[common],
        description=(
            "updates [ID|PATH...]: the files with a newer version on Civitai (all, or those named); "
            "--check asks Civitai now, --download gets the new versions beside the old files, "
            "--ignore hides an update (for every file of the named files' models) until a still newer "
            "version appears"
        ),
    )
    updates.add_argument("targets", nargs="*", help="asset ids or file paths (default: every file)")
    updates.add_argument(
        "--check", action="store_true", help="ask Civitai now instead of using today's check"
    )
    action = updates.add_mutually_exclusive_group()
    action.add_argument("--download", action="store_true", help="download the new versions beside the old")
    action.add_argument(
        "--ignore",
        action="store_true",
        help="ignore the update of the named files' models (every file of each model)",
    )
    updates.add_argument("--json", action="store_true")


def cmd_updates(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    service = UpdateService.for_context(context)
    assets = assets_by_ids_or_paths(context.library, args.targets) if args.targets else None
    if args.ignore:
        if not assets:
            raise NoUpdateError("--ignore needs the files to ignore updates of: ids or paths")
        return _ignore(service, [asset.id for asset in assets], args, out)
    summary = _check(service, force=args.check)
    if summary is not None and not args.json:
        print(summary, file=out)
    found = service.available(assets)
    if args.download:
        return _download(service, found, args, out)
    if args.json:
        json.dump(json_text([update_json(update) for update in found]), out, indent=2)
        out.write("\n")
        return EXIT_OK
    for update in found:
        print(update_text(update), file=out)
    if not found:
        print(
            "No updates: every Civitai-linked file is on the newest version for its base model (or ignored).",
            file=out,
        )
    return EXIT_OK


def _check(service: UpdateService, *, force: bool) -> CheckSummary | None:
    """Check now when asked, or when no check ran in the last day; else use the stored results."""
    last = service.last_check()
    if not force and last is not None and not service.is_stale(last):
        return None
    with ProgressBar("Checking for updates", unit="model") as bar:
        return service.check(bar.update)


def _ignore(service: UpdateService, asset_ids: list[int], args: argparse.Namespace, out: TextIO) -> int:
    """Ignore the newest version of each named file's model, and say which files that covers.

    "Ignore" is remembered per Civitai model (``catalog.updates``), so it hides the update of every file
    of that model, not only the one named; the lines list them all. Two files named of one model are one
    ignore, not an error for the second.
    """
    before = service.available()
    ignored: list[AssetUpdate] = []
    done: set[int] = set()
    for asset_id in asset_ids:
        model = next((update.model_id for update in before if update.asset_id == asset_id), None)
        if model is not None and model in done:
            continue
        update = service.ignore(asset_id)
        done.add(update.model_id)
        ignored.append(update)
    covered = {
        update.model_id: [other for other in before if other.model_id == update.model_id] or [update]
        for update in ignored
    }
    if args.json:
        data = [
            {**update_json(update), "ignored_for": [other.asset_id for other in covered[update.model_id]]}
            for update in ignored
        ]
        json.dump(json_text(data), out, indent=2)
        out.write("\n")
        return EXIT_OK
    for update in ignored:
        files = covered[update.model_id]
        print(
            f"Ignoring {update.newest.name} of {update.model_name} for every file of that model "
            f"({counted(len(files), 'file')}; a still newer version shows again):",
            file=out,
        )
        for other in files:
            print(f"  #{other.asset_id}  {other.path}", file=out)
    return EXIT_OK


def _download(service: UpdateService, found: list[AssetUpdate], args: argparse.Namespace, out: TextIO) -> int:
    results: list[dict[str, Any]] = []
    if not found and not args.json:
        print(
            "Nothing to download: none of the files named has an update; `atelier updates` lists those "
            "that have one (`--download` without files gets them all)."
            if args.targets
            else "Nothing to download: no file of the library has an update (ignored ones left out); "
            "`atelier updates --check` asks Civitai again.",
            file=out,
        )
    for update in found:
        with ProgressBar.of_bytes(f"Downloading {update.newest.name}") as bar:
            finished = service.download_beside(update.asset_id, bar.update)
        asset = finished.asset
        results.append(
            {
                **update_json(update),
                "downloaded": str(finished.path),
                "downloaded_asset_id": asset.id if asset else None,
            }
        )
        if not args.json:
            where = f" (#{asset.id})" if asset else ""
            print(f"Downloaded {finished.path}{where} beside {update.file_name}", file=out)
    if args.json:
        json.dump(json_text(results), out, indent=2)
        out.write("\n")
    return EXIT_OK


# --- printing --------------------------------------------------------------------------------------


def _date(version: VersionInfo) -> str:
    return version.published_at.date().isoformat() if version.published_at else "date unknown"


def update_text(update: AssetUpdate) -> str:
    """Three to four lines per file: which file, from -> to, when and for what, and what changed."""
    new = update.newest
    current = update.current_version_name or f"version {update.current_version_id}"
    base = new.base_model or "base model unknown"
    lines = [
        f"#{update.asset_id}  {update.path}",
        f"    {update.model_name}: {current} -> {new.name}  ({_date(new)}, {base})",
    ]
    if len(update.newer) > 1:
        lines.append(f"    {len(update.newer)} newer versions: {', '.join(v.name for v in update.newer)}")
    file = new.primary_file
    if file is not None and file.size_bytes:
        lines.append(f"    file: {file.name} ({human_size(file.size_bytes)})")
    changes = " ".join(new.changes.split())
    if changes:
        short = (
            changes if len(changes) <= CHANGES_PREVIEW_CHARS else changes[: CHANGES_PREVIEW_CHARS - 1] + "…"
        )
        lines.append(f"    what changed: {short}")
    return "\n".join(lines)


def update_json(update: AssetUpdate) -> dict[str, Any]:
    return {
        "asset_id": update.asset_id,
        "path": update.path,
        "model_id": update.model_id,
        "model_name": update.model_name,
        "current_version": {"id": update.current_version_id, "name": update.current_version_name},
        "new_version": update.newest.to_json(),
        "newer_versions": [version.id for version in update.newer],
        "checked_at": update.checked_at.isoformat() if update.checked_at else None,
    }


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"updates": cmd_updates}
