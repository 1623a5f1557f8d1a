"""What the files next to a model say about it (A1111, Civitai Helper, Stability Matrix, LoRA Manager).

The record is filled by ``core.formats.sidecars.read_sidecars`` and stored by the catalog scanner. All
fields are optional: most models have no sidecar at all, and a malformed sidecar is reported in
``errors`` without hiding what the other sidecars said.

The user's own words (A1111's description, activation text and notes, LoRA Manager's notes) are kept apart
from what the tools copied from Civitai, which is in ``civitai`` (the same record a lookup produces).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.positional_pickle import pickled_by_position

if TYPE_CHECKING:  # a sidecar record only carries the facts; parsing them is core.formats.sidecars' job
    from core.sources.civitai_facts import CivitaiFacts


@pickled_by_position  # a scan's worker sends one back for every file with sidecars
@dataclass(frozen=True, slots=True)
class SidecarInfo:
    """The merged content of every sidecar found next to one model file.

    ``description`` and ``trigger_words`` are the user's (A1111's ``description`` and ``activation text``);
    Civitai's description and trained words are in ``civitai``.
    """

    description: str | None = None
    notes: str | None = None
    trigger_words: tuple[str, ...] = ()
    negative_text: str | None = None
    preferred_weight: float | None = None
    sd_version: str | None = None  # A1111 user metadata "sd version": SD1 / SD2 / SDXL / Unknown
    base_model_label: str | None = None
    nsfw: bool | None = None
    tags: tuple[str, ...] = ()
    civitai: CivitaiFacts | None = None
    previews: tuple[Path, ...] = ()  # cover first
    sources: tuple[Path, ...] = ()  # the sidecar files that were read
    errors: tuple[str, ...] = ()  # one line per sidecar that could not be read

    @property
    def is_empty(self) -> bool:
        return not (self.sources or self.previews)
