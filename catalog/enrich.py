"""Enrichment: every hashed local file without a Civitai link is looked up, 100 hashes per request.

What a lookup finds (model, version, file, creator, description, tags, trigger words, base-model label,
NSFW level, example images with their generation parameters) is stored through
``Library.record_remote_match`` as Civitai's facts, apart from the user's fields, which it never
overwrites; a cover preview is fetched within the NSFW level the user allows.
"Not found" is remembered with its date and asked again only after ``retry_after`` (or with ``force``).
A failed request records nothing, so an outage never wipes or hides good data.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from catalog.library import Library
from catalog.records import RemoteMatch
from catalog.remote import match_from_facts
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.replace_file import replace_file
from core.sources.civitai_facts import CivitaiFacts, facts_from_version
from core.sources.civitai_records import CivitaiImage, CivitaiModel, CivitaiVersion
from core.sources.errors import NetworkError, RateLimitedError, RemoteError
from core.taxonomy import FileStatus
from core.wording import counted

BATCH = 100  # the by-hash endpoint's limit
SITE = "civitai"


class VersionLookup(Protocol):
    """The part of the Civitai client enrichment needs."""

    def versions_by_hashes(self, sha256s: Sequence[str]) -> Mapping[str, CivitaiVersion]: ...

    def models_by_ids(self, model_ids: Sequence[int]) -> Mapping[int, CivitaiModel]: ...


ImageFetcher = Callable[[str], bytes]


@dataclass
class EnrichSummary:
    looked_up: int = 0
    matched: int = 0
    not_found: int = 0
    failed: int = 0
    covers: int = 0
    requests: int = 0  # by-hash lookups (100 files each)
    model_requests: int = 0  # /models?ids= fetches for the matches' tags (100 models each)
    elapsed_s: float = 0.0
    cancelled: bool = False
    problems: list[str] = field(default_factory=list)
    offline: str | None = None  # why Civitai could not be reached; the files are asked again next time

    def __str__(self) -> str:
        if self.offline is not None:
            return f"{self.offline} The files will be looked up on Civitai next time."
        if not (self.looked_up or self.failed or self.cancelled):
            return "Every hashed file has already been looked up on Civitai"
        verb = "Lookup cancelled after" if self.cancelled else "Looked up"
        parts = [f"{self.matched} found", f"{self.not_found} not on Civitai"]
        if self.failed:
            parts.append(f"{self.failed} not checked (request failed)")
        looked_up, requests = counted(self.looked_up, "file"), counted(self.requests, "request")
        return f"{verb} {looked_up} on Civitai in {requests}: {', '.join(parts)}"


def match_from_version(
    version: CivitaiVersion, sha256: str, model: CivitaiModel | None = None
) -> RemoteMatch:
    """What a Civitai version (and its model, for tags, creator and description) says about a local file:
    the same facts a ``.civitai.info`` sidecar gives (``civitai_facts.facts_from_version``)."""
    payload = version.raw or {"id": version.id, "modelId": version.model_id}
    facts = facts_from_version(payload, model, sha256=sha256)
    if facts is None:  # a parsed version always has an id; kept for the type checker
        facts = CivitaiFacts(model_id=version.model_id, version_id=version.id, payload=payload)
    return match_from_facts(facts)


def cover_image(version: CivitaiVersion, nsfw_max_level: int) -> CivitaiImage | None:
    """The first still image within the allowed NSFW level (unknown levels are treated as not allowed)."""
    for image in version.images:
        if image.type != "image" or image.nsfw_level is None:
            continue
        if image.nsfw_level <= nsfw_max_level:
            return image
    return None


def enrich(
    library: Library,
    lookup: VersionLookup,
    *,
    covers: CoverFetcher | None = None,
    force: bool = False,
    retry_after: timedelta = timedelta(days=7),
    asset_ids: Sequence[int] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> EnrichSummary:
    """Look up every candidate file (or, with ``asset_ids``, those files whether linked or not: the user
    asked for a fresh answer); safe to cancel between batches. An unreachable site stops the run at once
    (``offline``): the next batches would only fail the same way."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    summary = EnrichSummary()
    if asset_ids is None:
        candidates = library.lookup_candidates(SITE, retry_after=retry_after, force=force)
    else:
        candidates = [
            (record.id, record.hashes.sha256)
            for record in library.get_many(asset_ids)
            if record.hashes is not None and record.hashes.sha256 and record.status is FileStatus.OK
        ]
    total = len(candidates)
    for start in range(0, total, BATCH):
        if cancel.cancelled:
            summary.cancelled = True
            break
        batch = candidates[start : start + BATCH]
        progress(Progress(start, total, f"Looking up {len(batch)} files on Civitai"))
        summary.requests += 1
        try:
            found = lookup.versions_by_hashes([sha256 for _, sha256 in batch])
        except NetworkError as exc:
            summary.failed += total - start
            summary.offline = exc.message
            break  # offline: every other batch would fail the same way
        except RateLimitedError as exc:
            summary.failed += total - start
            summary.problems.append(exc.message)
            break  # more requests would only be refused too
        except RemoteError as exc:
            summary.failed += len(batch)
            summary.problems.append(exc.message)
            continue
        found = {sha.upper(): version for sha, version in found.items()}
        models = _models_of(lookup, found.values(), summary)
        misses: list[int] = []
        for asset_id, sha256 in batch:
            version = found.get(sha256.upper())
            if version is None:
                misses.append(asset_id)
                continue
            model = models.get(version.model_id) if version.model_id is not None else None
            library.record_remote_match(asset_id, match_from_version(version, sha256, model))
            summary.matched += 1
            if covers is not None:
                summary.covers += covers.store(library, asset_id, version)
        library.record_remote_misses(misses, SITE)
        summary.not_found += len(misses)
        summary.looked_up += len(batch)
    summary.elapsed_s = time.perf_counter() - started
    progress(Progress(summary.looked_up, total, str(summary)))
    return summary


def _models_of(
    lookup: VersionLookup, versions: Iterable[CivitaiVersion], summary: EnrichSummary
) -> Mapping[int, CivitaiModel]:
    """The matched versions' models (for tags), one request per 100; without them the match still counts."""
    ids = sorted({v.model_id for v in versions if v.model_id is not None})
    if not ids:
        return {}
    summary.model_requests += -(-len(ids) // 100)
    try:
        return lookup.models_by_ids(ids)
    except RemoteError as exc:
        summary.problems.append(f"model tags not fetched: {exc.message}")
        return {}


@dataclass(frozen=True)
class CoverFetcher:
    """Fetches a version's cover image into the cache and adds it as a preview of the asset."""

    fetch_image: ImageFetcher
    cache_dir: Path
    nsfw_max_level: int = 1

    def store(self, library: Library, asset_id: int, version: CivitaiVersion) -> int:
        """Returns 1 when a preview was added, 0 when none fits or the image could not be fetched."""
        image = cover_image(version, self.nsfw_max_level)
        if image is None:
            return 0
        name = hashlib.sha256(image.url.encode()).hexdigest()[:32] + _suffix(image.url)
        path = self.cache_dir / "civitai" / name
        if not path.exists():
            try:
                data = self.fetch_image(image.url)
            except (RemoteError, OSError):
                return 0  # a missing cover is not worth failing the lookup for
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            replace_file(tmp, path)
        library.add_preview(asset_id, str(path), "civitai", width=image.width, height=image.height)
        return 1


def _suffix(url: str) -> str:
    tail = url.rsplit("/", 1)[-1].split("?", 1)[0].lower()
    for suffix in (".png", ".webp", ".jpeg", ".jpg", ".gif"):
        if tail.endswith(suffix):
            return suffix
    return ".jpeg"
