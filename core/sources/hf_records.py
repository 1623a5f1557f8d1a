"""Frozen records for Hugging Face repositories, and pure helpers that read them.

Records are parsed from Hub-shaped JSON (the shape of ``GET /api/models/{id}?blobs=true``) rather than from
huggingface_hub's ``ModelInfo`` so that the parsing is testable without a server, the ``raw`` payload can
be stored as is, and a change in the library's classes touches only the client's conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal, NamedTuple

from core.taxonomy import FileFormat

Gated = Literal[False, "auto", "manual"]

WEIGHT_SUFFIXES = frozenset({".safetensors", ".ckpt", ".bin", ".pt", ".pth", ".gguf", ".sft"})

_FORMAT_BY_SUFFIX = {
    ".safetensors": FileFormat.SAFETENSORS,
    ".sft": FileFormat.SAFETENSORS,
    ".ckpt": FileFormat.CKPT,
    ".pt": FileFormat.PT,
    ".pth": FileFormat.PT,
    ".bin": FileFormat.BIN,
    ".gguf": FileFormat.GGUF,
}

# Files with weight suffixes that are training state, not a model anyone would load for inference.
_TRAINING_FILE = re.compile(
    r"(optimizer|scheduler|scaler|rng_state|training_args|trainer_state|training_state|ema_state)",
    re.IGNORECASE,
)
_PRECISION = re.compile(r"(?:^|[._-])(fp16|bf16|fp32)(?=[._-]|$)", re.IGNORECASE)
_SHARD = re.compile(r"-\d{5}-of-\d{5}$")


@dataclass(frozen=True, slots=True)
class HfFile:
    """One file of a repository; ``sha256`` is the LFS oid (what the downloader verifies), else None."""

    path: str
    size: int | None
    sha256: str | None = None
    is_lfs: bool = False
    blob_id: str | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix.lower()

    @property
    def folder(self) -> str | None:
        """First path component ("unet" for ``unet/x.safetensors``); None for files at the root."""
        parts = self.path.split("/")
        return parts[0] if len(parts) > 1 else None

    @property
    def format(self) -> FileFormat | None:
        return _FORMAT_BY_SUFFIX.get(self.suffix)

    @property
    def is_model_weight(self) -> bool:
        """Weights someone would load: by suffix, minus optimizer/scheduler/trainer state dumps."""
        return self.suffix in WEIGHT_SUFFIXES and not _TRAINING_FILE.search(self.name)

    @property
    def precision_hint(self) -> str | None:
        """ "fp16"/"bf16"/"fp32" when the name says so (``x.fp16.safetensors``, ``x_fp16.safetensors``).

        Only a hint for choosing between downloads: the real dtype is in the file's header.
        """
        match = _PRECISION.search(PurePosixPath(self.path).stem)
        return match.group(1).lower() if match else None

    @property
    def variant(self) -> str | None:
        """The diffusers variant ("fp16" in ``diffusion_pytorch_model.fp16.safetensors``), else None.

        diffusers names variants ``<base>.<variant>[-NNNNN-of-NNNNN].<ext>``; names with other dots are
        not variants (``sd_xl_turbo_1.0.safetensors``), so this is only meaningful inside a component folder.
        """
        parts = self.name.split(".")
        if len(parts) != 3:
            return None
        return _SHARD.sub("", parts[1]) or None


@dataclass(frozen=True, slots=True, kw_only=True)
class HfModelSummary:
    """One search result: enough to list, sort and filter without fetching the repository."""

    repo_id: str
    author: str | None = None
    downloads: int = 0
    likes: int = 0
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library_name: str | None = None
    last_modified: datetime | None = None
    gated: Gated = False
    private: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HfModelDetail(HfModelSummary):
    """A repository at one commit, with its files (sizes and LFS sha256 included)."""

    sha: str | None = None
    card_data: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[HfFile, ...] = ()
    is_diffusers_pipeline: bool = False
    base_models: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def file(self, path: str) -> HfFile | None:
        return next((f for f in self.files if f.path == path), None)


class HfResolvedFile(NamedTuple):
    """What a HEAD on ``/resolve/`` tells the downloader: where to GET, how big, what hash, which commit."""

    url: str
    size: int | None
    sha256: str | None
    commit: str


def parse_gated(value: Any) -> Gated:
    """The Hub sends False, "auto" or "manual"; older payloads sent True (treated as manual approval)."""
    if value in ("auto", "manual"):
        return "auto" if value == "auto" else "manual"
    return "manual" if value is True else False


def parse_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def sha256_or_none(value: Any) -> str | None:
    """An LFS oid / linked ETag is a sha256 only when it is 64 hex digits (git blob ids are 40)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    return None


def file_from_sibling(sibling: Mapping[str, Any]) -> HfFile:
    """``siblings[]`` item of model info: {rfilename, size?, blobId?, lfs?: {sha256, size, pointerSize}}."""
    lfs = sibling.get("lfs") or None
    size = sibling.get("size")
    if lfs is not None and lfs.get("size") is not None:
        size = lfs["size"]
    return HfFile(
        path=str(sibling["rfilename"]),
        size=int(size) if size is not None else None,
        sha256=sha256_or_none(lfs.get("sha256") or lfs.get("oid")) if lfs is not None else None,
        is_lfs=lfs is not None,
        blob_id=sibling.get("blobId"),
    )


def base_models_of(tags: Iterable[str], card_data: Mapping[str, Any]) -> tuple[str, ...]:
    """Base models from ``base_model:[relation:]org/name`` tags and the card's ``base_model`` (str or list).

    The Hub adds a relation (``finetune``, ``adapter``, ``merge``, ``quantized``) to newer tags.
    """
    found: list[str] = []
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        rest = tag.removeprefix("base_model:")
        head, sep, tail = rest.partition(":")
        found.append(tail if sep and "/" not in head else rest)
    card = card_data.get("base_model")
    if isinstance(card, str):
        found.append(card)
    elif isinstance(card, list):
        found.extend(str(item) for item in card if item)
    return tuple(dict.fromkeys(item for item in found if item))


def summary_from_payload(payload: Mapping[str, Any]) -> HfModelSummary:
    """A ``GET /api/models`` item (only ``id`` is guaranteed; the rest depends on ``expand``)."""
    return HfModelSummary(**_summary_fields(payload))


def detail_from_payload(payload: Mapping[str, Any]) -> HfModelDetail:
    """A ``GET /api/models/{id}?blobs=true`` body."""
    files = tuple(file_from_sibling(s) for s in payload.get("siblings") or ())
    card_data = dict(payload.get("cardData") or {})
    fields = _summary_fields(payload)
    return HfModelDetail(
        **fields,
        sha=payload.get("sha"),
        card_data=card_data,
        files=files,
        is_diffusers_pipeline=any(f.path == "model_index.json" for f in files),
        base_models=base_models_of(fields["tags"], card_data),
        raw=dict(payload),
    )


def _summary_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    repo_id = str(payload.get("id") or payload.get("modelId"))
    author = payload.get("author") or (repo_id.split("/", 1)[0] if "/" in repo_id else None)
    return {
        "repo_id": repo_id,
        "author": author,
        "downloads": int(payload.get("downloads") or 0),
        "likes": int(payload.get("likes") or 0),
        "tags": tuple(str(t) for t in payload.get("tags") or ()),
        "pipeline_tag": payload.get("pipeline_tag"),
        "library_name": payload.get("library_name"),
        "last_modified": parse_datetime(payload.get("lastModified")),
        "gated": parse_gated(payload.get("gated")),
        "private": bool(payload.get("private")),
    }


def model_files(detail: HfModelDetail) -> list[HfFile]:
    """The files that are model weights (any folder), in repository order."""
    return [f for f in detail.files if f.is_model_weight]


def pipeline_components(detail: HfModelDetail, prefer_variant: str | None = None) -> dict[str, list[HfFile]]:
    """For a diffusers repository: component folder -> the weight files to download for it.

    A folder often holds the same weights several times (``model.safetensors``, ``model.fp16.safetensors``,
    ``model.bin``); diffusers loads one set. Per folder we pick ``prefer_variant`` if present, else the
    non-variant files, else fp16, else whatever variant exists; and safetensors over pickles when both exist.
    Empty for a repository without ``model_index.json``.
    """
    if not detail.is_diffusers_pipeline:
        return {}
    by_folder: dict[str, dict[str | None, list[HfFile]]] = {}
    for f in detail.files:
        if f.folder is None or f.path.count("/") != 1 or not f.is_model_weight:
            continue
        by_folder.setdefault(f.folder, {}).setdefault(f.variant, []).append(f)
    components: dict[str, list[HfFile]] = {}
    for folder, groups in by_folder.items():
        order: list[str | None] = [prefer_variant, None, "fp16", *sorted(k for k in groups if k)]
        chosen = next(groups[key] for key in order if key in groups)
        safetensors = [f for f in chosen if f.format is FileFormat.SAFETENSORS]
        components[folder] = safetensors or chosen
    return components
