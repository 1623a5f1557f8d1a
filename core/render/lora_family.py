"""Which family a LoRA and a loaded checkpoint belong to, as the catalog says: a LoRA of another family
is refused by name ("made for Qwen-Image, and this checkpoint is FLUX.1").

Shapes alone cannot do it for DiTs: Flux.1, Qwen-Image and SD3.5 large all have 3072- or near-wide
attention projections named ``transformer_blocks.N.attn.to_q`` in diffusers naming, so a Qwen-Image LoRA
would merge into a Flux checkpoint's matching layers and skip the rest.

This module holds no rule of its own. The LoRA is identified by ``core.identify`` from the tensor names
and shapes as the file stores them, once when it is loaded (the ``LoraScan`` the library's scanner builds
from the file header, built here from the tensors in memory: no second read): the
vocabulary table's fingerprints (names and width) when they name a family, else the families whose names
it carries (``named_architectures``: the loaded model's layers check the widths). The checkpoint's family
is its transformer's diffusers class, looked up in the same table; any UNet is one of the SD families,
whose LoRAs are told apart by their layer widths (the shape checks in ``core.render.lora``, which word
those mismatches themselves). Which families share LoRAs is a table fact
(``ArchitectureRow.shares_loras_with``): Flux.1 and Chroma LoRAs go on each other's checkpoints, as in
ComfyUI and Forge, and the compose board reads the same fact. Text-encoder layers decide nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.formats.model_file import TensorInfo
from core.identify.families import CONTEXT_DIM_FAMILIES
from core.identify.lora_base import UNET_FAMILIES, named_architectures, tensor_architecture
from core.identify.lora_scan import TEXT_ENCODER_PREFIXES, scan_lora
from core.identify.vocabulary import architecture_of_diffusers_class, loras_shared
from core.taxonomy import ARCHITECTURE_NAMES, Architecture

# How the renderer's messages name the families it loads (the UNet families as one: their own mismatches
# are worded by layer width); any other family by its ARCHITECTURE_NAMES name.
_LABELS = {
    **dict.fromkeys(UNET_FAMILIES, "Stable Diffusion (SD1/SD2/SDXL)"),
    Architecture.FLUX1: "Flux.1",
    Architecture.SD3: "SD3/SD3.5",
}
_TEXT_PREFIXES = (
    *(prefix for _, prefixes in TEXT_ENCODER_PREFIXES for prefix in prefixes),
    "lora_te",
    "text_encoder",
    "lycoris_te",
)
_UNDECIDED = (Architecture.OTHER, Architecture.UNKNOWN)


def label(architecture: Architecture) -> str:
    """How a refusal names a family ("Flux.1", "Qwen-Image")."""
    return _LABELS.get(architecture) or ARCHITECTURE_NAMES[architecture]


def lora_architectures(tensors: Mapping[str, Any]) -> tuple[Architecture, ...]:
    """The families a LoRA's tensors (name -> tensor, as stored in the file) were made for, as
    ``core.identify`` reads its denoiser layers: one family, several sharing its names, or none."""
    infos = {
        name: TensorInfo("F32", tuple(tensor.shape))  # torch.Size holds ints
        for name, tensor in tensors.items()
        if not name.startswith(_TEXT_PREFIXES) and hasattr(tensor, "shape")
    }
    if not infos:
        return ()
    scan = scan_lora(infos)
    found, _ = tensor_architecture(scan)
    return (found,) if found not in _UNDECIDED else named_architectures(scan)


def pipeline_architecture(pipe: Any) -> Architecture | None:
    """The loaded checkpoint's family: its transformer's class in the vocabulary table; a UNet's family
    by its cross-attention width (SD1 standing for a UNet of another width)."""
    transformer = getattr(pipe, "transformer", None)
    if transformer is not None:
        return architecture_of_diffusers_class(type(transformer).__name__)
    unet = getattr(pipe, "unet", None)
    if unet is None:
        return None
    width = getattr(getattr(unet, "config", None), "cross_attention_dim", None)
    if isinstance(width, list | tuple):
        width = width[0]
    return CONTEXT_DIM_FAMILIES.get(width, Architecture.SD1) if isinstance(width, int) else Architecture.SD1


def made_for_label(families: tuple[Architecture, ...]) -> str | None:
    """ "Qwen-Image" (or "Z-Image or Lumina Image 2.0" when only the names speak) for a LoRA of a
    transformer family; None for an SD UNet LoRA or one no family claims (its widths describe it)."""
    if not families or families[0] in UNET_FAMILIES:
        return None
    return " or ".join(dict.fromkeys(label(family) for family in families))


def checkpoint_label(pipe: Any) -> str | None:
    """The loaded transformer's family for messages; None for a UNet (its width describes it)."""
    family = pipeline_architecture(pipe)
    return None if family is None or family in UNET_FAMILIES else label(family)


def _fits(lora: Architecture, checkpoint: Architecture) -> bool:
    if lora in UNET_FAMILIES and checkpoint in UNET_FAMILIES:
        return True  # the layer widths decide, and the shape checks name both widths
    return loras_shared(lora, checkpoint)


def family_conflict(families: tuple[Architecture, ...], pipe: Any) -> str | None:
    """ "it was made for X, and this checkpoint is Y" when a LoRA made for ``families``
    (``lora_architectures``) belongs to another family than the pipeline's (and not one sharing its
    LoRAs), else None (it fits, or either side is unknown)."""
    checkpoint = pipeline_architecture(pipe)
    return conflict_between(families, checkpoint) if checkpoint is not None else None


def conflict_between(families: tuple[Architecture, ...], checkpoint: Architecture) -> str | None:
    """:func:`family_conflict` for a checkpoint's family known without loading it (the render plan and
    the compose board, from the catalog): the one rule, so the plan refuses what the render refuses."""
    if not families or any(_fits(family, checkpoint) for family in families):
        return None
    mine = " or ".join(dict.fromkeys(label(family) for family in families))
    return f"it was made for {mine}, and this checkpoint is {label(checkpoint)}"
