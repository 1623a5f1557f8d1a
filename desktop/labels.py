"""Human wording for the taxonomy enums and for sizes, shared by every view.

The enum values are stable ids meant for JSON and the database ("sd1", "ip_adapter"); users read
"SD 1.x" and "IP-Adapter". Keeping the wording in one place keeps the table, the grid badges, the
sidebar and the details pane consistent.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING

from catalog.path_text import shown
from core.sizes import human_size
from core.taxonomy import (
    ARCHITECTURE_NAMES,
    KIND_WORDS,
    Architecture,
    AssetKind,
    FileFormat,
    FileStatus,
    NetworkType,
)

if TYPE_CHECKING:
    from catalog.records import AssetRecord, AssetRow

# The sites' words (Civitai's types and base models, the sorts) are core.sources.site_words', shared with
# the CLI; the site tabs import them from there. Not from here: they come with the architecture vocabulary
# table, which the library's first frame does without.
__all__ = [
    "ARCHITECTURE_LABELS",
    "KIND_BADGES",
    "KIND_COLORS",
    "KIND_LABELS",
    "NETWORK_LABELS",
    "STATUS_LABELS",
    "display_title",
    "human_size",
    "kind_label",
    "precision_label",
    "stars",
]

KIND_LABELS: Mapping[AssetKind, str] = KIND_WORDS

# Short forms for the grid badges, where a tile is ~150 px wide.
KIND_BADGES: dict[AssetKind, str] = {
    AssetKind.CHECKPOINT: "CKPT",
    AssetKind.LORA: "LORA",
    AssetKind.EMBEDDING: "TI",
    AssetKind.HYPERNETWORK: "HN",
    AssetKind.VAE: "VAE",
    AssetKind.CONTROLNET: "CN",
    AssetKind.IP_ADAPTER: "IPA",
    AssetKind.UPSCALER: "UP",
    AssetKind.CLIP_VISION: "CLIPV",
    AssetKind.TEXT_ENCODER: "TE",
    AssetKind.UNKNOWN: "?",
}

ARCHITECTURE_LABELS: dict[Architecture, str] = ARCHITECTURE_NAMES  # one wording, kept in core

NETWORK_LABELS: dict[NetworkType, str] = {
    NetworkType.LORA: "LoRA",
    NetworkType.LOCON: "LoCon",
    NetworkType.LOHA: "LoHa",
    NetworkType.LOKR: "LoKr",
    NetworkType.DORA: "DoRA",
    NetworkType.IA3: "IA³",
    NetworkType.FULL: "Full",
    NetworkType.GLORA: "GLoRA",
    NetworkType.OFT: "OFT",
}

STATUS_LABELS: dict[FileStatus, str] = {
    FileStatus.OK: "OK",
    FileStatus.CORRUPT: "Corrupt",
    FileStatus.UNSAFE: "Unsafe",
    FileStatus.MISSING: "Missing",
    FileStatus.UNREADABLE: "Unreadable",
}

# One hue per kind: grid badges and placeholder tiles use it so kinds read at a glance.
KIND_COLORS: dict[AssetKind, str] = {
    AssetKind.CHECKPOINT: "#3b82f6",
    AssetKind.LORA: "#8b5cf6",
    AssetKind.EMBEDDING: "#10b981",
    AssetKind.HYPERNETWORK: "#f59e0b",
    AssetKind.VAE: "#ef4444",
    AssetKind.CONTROLNET: "#06b6d4",
    AssetKind.IP_ADAPTER: "#ec4899",
    AssetKind.UPSCALER: "#84cc16",
    AssetKind.CLIP_VISION: "#14b8a6",
    AssetKind.TEXT_ENCODER: "#a855f7",
    AssetKind.UNKNOWN: "#6b7280",
}


def kind_label(kind: AssetKind, network: NetworkType | None = None) -> str:
    """ "LoRA" or, for the LyCORIS family, "LoRA · LoHa" so the algorithm is visible in lists."""
    label = KIND_LABELS[kind]
    if kind is AssetKind.LORA and network is not None and network is not NetworkType.LORA:
        return f"{label} · {NETWORK_LABELS[network]}"
    return label


def stars(rating: int) -> str:
    """A 0-5 rating as filled and empty stars; empty string for unrated so the column stays quiet."""
    if rating <= 0:
        return ""
    return "★" * rating + "☆" * (5 - rating)


def display_title(record: AssetRecord | AssetRow) -> str:
    """The user's display name, else the file name without its extension (a folder keeps its name).

    A file name's bytes that are not UTF-8 become U+FFFD (Qt would drop them: ``bad\\xffname`` read as
    "badname" looks like another file)."""
    if record.display_name:
        return record.display_name
    if record.format is FileFormat.DIFFUSERS:
        return shown(record.file_name)
    return shown(PurePath(record.file_name).stem or record.file_name)


def precision_label(fp: str | None) -> str:
    """ "fp16" -> "FP16", "bf16" -> "BF16"; Civitai's ``fp`` field is lower case."""
    return fp.upper() if fp else ""
