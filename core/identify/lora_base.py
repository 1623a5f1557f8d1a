"""Which model a LoRA-family file was trained for.

The tensors decide; embedded metadata (``ss_base_model_version``, ``ss_v2``, ``modelspec.architecture``)
only fills the gap when the tensors cannot, and a disagreement is recorded, because metadata survives
conversions and merges that change what a file is.

Rules, strongest first:
- transformer names: ``double_blocks``/``single_blocks``/``single_transformer_blocks`` => Flux, split
  Flux.1/Flux.2 by width (``dit.py`` explains why the text width matters); ``joint_blocks`` => SD3;
- UNet cross-attention ``to_k``/``to_v`` in-features (InvokeAI ``lora_token_vector_length``): 768 SD1,
  1024 SD2, 2048 SDXL, 1280 SDXL refiner;
- text-encoder widths: a second encoder (``lora_te2_``/``text_encoder_2.``) => SDXL (768 + 1280 = 2048);
  a single one 768 => SD1, 1024 => SD2;
- names alone: kohya UNet names in SGM paths (``input_blocks``...) are only written for SDXL, and a
  ``transformer_blocks`` index >= 2 exists only in SDXL (InvokeAI ``_state_dict_looks_like_sdxl_unet_lora``).
"""

from __future__ import annotations

import re

from core.identify.families import CONTEXT_DIM_FAMILIES
from core.identify.lora_scan import LoraScan
from core.identify.view import HeaderView
from core.taxonomy import Architecture

_FLUX_NAMES = ("double_blocks", "single_blocks", "single_transformer_blocks")
_FLUX2_NAMES = ("double_stream_modulation", "single_stream_modulation", "to_qkv_mlp_proj")
_FLUX1_HIDDEN = 3072
_FLUX2_HIDDEN = {4096: "klein-9b", 6144: "dev"}
# Fused single-block input layer out-features (3 x hidden + MLP): Flux.1 GELU MLP vs Flux.2 SwiGLU MLP.
_FLUX1_LINEAR1 = 21504
_FLUX2_LINEAR1 = 27648
_SD3_HIDDEN = {1536: "sd3-medium / sd3.5-medium", 2432: "sd3.5-large"}
_SGM_UNET = re.compile(r"lora_unet_(?:input_blocks|output_blocks|middle_block)_")
_DEEP_TRANSFORMER = re.compile(
    r"(?:down|up|mid)_?blocks?[._]\d*[._]?attentions[._]\d+[._]transformer_blocks[._](?:[2-9]|\d\d)"
)
_TEXT_FAMILIES = {768: Architecture.SD1, 1024: Architecture.SD2}
_ROUTING_SAMPLE = 32


def tensor_architecture(scan: LoraScan) -> tuple[Architecture, tuple[str, ...]]:
    """The family the tensors alone say, with the evidence: a pure function of the tensor table."""
    # Routing by block names needs only a sample: a transformer LoRA's modules are nearly all blocks.
    sample = "\n".join(scan.sample(_ROUTING_SAMPLE))
    if any(name in sample for name in _FLUX_NAMES):
        arch, reasons = _flux_family(scan, scan.module_blob())
    elif "joint_blocks" in sample:
        arch, reasons = Architecture.SD3, ["joint_blocks modules => sd3 (MMDiT)"]
    elif sample.startswith(("transformer.", "lora_transformer_")) or "\ntransformer." in sample:
        arch, reasons = _dit_by_width(scan)
    else:
        arch, reasons = _sd_family(scan)
    return arch, tuple(reasons)


def with_metadata_hint(
    view: HeaderView, arch: Architecture, reasons: list[str]
) -> tuple[Architecture, list[str]]:
    """``arch`` from the tensors, completed or contradicted by the file's embedded metadata (per file)."""
    hint = view.embedded.architecture_hint()
    if hint is not None:
        claimed, source = hint
        if arch is Architecture.UNKNOWN:
            reasons.append(f"metadata {source} => {claimed.value} (the tensors cannot tell)")
            arch = claimed
        elif claimed is arch:
            reasons.append(f"metadata agrees ({source})")
        else:
            reasons.append(f"metadata {source} says {claimed.value}; the tensors decide {arch.value}")
    return arch, reasons


def _flux_family(scan: LoraScan, blob: str) -> tuple[Architecture, list[str]]:
    reasons = ["double/single transformer block modules => Flux"]
    if any(name in blob for name in _FLUX2_NAMES):
        reasons.append("Flux.2-only layer names (shared stream modulation / fused qkv+mlp) => flux2")
        return Architecture.FLUX2, reasons
    hidden = scan.hidden()
    if hidden in _FLUX2_HIDDEN:
        reasons.append(f"hidden size {hidden} => flux2 ({_FLUX2_HIDDEN[hidden]})")
        return Architecture.FLUX2, reasons
    fused = scan.out_features("linear1")
    if _FLUX2_LINEAR1 in fused:
        reasons.append(f"single-block linear1 out-features {_FLUX2_LINEAR1} (SwiGLU MLP) => flux2 (klein-4b)")
        return Architecture.FLUX2, reasons
    if hidden == _FLUX1_HIDDEN:
        reasons.append(f"hidden size {hidden} => flux1")
        if _FLUX1_LINEAR1 in fused:
            reasons.append(f"single-block linear1 out-features {_FLUX1_LINEAR1} confirms flux1")
        return Architecture.FLUX1, reasons
    if hidden is None:
        reasons.append("no measurable layer width; Flux.1 block naming => flux1")
        return Architecture.FLUX1, reasons
    reasons.append(f"hidden size {hidden} matches neither Flux.1 (3072) nor Flux.2")
    return Architecture.OTHER, reasons


def _dit_by_width(scan: LoraScan) -> tuple[Architecture, list[str]]:
    hidden = scan.hidden()
    reasons = ["diffusion-transformer modules (transformer_blocks) without UNet names"]
    if hidden == _FLUX1_HIDDEN:
        reasons.append(f"hidden size {hidden} => flux1")
        return Architecture.FLUX1, reasons
    if hidden in _SD3_HIDDEN:
        reasons.append(f"hidden size {hidden} => sd3 ({_SD3_HIDDEN[hidden]})")
        return Architecture.SD3, reasons
    reasons.append(f"hidden size {hidden} matches no known transformer family")
    return Architecture.OTHER, reasons


def _sd_family(scan: LoraScan) -> tuple[Architecture, list[str]]:
    reasons: list[str] = []
    arch: Architecture | None = None
    if scan.context_dim is not None:
        width = scan.context_dim[0]
        arch = CONTEXT_DIM_FAMILIES.get(width)
        reasons.append(f"attn2.to_k in-features {width} => {arch.value if arch else 'no SD family'}")
        if arch is None:
            return Architecture.OTHER, reasons
    text_arch, text_reason = _text_family(scan)
    if text_arch is not None and arch is None:
        arch = text_arch
        reasons.append(text_reason)
    elif text_arch is not None and text_arch is not arch:
        reasons.append(f"{text_reason}, but the UNet decides")
    elif text_arch is not None:
        reasons.append(text_reason.replace(" =>", ", confirming", 1))
    blob = scan.module_blob() if arch is None else ""
    if arch is None and _SGM_UNET.search(blob):
        arch = Architecture.SDXL
        reasons.append("kohya UNet names in SGM paths (input_blocks/output_blocks), written only for SDXL")
    if arch is None and _DEEP_TRANSFORMER.search(blob):
        arch = Architecture.SDXL
        reasons.append("transformer_blocks index >= 2 inside a UNet attention => sdxl")
    if arch is None:
        reasons.append("no cross-attention or text-encoder module to measure")
        return Architecture.UNKNOWN, reasons
    return arch, reasons


def _text_family(scan: LoraScan) -> tuple[Architecture | None, str]:
    widths = scan.text_widths
    if "te2" in widths:
        first = widths.get("te1") or widths.get("te") or 0
        total = first + widths["te2"]
        if first:
            return Architecture.SDXL, f"text encoder widths {first} + {widths['te2']} = {total} => sdxl"
        return Architecture.SDXL, f"second text encoder (OpenCLIP bigG, width {widths['te2']}) => sdxl"
    width = widths.get("te") or widths.get("te1")
    family = _TEXT_FAMILIES.get(width or 0)
    if family is None:
        return None, ""
    return family, f"text encoder width {width} => {family.value}"
