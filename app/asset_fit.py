"""Whether an adapter or a VAE fits the checkpoint it is combined with: the one rule, two phrasings.

The compose board marks its rows with ``fit_problem`` while the user drops them (before anything is
rendered), and the render service warns with the same rule (``conflicts``) before a render. A LoRA, an
embedding or a hypernetwork must be made for the checkpoint's family; a VAE only conflicts across latent
spaces (SD2 uses SD1's VAE). Only checkpoints the renderer can load are judged, and an adapter of no
known family (``other``, ``unknown``) cannot be said to conflict.
"""

from __future__ import annotations

from core.identify.vocabulary import SHORT_NAMES
from core.taxonomy import Architecture, AssetKind

JUDGED_CHECKPOINTS = {Architecture.SD1: "SD1", Architecture.SD2: "SD2", Architecture.SDXL: "SDXL"}
KIND_NAMES = {
    AssetKind.VAE: "VAE",
    AssetKind.LORA: "LoRA",
    AssetKind.EMBEDDING: "embedding",
    AssetKind.HYPERNETWORK: "hypernetwork",
}
_SAME_LATENTS = {Architecture.SD1, Architecture.SD2}
_UNDECIDED = {Architecture.OTHER, Architecture.UNKNOWN}
_SHORT_NAMES = {**SHORT_NAMES, **JUDGED_CHECKPOINTS}  # every family of the vocabulary table


def conflicts(kind: AssetKind, architecture: Architecture | None, checkpoint: Architecture | None) -> bool:
    """True when an asset of ``kind`` made for ``architecture`` cannot work with a ``checkpoint``."""
    if kind not in KIND_NAMES or architecture is None or checkpoint not in JUDGED_CHECKPOINTS:
        return False
    if architecture in _UNDECIDED or architecture is checkpoint:
        return False
    return not (kind is AssetKind.VAE and {architecture, checkpoint} <= _SAME_LATENTS)


def fit_problem(
    kind: AssetKind, architecture: Architecture | None, checkpoint: Architecture | None
) -> str | None:
    """``"SD1 LoRA — does not fit this SDXL checkpoint"``, or None when it fits or cannot be judged."""
    if architecture is None or checkpoint is None or not conflicts(kind, architecture, checkpoint):
        return None
    family = _SHORT_NAMES.get(architecture, architecture.value)
    return f"{family} {KIND_NAMES[kind]} — does not fit this {JUDGED_CHECKPOINTS[checkpoint]} checkpoint"
