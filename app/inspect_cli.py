"""``atelier inspect FILE...``: what a scan would catalog for each file, without a catalog.

The start-up of this command is the measure of "instant": it reads headers with the standard library
and the format readers only, never SQLAlchemy, the site clients or numpy (``--hash`` loads the hashing
only when asked).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.cli import EXIT_FAILED, EXIT_OK, Handler
from app.cli_arguments import user_path
from app.serialize import inspection_to_json, json_text
from catalog.examine import examine, look_at
from core.formats.diffusers_folder import looks_like_diffusers
from core.formats.model_file import FormatError, UnreadableFileError
from core.formats.reader import read_header
from core.formats.safe_open import check_regular
from core.layouts import MODEL_FILE_SUFFIXES
from core.taxonomy import AssetKind, FileStatus

if TYPE_CHECKING:
    from app.context import AppContext
    from core.file_hashes import FileHashes

_INFO_SIDECARS = (".civitai.info", ".cm-info.json", ".metadata.json")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    inspect = sub.add_parser("inspect", parents=[common])
    inspect.add_argument("paths", nargs="+", type=user_path)
    inspect.add_argument("--json", action="store_true", help="print one JSON array")
    inspect.add_argument("--hash", action="store_true", help="also compute every hash")


def cmd_inspect(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    results: list[dict[str, Any]] = []
    failed = False
    for path in args.paths:
        if not (path.exists() or path.is_symlink()):
            print(f"atelier inspect: {path}: no such file or folder", file=sys.stderr)
            failed = True
            continue
        refusal = _not_a_model(path)
        if refusal is not None:
            print(f"atelier inspect: {path}: {refusal}", file=sys.stderr)
            failed = True
            continue
        results.append(_inspect_one(path, with_hashes=args.hash))
    if args.json:
        json.dump(json_text(results), out, indent=2)
        out.write("\n")
    else:
        for item in results:
            _print_inspection(item, out)
    return EXIT_FAILED if failed else EXIT_OK


COMMANDS: dict[str, Handler] = {"inspect": cmd_inspect}


def _not_a_model(path: Path) -> str | None:
    """Why ``path`` is not something to inspect at all (a plain folder, a sidecar), else None.

    A file with a model suffix, or any file whose bytes are a model format, is inspected (and reported
    corrupt when it is damaged); only what is plainly no model is turned away with one line.
    """
    if path.is_dir():
        if looks_like_diffusers(frozenset(entry.name for entry in os.scandir(path))):
            return None
        return (
            "a folder, not a diffusers model (no model_index.json or config.json); "
            "`scan` it to catalog the models inside"
        )
    if path.suffix.lower() in MODEL_FILE_SUFFIXES:
        return None
    try:
        check_regular(path)
    except UnreadableFileError:
        return None  # a named pipe or a broken link is inspected, and reported unreadable with why
    try:
        read_header(path)
    except FormatError:
        sidecar = next((s for s in _INFO_SIDECARS if path.name.lower().endswith(s)), None)
        what = f" (a {sidecar} sidecar: `show` the model beside it)" if sidecar else ""
        return f"not a model file{what}"
    except OSError:
        return None  # unreadable: inspected, and reported with its reason
    return None


def _inspect_one(path: Path, *, with_hashes: bool) -> dict[str, Any]:
    """What a scan would catalog for ``path``, read the same way (``catalog.examine``), never opening a
    named pipe, socket or device: those, and broken links, are ``unreadable`` with the reason."""
    scanned = examine(look_at(path))
    readable = scanned.status is not FileStatus.UNREADABLE
    hashes: FileHashes | None = None
    if with_hashes and readable and path.is_file():
        from core.hashing import hash_file

        hashes = hash_file(path)
    item = inspection_to_json(
        path,
        size=scanned.size if readable else None,
        file_format=scanned.format,
        status=scanned.status,
        status_reason=scanned.status_reason,
        identification=scanned.identification,
        hashes=hashes,
        sidecars=scanned.sidecars,
        with_hashes=with_hashes,
    )
    if scanned.sidecars is not None and scanned.sidecars.errors:
        item["sidecar_problems"] = list(scanned.sidecars.errors)  # the model's own status is unaffected
    return item


def _print_inspection(item: dict[str, Any], out: TextIO) -> None:
    print(item["path"], file=out)
    for problem in item.get("sidecar_problems", ()):
        print(f"  sidecar:      {problem}", file=out)
    if item["status"] != FileStatus.OK.value:
        print(f"  status:       {item['status']} - {item['status_reason']}", file=out)
        return
    details = ", ".join(
        f"{key} {item[key]}" for key in ("network", "variant", "prediction", "precision") if item.get(key)
    )
    print(f"  kind:         {item['kind']} / {item['architecture']}", file=out)
    print(f"  format:       {item['format']}" + (f" ({details})" if details else ""), file=out)
    for reason in item["reasons"]:
        print(f"  because       {reason}", file=out)
    if item["kind"] == AssetKind.UNKNOWN.value:
        for refusal in item["refusals"]:
            print(f"  not           {refusal}", file=out)
    if item["trigger_words"]:
        print(f"  triggers:     {', '.join(item['trigger_words'])}", file=out)
    for key, value in (item.get("hashes") or {}).items():
        print(f"  {key + ':':13} {value or '-'}", file=out)
