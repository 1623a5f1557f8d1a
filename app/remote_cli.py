"""The CLI's remote commands: searching Civitai and Hugging Face (``search civitai|hf ...``).

Results say which files are already in the library (matched by SHA256), so a script can skip what the
user has. JSON output drops the raw API payloads (they stay available through the library).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any, TextIO, cast

from app.context import AppContext
from catalog.library import Library
from core.sources.civitai_records import CivitaiModel
from core.sources.hf_records import HfModelSummary
from core.sources.huggingface import SortKey

EXIT_OK = 0
HF_SORTS: tuple[SortKey, ...] = ("downloads", "likes", "last_modified", "created_at", "trending_score")


def search_civitai(context: AppContext, args: argparse.Namespace, text: str, out: TextIO) -> int:
    page = context.civitai().search_models(
        text,
        tag=args.tag[0] if args.tag else None,
        username=args.user,
        types=tuple(args.type),
        base_models=tuple(args.base_model),
        sort=args.sort,
        period=args.period,
        nsfw=True if args.nsfw else None,
        limit=args.limit or 20,
        cursor=args.cursor,
    )
    owned = _owned_sha256s(context.library, page.items)
    if args.json:
        items = [_civitai_json(model, owned) for model in page.items]
        json.dump({"items": items, "next_cursor": page.next_cursor}, out, indent=2)
        out.write("\n")
        return EXIT_OK
    for model in page.items:
        bases = sorted({v.base_model for v in model.versions if v.base_model})
        have = any(f.sha256 in owned for v in model.versions for f in v.files if f.sha256)
        badge = "  [in library]" if have else ""
        downloads = f"{model.stats.downloads or 0:,} downloads"
        print(
            f"{model.id:>8}  {model.type:<16} {model.name}  ({', '.join(bases) or '?'}; {downloads}){badge}",
            file=out,
        )
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}", file=out)
    return EXIT_OK


def search_huggingface(context: AppContext, args: argparse.Namespace, text: str, out: TextIO) -> int:
    sort = args.sort or "downloads"
    results = context.huggingface().search_models(
        text, author=args.user, tags=tuple(args.tag), sort=cast("SortKey", sort), limit=args.limit or 20
    )
    if args.json:
        json.dump([_plain(summary) for summary in results], out, indent=2)
        out.write("\n")
        return EXIT_OK
    for summary in results:
        print(_hf_line(summary), file=out)
    return EXIT_OK


def _hf_line(summary: HfModelSummary) -> str:
    gated = "  [gated]" if summary.gated else ""
    kind = summary.pipeline_tag or summary.library_name or ""
    return f"{summary.repo_id:<60} {summary.downloads or 0:>10,} downloads  {kind}{gated}"


def _owned_sha256s(library: Library, models: tuple[CivitaiModel, ...]) -> set[str]:
    """SHA256s among the results' files that are already in the library."""
    owned: set[str] = set()
    for model in models:
        for version in model.versions:
            for file in version.files:
                if file.sha256 and library.find_by_hash(file.sha256):
                    owned.add(file.sha256)
    return owned


def _civitai_json(model: CivitaiModel, owned: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = _plain(model)
    for version_data, version in zip(data["versions"], model.versions, strict=True):
        for file_data, file in zip(version_data["files"], version.files, strict=True):
            file_data["in_library"] = bool(file.sha256 and file.sha256 in owned)
    return data


def _plain(value: Any) -> Any:
    """A record as JSON-able data, without the raw payloads."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name != "raw"}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
