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
otherwise only an encoder a single family uses (and so carries that family) can conflict. A VAE's record
says which autoencoder layouts its header matches (``held``, see :func:`held_part`): a layout of another
latent space than the checkpoint's (a Qwen-Image/Wan VAE on Flux.1, Flux.1's 16-channel AE on SDXL) cannot
decode it at all, which the render service refuses before loading (:func:`vae_refusal`).

A LoRA is judged by the families the renderer reads from its tensors (:func:`lora_families`, the same
function the renderer calls when it loads the file), so a LoRA the library calls ``other`` is marked and
refused exactly as the render refuses it.

Only checkpoints the renderer can load (or the board has slots for) are judged, and an asset of no known
family (``other``, ``unknown``) cannot be said to conflict. The board's text-encoder slots come from the
same table: :func:`encoder_slots` lists what a diffusion-model-only file of a family needs.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.identify.vocabulary import (
    ENCODER_OF,
    ROWS,
    SHORT_NAMES,
    VAE_OF,
    VAES,
    EncoderRow,
    VaeRow,
    loras_shared,
    users_of_encoder,
)
from core.taxonomy import ARCHITECTURE_NAMES, Architecture, AssetKind, article

# The families stored as a diffusion model plus separate text-encoder files and a VAE: their board
# shows a slot per text encoder (and the VAE slot says whether the checkpoint carries its own).
SEPARATE_PARTS = (
    Architecture.FLUX1,
    Architecture.SD3,
    Architecture.CHROMA,
    Architecture.QWEN_IMAGE,
    Architecture.Z_IMAGE,
)
JUDGED_CHECKPOINTS = {  # the SD families in the words of the tiles and the plan's messages ("SD 1.x")
    Architecture.SD1: ARCHITECTURE_NAMES[Architecture.SD1],
    Architecture.SD2: ARCHITECTURE_NAMES[Architecture.SD2],
    Architecture.SDXL: ARCHITECTURE_NAMES[Architecture.SDXL],
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
# The kinds identification names encoders of unreleased widths by (``t5_32``, ``qwen3_32``).
_ENCODER_KINDS = {
    "t5": "T5",
    "umt5": "UMT5",
    "clip": "CLIP",
    "clip_vision": "CLIP vision",
    "openclip": "OpenCLIP",
    "qwen2": "Qwen2.5-VL",
    "qwen3": "Qwen3",
}
_SHORT_NAMES = {**SHORT_NAMES, **JUDGED_CHECKPOINTS}  # every family of the vocabulary table
_ROW_OF = {row.architecture: row for row in ROWS}


def encoder_slots(checkpoint: Architecture | None) -> tuple[EncoderRow, ...]:
    """The text encoders a diffusion-model-only checkpoint of this family needs, in the table's order
    (Flux.1: CLIP-L, T5-XXL); empty for the families whose checkpoints always carry theirs (SD)."""
    row = _ROW_OF.get(checkpoint) if checkpoint in SEPARATE_PARTS else None
    return tuple(ENCODER_OF[name] for name in row.text_encoders if name in ENCODER_OF) if row else ()


def encoder_name(encoder: str) -> str:
    """How messages name an encoder id: the table's name ("T5-XXL", "Qwen3 4B"), or for a width no
    released model has the width and kind ("32-wide T5" for ``t5_32``)."""
    row = ENCODER_OF.get(encoder)
    if row is not None:
        return row.name
    kind, _, width = encoder.rpartition("_")
    if kind and width.isdigit():
        return f"{width}-wide {_ENCODER_KINDS.get(kind, kind)}"
    return encoder


def encoder_id(metadata: Mapping[str, Any]) -> str | None:
    """The encoder a text-encoder file holds (``clip_l``, ``t5xxl``...), as identification recorded it."""
    value = metadata.get("encoder")
    return value if isinstance(value, str) and value else None


def held_part(kind: AssetKind, metadata: Mapping[str, Any]) -> str | None:
    """What a text encoder or a VAE file holds, as identification recorded it: the encoder's id
    (``t5xxl``), or the autoencoder layouts a VAE's header matches joined by ``+`` (``wan_vae+qwen_image_vae``
    for the Wan-style layout, ``sd3_vae+flux_vae`` for an SD-style 16-channel AE); None when not recorded."""
    if kind is AssetKind.TEXT_ENCODER:
        return encoder_id(metadata)
    if kind is not AssetKind.VAE:
        return None
    ids = metadata.get("vae")
    if isinstance(ids, list) and all(isinstance(item, str) for item in ids) and ids:
        return "+".join(ids)
    channels = metadata.get("latent_channels")
    if isinstance(channels, int) and not isinstance(channels, bool):
        rows = [row.id for row in VAES if row.marker is None and row.latent_channels == channels]
        return "+".join(rows) or None
    return None


def _vae_rows(held: str | None) -> tuple[VaeRow, ...]:
    return tuple(VAE_OF[item] for item in (held or "").split("+") if item in VAE_OF)


def _checkpoint_vae(checkpoint: Architecture) -> VaeRow | None:
    row = _ROW_OF.get(checkpoint)
    return VAE_OF.get(row.vae) if row is not None and row.vae else None


def vae_names(held: str | None) -> str | None:
    """``"Wan 2.1 VAE / Qwen-Image VAE"`` for the layouts a VAE file matches; None when unknown."""
    rows = _vae_rows(held)
    return " / ".join(row.name for row in rows) if rows else None


def vae_cannot_decode(held: str | None, checkpoint: Architecture | None) -> bool:
    """Whether a VAE holding the layouts ``held`` cannot decode a ``checkpoint``'s latents at all: its
    layout (SD-style or a marked one such as Wan's) or its latent channels differ from every layout the
    header allows. Unknown layouts or families are never refused."""
    rows = _vae_rows(held)
    wanted = _checkpoint_vae(checkpoint) if checkpoint is not None else None
    if not rows or wanted is None or checkpoint not in JUDGED_CHECKPOINTS:
        return False
    return all((row.marker, row.latent_channels) != (wanted.marker, wanted.latent_channels) for row in rows)


def vae_refusal(name: str, held: str | None, checkpoint: Architecture | None) -> str | None:
    """``"VAE 'qwen_image_vae' is a Wan 2.1 VAE / Qwen-Image VAE (16 latent channels); a FLUX.1
    checkpoint decodes with a FLUX.1 AE (16 latent channels): choose that VAE"`` when the VAE cannot
    decode the checkpoint's latents (:func:`vae_cannot_decode`), else None."""
    if checkpoint is None or not vae_cannot_decode(held, checkpoint):
        return None
    rows = _vae_rows(held)
    wanted = _checkpoint_vae(checkpoint)
    assert wanted is not None  # vae_cannot_decode checked it
    channels = "/".join(str(c) for c in dict.fromkeys(row.latent_channels for row in rows))
    shown = vae_names(held) or ""
    family = JUDGED_CHECKPOINTS[checkpoint]
    return (
        f"VAE '{name}' is {article(shown)} {shown} ({channels} latent channels); {article(family)} {family} "
        f"checkpoint decodes with {article(wanted.name)} {wanted.name} ({wanted.latent_channels} latent "
        f"channels): choose {article(wanted.name)} {wanted.name}"
    )


def lora_families(path: str | None, architecture: Architecture | None) -> tuple[Architecture, ...]:
    """The families the renderer will hold a LoRA file to: read from its denoiser tensors by
    :func:`core.render.lora_family.lora_architectures`, the function the renderer calls when it loads the
    file (so a LoRA the library calls ``other`` is judged as the render judges it). Falls back to the
    catalog's ``architecture`` for a file that cannot be read or carries no denoiser layers."""
    fallback = (architecture,) if architecture is not None and architecture not in _UNDECIDED else ()
    if not path:
        return fallback
    try:
        stat = Path(path).stat()
    except OSError:
        return fallback
    return _lora_families_of(path, stat.st_mtime_ns, stat.st_size) or fallback


@functools.lru_cache(maxsize=256)
def _lora_families_of(path: str, _mtime_ns: int, _size: int) -> tuple[Architecture, ...]:
    """Cached per file version: the board judges its rows on every change."""
    from core.formats.model_file import FormatError
    from core.formats.reader import read_header
    from core.render.lora_family import lora_architectures

    try:
        header = read_header(Path(path))
    except (FormatError, OSError, ValueError):
        return ()
    return lora_architectures(header.tensors)


def lora_refusal(
    name: str, families: tuple[Architecture, ...], checkpoint: Architecture | None
) -> str | None:
    """The renderer's refusal of a LoRA made for ``families`` on a ``checkpoint`` of another family
    (``"LoRA 'x' does not fit this checkpoint: it was made for Flux.1, and this checkpoint is SD 1.x"``);
    None when it may load. The same rule marks the board's rows (:func:`lora_fit_problem`), so the plan,
    the Compose tab's line and the row's mark agree.

    A transformer family of another kind is refused by the renderer's rule
    (:func:`core.render.lora_family.conflict_between`). Among the SD UNet families the renderer refuses by
    layer width once loaded (an SDXL LoRA's 2048-wide cross-attention on SD 1.x's 768): a LoRA whose widths
    name one UNet family (``lora_families`` reads them) is refused here on another one, before anything
    loads; a UNet LoRA whose widths name no family (its families are all the UNet ones) may load.

    The renderer, holding a loaded UNet, names the SD families as one ("Stable Diffusion (SD1/SD2/SDXL)");
    the catalog knows the checkpoint's own family, so a plan names it ("SD 1.x") as the board's rows do."""
    if checkpoint is None or not _lora_conflicts(families, checkpoint):
        return None
    made_for = " or ".join(dict.fromkeys(_family_label(family) for family in families))
    return (
        f"LoRA '{name}' does not fit this checkpoint: it was made for {made_for}, "
        f"and this checkpoint is {_family_label(checkpoint)}"
    )


def _family_label(architecture: Architecture) -> str:
    """How a refusal names a family: the renderer's name for a transformer family ("Flux.1"), a UNet
    family's own name ("SD 1.x", "SDXL") where the renderer's would lump them together."""
    from core.identify.lora_base import UNET_FAMILIES
    from core.render.lora_family import label

    return ARCHITECTURE_NAMES[architecture] if architecture in UNET_FAMILIES else label(architecture)


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
    (``encoder``: what the file holds, :func:`held_part` — for a text encoder which one, for a VAE its
    layouts — when known)."""
    if kind not in KIND_NAMES or architecture is None or checkpoint not in JUDGED_CHECKPOINTS:
        return False
    if kind is AssetKind.TEXT_ENCODER:
        return not _encoder_fits(encoder, architecture, checkpoint)
    if kind is AssetKind.VAE and vae_cannot_decode(encoder, checkpoint):
        return True
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
    """``"SD 1.x LoRA — does not fit this SDXL checkpoint"`` (``"T5-XXL text encoder — does not fit this
    Qwen-Image checkpoint"``), or None when it fits or cannot be judged."""
    if architecture is None or checkpoint is None or not conflicts(kind, architecture, checkpoint, encoder):
        return None
    row = ENCODER_OF.get(encoder or "") if kind is AssetKind.TEXT_ENCODER else None
    what = row.name if row is not None else _SHORT_NAMES.get(architecture, architecture.value)
    if kind is AssetKind.VAE and vae_cannot_decode(encoder, checkpoint):
        return f"{vae_names(encoder)} — does not fit this {JUDGED_CHECKPOINTS[checkpoint]} checkpoint"
    return f"{what} {KIND_NAMES[kind]} — does not fit this {JUDGED_CHECKPOINTS[checkpoint]} checkpoint"


def lora_fit_problem(
    path: str | None, architecture: Architecture | None, checkpoint: Architecture | None
) -> str | None:
    """The board's mark of a LoRA row: judged by the families the renderer reads from the file
    (:func:`lora_families`), worded as :func:`fit_problem` words it."""
    families = lora_families(path, architecture)
    if checkpoint is None or not _lora_conflicts(families, checkpoint):
        return None
    return fit_problem(AssetKind.LORA, families[0], checkpoint)


def _lora_conflicts(families: tuple[Architecture, ...], checkpoint: Architecture) -> bool:
    """Whether a LoRA made for ``families`` (:func:`lora_families`) cannot load on a ``checkpoint``: none
    of them is its family or one sharing its LoRAs (``loras_shared``). Judged checkpoints only."""
    if not families or checkpoint not in JUDGED_CHECKPOINTS:
        return False
    return all(conflicts(AssetKind.LORA, family, checkpoint) for family in families)
