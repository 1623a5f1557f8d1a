"""Which model family a LoRA's layer names belong to, so a LoRA of another family is refused by name.

Shapes alone cannot do it for DiTs: Flux.1, Qwen-Image and SD3.5 large all have 3072- or near-wide
attention projections named ``transformer_blocks.N.attn.to_q`` in diffusers naming, so a Qwen-Image
LoRA would merge into a Flux checkpoint's matching layers and skip the rest. Each family has layer
names no other has (Flux's ``single_transformer_blocks``, Qwen-Image's ``img_mod``/``img_mlp``,
SD3's MMDiT-X ``attn2`` and ``pos_embed``, Z-Image's ``layers.N.feed_forward``/refiners, Chroma's
``distilled_guidance_layer``, an SD UNet's ``down_blocks``/``input_blocks``); a LoRA whose names point
to one family is checked against the loaded pipeline's (its transformer's or UNet's class). Names
that point nowhere or to several families decide nothing, and the shape checks apply as before.
Flux.1 and Chroma share their blocks, so their LoRAs go on each other's checkpoints (the layers one
lacks are reported as skipped), as in ComfyUI and Forge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

LABELS = {
    "sd": "Stable Diffusion (SD1/SD2/SDXL)",
    "flux": "Flux.1",
    "chroma": "Chroma",
    "sd3": "SD3/SD3.5",
    "qwen": "Qwen-Image",
    "zimage": "Z-Image",
}
_COMPATIBLE = {"flux": "flux", "chroma": "flux"}  # families whose LoRAs share one layout
_PIPE_FAMILIES = {
    "FluxTransformer2DModel": "flux",
    "ChromaTransformer2DModel": "chroma",
    "SD3Transformer2DModel": "sd3",
    "QwenImageTransformer2DModel": "qwen",
    "ZImageTransformer2DModel": "zimage",
}
_PREFIXES = (
    "model.diffusion_model.",
    "diffusion_model.",
    "base_model.model.",
    "transformer.",
    "unet.",
    "lora_unet_",
    "lora_transformer_",
    "lycoris_",
    "oft_unet_",
)
_TELLS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sd", re.compile(r"^(down_blocks|up_blocks|mid_block|input_blocks|output_blocks|middle_block)_\d")),
    ("chroma", re.compile(r"^distilled_guidance_layer_")),
    ("flux", re.compile(r"^(single_transformer_blocks_\d+_|time_text_embed_guidance_embedder_|x_embedder$)")),
    ("qwen", re.compile(r"^(transformer_blocks_\d+_(img_mod|txt_mod|img_mlp|txt_mlp)_|img_in$|txt_in$)")),
    ("sd3", re.compile(r"^(transformer_blocks_\d+_attn2_|pos_embed_proj$)")),
    (
        "zimage",
        re.compile(
            r"(layers|noise_refiner|context_refiner)_\d+_(attention|feed_forward|adaLN)|all_x_embedder"
        ),
    ),
)


def _flat(alias: str) -> str | None:
    """The alias without its dialect prefix, dots flattened; None for text-encoder names."""
    if alias.startswith(("lora_te", "text_encoder", "text_encoders.", "lycoris_te")):
        return None
    for prefix in _PREFIXES:
        if alias.startswith(prefix):
            return alias[len(prefix) :].replace(".", "_")
    return alias.replace(".", "_")


def lora_family(aliases: Iterable[str]) -> str | None:
    """The family the layer names tell ("sd", "flux", "chroma", "sd3", "qwen", "zimage"), or None when
    they tell none or contradict each other (Chroma's names beside Flux's are Chroma)."""
    told: set[str] = set()
    for alias in aliases:
        flat = _flat(alias)
        if flat is None:
            continue
        told |= {family for family, tell in _TELLS if tell.match(flat)}
    if told == {"chroma", "flux"}:
        return "chroma"
    return told.pop() if len(told) == 1 else None


def pipeline_family(pipe: Any) -> str | None:
    """The family of a loaded pipeline, from its transformer's class (any UNet is "sd")."""
    transformer = getattr(pipe, "transformer", None)
    if transformer is not None:
        return _PIPE_FAMILIES.get(type(transformer).__name__)
    return "sd" if getattr(pipe, "unet", None) is not None else None


def family_conflict(aliases: Iterable[str], pipe: Any) -> str | None:
    """ "made for X, and this checkpoint is Y" when a LoRA's names belong to another family than the
    pipeline's, else None (same family, compatible, or either unknown)."""
    mine, theirs = lora_family(aliases), pipeline_family(pipe)
    if mine is None or theirs is None or mine == theirs:
        return None
    if _COMPATIBLE.get(mine, mine) == _COMPATIBLE.get(theirs, theirs):
        return None
    return f"it was made for {LABELS[mine]}, and this checkpoint is {LABELS[theirs]}"
