"""Shape rules shared by several matchers: which SD family a UNet, an adapter or a token vector is for.

A checkpoint, a ControlNet and an IP-Adapter all reveal their family through the same number, the width of
the text conditioning their cross-attention reads (CLIP-L 768 -> SD1, OpenCLIP ViT-H 1024 -> SD2, CLIP-L +
bigG 2048 -> SDXL, bigG alone 1280 -> SDXL refiner). The widths are data of the vocabulary table's rows; the
maps are built from them here once so the matchers cannot drift apart (sources: InvokeAI
``configs/main.py``, ComfyUI ``supported_models.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.identify.view import HeaderView
from core.identify.vocabulary import ROW_OF, measured_rows, width_families
from core.taxonomy import ARCHITECTURE_NAMES, Architecture, Variant

# The widths are the SD rows' data (``vocabulary.MeasuredSpec``, rule ``sd_unet``); only the rule is here.
CONTEXT_DIM_FAMILIES: Mapping[int, Architecture] = width_families("sd_unet", "context_widths")
# Textual-inversion vectors live in one text encoder's token space (bigG alone means SDXL's second one).
TOKEN_DIM_FAMILIES: Mapping[int, Architecture] = width_families("sd_unet", "token_widths")
# ``label_emb`` / ``add_embedding`` input width: SDXL's pooled bigG + size/crop conditioning.
ADM_FAMILIES: Mapping[int, Architecture] = width_families("sd_unet", "adm_widths")
# A CLIP text encoder adapted alone (no UNet names to measure): its width.
TEXT_ENCODER_FAMILIES: Mapping[int, Architecture] = width_families("sd_unet", "text_encoder_widths")

# Tensors that name a family built on an SD UNet before its (borrowed) widths are read: SVD's temporal
# layers, Kolors' ChatGLM projection (the rows' ``markers``), bare names under the UNet's prefix.
UNET_MARKERS: tuple[tuple[str, Architecture], ...] = tuple(
    (marker, row.architecture) for row, spec in measured_rows("sd_unet") for marker in spec.markers
)

UNET_VARIANTS: dict[int, Variant] = {
    4: Variant.NORMAL,
    9: Variant.INPAINT,
    8: Variant.PIX2PIX,
    5: Variant.DEPTH,
}

# Where the first cross-attention sits: SD1/SD2 have one at every level, SDXL starts at the second.
_LDM_ATTN2 = tuple(
    f"{block}.transformer_blocks.0.attn2.to_k.weight"
    for block in (
        "input_blocks.1.1",
        "input_blocks.2.1",
        "input_blocks.4.1",
        "input_blocks.5.1",
        "input_blocks.7.1",
        "middle_block.1",
    )
)
_DIFFUSERS_ATTN2 = tuple(
    f"{block}.transformer_blocks.0.attn2.to_k.weight"
    for block in ("down_blocks.0.attentions.0", "down_blocks.1.attentions.0", "mid_block.attentions.0")
)
_LDM_PROJ_IN = ("input_blocks.1.1.proj_in.weight", "input_blocks.4.1.proj_in.weight")
_DIFFUSERS_PROJ_IN = (
    "down_blocks.0.attentions.0.proj_in.weight",
    "down_blocks.1.attentions.0.proj_in.weight",
)


@dataclass(frozen=True, slots=True)
class UNetFacts:
    """What the decisive tensors of an SD-style UNet (LDM or diffusers naming) say."""

    naming: str  # "ldm" or "diffusers"
    input_key: str
    model_channels: int | None
    in_channels: int | None
    context_dim: int | None
    adm_in: int | None
    linear_proj: bool | None  # proj_in as a Linear (SD2/SDXL) rather than a 1x1 conv (SD1)
    marker: tuple[str, Architecture] | None = None  # the first ``UNET_MARKERS`` name present, its family


def ldm_unet_facts(view: HeaderView, prefix: str) -> UNetFacts | None:
    """Facts of a UNet in original LDM/SGM naming under ``prefix`` (None if there is none)."""
    input_key = prefix + "input_blocks.0.0.weight"
    return _facts(
        view,
        prefix,
        "ldm",
        input_key,
        _LDM_ATTN2,
        adm_key=prefix + "label_emb.0.0.weight",
        proj_keys=_LDM_PROJ_IN,
    )


def diffusers_unet_facts(view: HeaderView, prefix: str) -> UNetFacts | None:
    """Facts of a UNet in diffusers naming (``conv_in``, ``down_blocks``...) under ``prefix``."""
    adm = prefix + "add_embedding.linear_1.weight"
    input_key = prefix + "conv_in.weight"
    return _facts(
        view, prefix, "diffusers", input_key, _DIFFUSERS_ATTN2, adm_key=adm, proj_keys=_DIFFUSERS_PROJ_IN
    )


def _facts(
    view: HeaderView,
    prefix: str,
    naming: str,
    input_key: str,
    attn2_keys: tuple[str, ...],
    *,
    adm_key: str,
    proj_keys: tuple[str, ...],
) -> UNetFacts | None:
    shape = view.shape(input_key)
    if shape is None or len(shape) != 4:
        return None
    attn2 = view.first_present(prefix + key for key in attn2_keys)
    proj = view.first_present(prefix + key for key in proj_keys)
    proj_shape = view.shape(proj) if proj else None
    return UNetFacts(
        naming=naming,
        input_key=input_key,
        model_channels=shape[0],
        in_channels=shape[1],
        context_dim=_context_dim(view, attn2) if attn2 else None,
        adm_in=view.dim(adm_key, 1),
        linear_proj=len(proj_shape) == 2 if proj_shape else None,
        marker=next(((prefix + key, arch) for key, arch in UNET_MARKERS if view.has(prefix + key)), None),
    )


def _context_dim(view: HeaderView, to_k: str) -> int | None:
    """``attn2.to_k``'s in-features. A bitsandbytes 4-bit ``to_k`` has no bias to read its shape from; its
    out-features are the attention's width, which ``to_out.0``'s bias gives (SD attention projects back
    to the same width), so its in-features are its element count over that."""
    width = view.dim(to_k, -1)
    elements = view.packed_elements(to_k) if width is None else None
    if elements is None:
        return width
    out = view.dim(to_k.removesuffix("to_k.weight") + "to_out.0.bias", 0)
    return elements // out if out and elements % out == 0 else None


def unet_family(facts: UNetFacts) -> tuple[Architecture, list[str]]:
    """The SD family of a UNet, with the evidence; ``OTHER`` for an SD-style UNet of another family."""
    reasons: list[str] = []
    arch: Architecture | None = None
    if facts.marker is not None:
        # A family built on an SD UNet borrows its widths (SVD reads 1024 like SD2, Kolors 2048 like SDXL):
        # its own tensors name it, and the widths are only reported.
        key, arch = facts.marker
        reasons.append(f"{key} present => {arch.value} ({ARCHITECTURE_NAMES[arch]})")
        if facts.context_dim is not None:
            reasons.append(f"attn2.to_k in-features {facts.context_dim}")
        return arch, reasons
    if facts.context_dim is not None:
        arch = CONTEXT_DIM_FAMILIES.get(facts.context_dim)
        reasons.append(
            f"attn2.to_k in-features {facts.context_dim} => {arch.value if arch else 'no SD family'}"
        )
    if facts.adm_in is not None:
        adm_arch = ADM_FAMILIES.get(facts.adm_in)
        if adm_arch is not None:
            reasons.append(f"vector conditioning width {facts.adm_in} => {adm_arch.value}")
            arch = arch or adm_arch
    if arch is Architecture.SD2 and facts.linear_proj:
        reasons.append("proj_in is a linear layer (2-D), as in SD2")
    if arch is Architecture.SD1 and facts.linear_proj is False:
        reasons.append("proj_in is a 1x1 convolution (4-D), as in SD1")
    if arch is Architecture.SDXL_REFINER and facts.model_channels == 384:
        reasons.append("model channels 384, as in the SDXL refiner")
    if arch is None:
        reasons.append("SD-style UNet whose conditioning widths match no known SD family")
        return Architecture.OTHER, reasons
    return arch, reasons


def unet_variant(facts: UNetFacts, arch: Architecture) -> tuple[Variant | None, str]:
    """The image variant the input channels name; none for a video UNet, whose extra channels carry the
    conditioning frame (SVD's 8 are not instruct-pix2pix's)."""
    label = "conv_in.weight" if facts.naming == "diffusers" else "input_blocks.0.0.weight"
    row = ROW_OF.get(arch)
    if row is not None and row.video:
        return None, f"{label} has {facts.in_channels} input channels (a video model: no image variant)"
    variant = UNET_VARIANTS.get(facts.in_channels or 0)
    if variant is None:
        return None, f"{label} has {facts.in_channels} input channels: not a known variant"
    return variant, f"{label} has {facts.in_channels} input channels => {variant.value}"


# Exact names, not prefix scans: checkpoints have thousands of names and this runs on each of them.
_BUNDLED_VAE = tuple(
    f"{p}{part}.conv_in.weight" for p in ("first_stage_model.", "vae.") for part in ("decoder", "encoder")
)
_BUNDLED_TEXT = (
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
    "cond_stage_model.transformer.embeddings.token_embedding.weight",
    "cond_stage_model.model.token_embedding.weight",
    "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
    "conditioner.embedders.0.model.token_embedding.weight",
    "conditioner.embedders.1.model.token_embedding.weight",
    "text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight",
    "text_encoders.clip_g.transformer.text_model.embeddings.token_embedding.weight",
    "text_encoders.t5xxl.transformer.shared.weight",
    "text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q.weight",
)


def bundled_components(view: HeaderView) -> list[str]:
    """What a single-file checkpoint carries besides its denoiser (A1111/ComfyUI/SGM names)."""
    found: list[str] = []
    if view.first_present(_BUNDLED_VAE):
        found.append("vae")
    if view.first_present(_BUNDLED_TEXT):
        found.append("text encoder")
    return found


def components_reason(denoiser: str, bundled: list[str]) -> str:
    if not bundled:
        return f"{denoiser} only: no VAE or text encoder in the file"
    return f"{denoiser} + " + " + ".join(bundled)
