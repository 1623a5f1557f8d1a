"""Whether an adapter or a VAE fits the checkpoint it is combined with, as one sentence for the user.

The rule the compose board marks its rows with while the user drops them (before anything is
rendered): a LoRA, an embedding or a hypernetwork must be made for the checkpoint's family; a VAE only
conflicts across the SD1/SD2 and SDXL latent spaces (SD2 uses SD1's VAE). Families the renderer does
not know (FLUX, SD3, unknown) are not judged: there is nothing reliable to say about them.
"""

from __future__ import annotations

from core.taxonomy import Architecture, AssetKind

JUDGED = {Architecture.SD1: "SD1", Architecture.SD2: "SD2", Architecture.SDXL: "SDXL"}
KIND_NAMES = {
    AssetKind.VAE: "VAE",
    AssetKind.LORA: "LoRA",
    AssetKind.EMBEDDING: "embedding",
    AssetKind.HYPERNETWORK: "hypernetwork",
}
_SAME_LATENTS = {Architecture.SD1, Architecture.SD2}


def fit_problem(
    kind: AssetKind, architecture: Architecture | None, checkpoint: Architecture | None
) -> str | None:
    """``"SD1 LoRA — does not fit this SDXL checkpoint"``, or None when it fits or cannot be judged."""
    if kind not in KIND_NAMES or architecture is None or checkpoint is None:
        return None
    if architecture not in JUDGED or checkpoint not in JUDGED or architecture is checkpoint:
        return None
    if kind is AssetKind.VAE and {architecture, checkpoint} <= _SAME_LATENTS:
        return None
    return f"{JUDGED[architecture]} {KIND_NAMES[kind]} — does not fit this {JUDGED[checkpoint]} checkpoint"
