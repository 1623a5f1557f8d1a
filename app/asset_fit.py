"""Whether an adapter, a VAE or a text encoder fits the checkpoint it is combined with: the one rule,
two phrasings.

The compose board marks its rows with ``fit_problem`` while the user drops them (before anything is
rendered), and the render service warns with the same rule (``conflicts``) before a render. A LoRA, an
embedding or a hypernetwork must be made for the checkpoint's family; a LoRA may also be made for a family
whose row says it shares LoRAs with it (``loras_shared``: Flux.1 and Chroma), the fact the renderer's
refusal reads too, so the board never marks a LoRA the renderer applies. A VAE only conflicts across latent
spaces: families whose vocabulary rows name the same autoencoder share it (SD2 uses SD1's VAE; Chroma and
Z-Image decode with Flux.1's AE), and two layouts a header cannot tell apart are one latent space. A text
encoder fits the families whose rows list it (CLIP-L fits SD1, SDXL, SD3.5 and Flux.1; Qwen2.5-VL only
Qwen-Image); when its catalog record names the encoder (``encoder``, e.g. ``t5xxl``) that decides,
otherwise only an encoder a single family uses (and so carries that family) can conflict.

Only checkpoints the renderer can load (or the board has slots for) are judged, and an asset of no known
family (``other``, ``unknown``) cannot be said to conflict. The board's text-encoder slots come from the
same table: :func:`encoder_slots` lists what a diffusion-model-only file of a family needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.identify.vocabulary import (
    ENCODER_OF,
    ROWS,
    SHORT_NAMES,
    VAE_OF,
    EncoderRow,
    loras_shared,
    users_of_encoder,
)
from core.taxonomy import Architecture, AssetKind

# The families stored as a diffusion model plus separate text-encoder files and a VAE: their board
# shows a slot per text encoder (and the VAE slot says whether the checkpoint carries its own).
SEPARATE_PARTS = (
    Architecture.FLUX1,
    Architecture.SD3,
    Architecture.CHROMA,
    Architecture.QWEN_IMAGE,
    Architecture.Z_IMAGE,
)
JUDGED_CHECKPOINTS = {
    Architecture.SD1: "SD1",
    Architecture.SD2: "SD2",
    Architecture.SDXL: "SDXL",
    **{arch: SHORT_NAMES.get(arch, arch.value) for arch in SEPARATE_PARTS},
}
KIND_NAMES = {
    AssetKind.VAE: "VAE",
    AssetKind.LORA: "LoRA",
    AssetKind.EMBEDDING: "embedding",
    AssetKind.HYPERNETWORK: "hypernetwork",
    AssetKind.TEXT_ENCODER: "text encoder",
}
_UNDECIDED = {Architecture.OTHER, Architecture.UNKNOWN}
_SHORT_NAMES = {**SHORT_NAMES, **JUDGED_CHECKPOINTS}  # every family of the vocabulary table
_ROW_OF = {row.architecture: row for row in ROWS}


def encoder_slots(checkpoint: Architecture | None) -> tuple[EncoderRow, ...]:
    """The text encoders a diffusion-model-only checkpoint of this family needs, in the table's order
    (Flux.1: CLIP-L, T5-XXL); empty for the families whose checkpoints always carry theirs (SD)."""
    row = _ROW_OF.get(checkpoint) if checkpoint in SEPARATE_PARTS else None
    return tuple(ENCODER_OF[name] for name in row.text_encoders if name in ENCODER_OF) if row else ()


def encoder_id(metadata: Mapping[str, Any]) -> str | None:
    """The encoder a text-encoder file holds (``clip_l``, ``t5xxl``...), as identification recorded it."""
    value = metadata.get("encoder")
    return value if isinstance(value, str) and value else None


def _latent_space(architecture: Architecture) -> tuple[object, ...] | None:
    """What a family's VAE encodes to: the autoencoder's id, or for marked layouts (Wan 2.1 and
    Qwen-Image's causal 3-D VAE) the layout itself, since a header cannot tell those files apart."""
    row = _ROW_OF.get(architecture)
    vae = VAE_OF.get(row.vae) if row is not None and row.vae else None
    if vae is None:
        return None
    return (vae.marker, vae.latent_channels) if vae.marker else (vae.id,)


def _encoder_fits(encoder: str | None, architecture: Architecture, checkpoint: Architecture) -> bool:
    if encoder is not None and encoder in ENCODER_OF:
        return checkpoint in users_of_encoder(encoder)
    return architecture in _UNDECIDED or architecture is checkpoint


def conflicts(
    kind: AssetKind,
    architecture: Architecture | None,
    checkpoint: Architecture | None,
    encoder: str | None = None,
) -> bool:
    """True when an asset of ``kind`` made for ``architecture`` cannot work with a ``checkpoint``
    (``encoder``: for a text encoder, which one the file holds, when known)."""
    if kind not in KIND_NAMES or architecture is None or checkpoint not in JUDGED_CHECKPOINTS:
        return False
    if kind is AssetKind.TEXT_ENCODER:
        return not _encoder_fits(encoder, architecture, checkpoint)
    if architecture in _UNDECIDED or architecture is checkpoint:
        return False
    if kind is AssetKind.LORA:
        return not loras_shared(architecture, checkpoint)
    if kind is AssetKind.VAE:
        space = _latent_space(checkpoint)
        return space is None or space != _latent_space(architecture)
    return True


def fit_problem(
    kind: AssetKind,
    architecture: Architecture | None,
    checkpoint: Architecture | None,
    encoder: str | None = None,
) -> str | None:
    """``"SD1 LoRA — does not fit this SDXL checkpoint"`` (``"T5-XXL text encoder — does not fit this
    Qwen-Image checkpoint"``), or None when it fits or cannot be judged."""
    if architecture is None or checkpoint is None or not conflicts(kind, architecture, checkpoint, encoder):
        return None
    row = ENCODER_OF.get(encoder or "") if kind is AssetKind.TEXT_ENCODER else None
    what = row.name if row is not None else _SHORT_NAMES.get(architecture, architecture.value)
    return f"{what} {KIND_NAMES[kind]} — does not fit this {JUDGED_CHECKPOINTS[checkpoint]} checkpoint"
