"""What the files next to a model say about it (A1111, Civitai Helper, Stability Matrix, LoRA Manager).

The record is filled by ``core.formats.sidecars.read_sidecars`` and stored by the catalog scanner. All
fields are optional: most models have no sidecar at all, and a malformed sidecar is reported in
``errors`` without hiding what the other sidecars said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CivitaiRef:
    """Civitai identity of a file as recorded by another tool's sidecar (or a download)."""

    model_id: int | None
    version_id: int | None
    model_name: str | None = None
    version_name: str | None = None
    base_model: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SidecarInfo:
    """The merged content of every sidecar found next to one model file."""

    description: str | None = None
    notes: str | None = None
    trigger_words: tuple[str, ...] = ()
    negative_text: str | None = None
    preferred_weight: float | None = None
    sd_version: str | None = None  # A1111 user metadata "sd version": SD1 / SD2 / SDXL / Unknown
    base_model_label: str | None = None
    nsfw: bool | None = None
    tags: tuple[str, ...] = ()
    civitai: CivitaiRef | None = None
    previews: tuple[Path, ...] = ()  # cover first
    sources: tuple[Path, ...] = ()  # the sidecar files that were read
    errors: tuple[str, ...] = ()  # one line per sidecar that could not be read

    @property
    def is_empty(self) -> bool:
        return not (self.sources or self.previews)
