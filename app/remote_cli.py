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
from app.serialize import json_text
from catalog.library import Library
from core.sources.civitai_records import CivitaiModel
from core.sources.hf_records import HfModelSummary
from core.sources.huggingface import SortKey
from core.sources.site_words import (
    CIVITAI_BASE_MODEL_LABELS,
    CIVITAI_PERIOD_LABELS,
    CIVITAI_SORT_LABELS,
    CIVITAI_TYPE_LABELS,
    HF_SORT_LABELS,
    site_label,
    site_value,
)

EXIT_OK = 0
HF_SORTS: tuple[SortKey, ...] = ("downloads", "likes", "last_modified", "created_at", "trending_score")
MAX_HF_RESULTS = 1000  # the Hub pages lazily: a larger --limit would only mean a very long wait


class SearchOptionError(ValueError):
    """An option value a site does not know; the message lists the ones it does."""


def _one_of(option: str, labels: dict[str, str], text: str, shown: tuple[str, ...] | None = None) -> str:
    """The API value ``text`` means (the API's word or the user's, any case), or SearchOptionError."""
    value = site_value(labels, text)
    if value is None:
        names = shown or tuple(labels.values())
        raise SearchOptionError(f"{option} {text!r} is not one of: {', '.join(names)}")
    return value


def civitai_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Civitai search filters the options name, in the API's words. Raises SearchOptionError."""
    return {
        "types": tuple(_one_of("--type", CIVITAI_TYPE_LABELS, text) for text in args.type),
        # a base model Atelier has no word for is passed on as typed: Civitai adds new ones often
        "base_models": tuple(site_value(CIVITAI_BASE_MODEL_LABELS, text) or text for text in args.base_model),
        "sort": _one_of("--sort", CIVITAI_SORT_LABELS, args.sort) if args.sort else None,
        "period": _one_of("--period", CIVITAI_PERIOD_LABELS, args.period) if args.period else None,
    }


def hf_sort(args: argparse.Namespace) -> SortKey:
    """The Hub's sort key for ``--sort`` ("likes" or "Most liked"). Raises SearchOptionError."""
    if not args.sort:
        return "downloads"
    return cast("SortKey", _one_of("--sort", HF_SORT_LABELS, args.sort, shown=HF_SORTS))


def no_results(text: str) -> str:
    return f"No models match “{text}”." if text else "No models match these filters."


def search_civitai(context: AppContext, args: argparse.Namespace, text: str, out: TextIO) -> int:
    options = civitai_options(args)
    page = context.civitai().search_models(
        text,
        tag=args.tag[0] if args.tag else None,
        username=args.user,
        nsfw=True if args.nsfw else None,
        limit=args.limit or 20,
        cursor=args.cursor,
        **options,
    )
    owned = _owned_sha256s(context.library, page.items)
    if args.json:
        items = [_civitai_json(model, owned) for model in page.items]
        json.dump(json_text({"items": items, "next_cursor": page.next_cursor}), out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not page.items:
        print(no_results(text), file=out)
    for model in page.items:
        bases = sorted(
            {site_label(CIVITAI_BASE_MODEL_LABELS, v.base_model) for v in model.versions if v.base_model}
        )
        have = any(f.sha256 in owned for v in model.versions for f in v.files if f.sha256)
        badge = "  [in library]" if have else ""
        downloads = f"{model.stats.downloads or 0:,} downloads"
        kind = site_label(CIVITAI_TYPE_LABELS, model.type)
        print(
            f"{model.id:>8}  {kind:<16} {model.name}  ({', '.join(bases) or '?'}; {downloads}){badge}",
            file=out,
        )
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}", file=out)
    return EXIT_OK


def search_huggingface(context: AppContext, args: argparse.Namespace, text: str, out: TextIO) -> int:
    sort = hf_sort(args)
    results = context.huggingface().search_models(
        text, author=args.user, tags=tuple(args.tag), sort=sort, limit=min(args.limit or 20, MAX_HF_RESULTS)
    )
    if args.json:
        json.dump(json_text([_plain(summary) for summary in results]), out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not results:
        print(no_results(text), file=out)
    for summary in results:
        print(_hf_line(summary), file=out)
    return EXIT_OK


def _hf_line(summary: HfModelSummary) -> str:
    gated = "  [gated]" if summary.gated else ""
    kind = summary.pipeline_tag or summary.library_name or ""
    return f"{summary.repo_id:<60} {summary.downloads or 0:>10,} downloads  {kind}{gated}"


def _owned_sha256s(library: Library, models: tuple[CivitaiModel, ...]) -> set[str]:
    """SHA256s among the results' files that are in the library and there to use
    (:meth:`catalog.library.Library.copies_there`)."""
    owned: set[str] = set()
    for model in models:
        for version in model.versions:
            for file in version.files:
                if file.sha256 and library.copies_there(file.sha256):
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
