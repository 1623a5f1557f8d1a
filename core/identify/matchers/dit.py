"""Diffusion transformers: SD3 (MMDiT) and Flux.1 / Flux.2, in BFL/ComfyUI or diffusers naming.

Flux.1 and Flux.2 share their block naming (``double_blocks``/``single_blocks``) and even their hidden
size (Flux.2 klein 4B is 3072 wide like Flux.1), so the family is decided by what the text embedder reads:
T5-XXL (4096) for Flux.1, three stacked hidden states of an LLM for Flux.2 (7680 Qwen3-4B, 12288 Qwen3-8B,
15360 Mistral Small; InvokeAI ``configs/flux2_variant.py``). Any other width is reported as ``other``
rather than guessed. ``img_in`` cannot decide it alone: Flux.1 Depth/Canny also read 128 channels.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.identify.families import components_reason
from core.identify.registry import Match
from core.identify.view import HeaderView
from core.identify.vocabulary import ROW_OF, measured_spec
from core.taxonomy import Architecture, AssetKind, Variant

FLUX_SIGNATURE = "double_blocks.0.img_attn.norm.key_norm.scale"
SD3_SIGNATURE = "joint_blocks.0.context_block.attn.qkv.weight"
DIT_PREFIXES = ("model.diffusion_model.", "")

# What ``txt_in`` reads names the family: the Flux rows' data (``vocabulary.MeasuredSpec.context_widths``).
_FLUX1_CONTEXT_DIMS = measured_spec(Architecture.FLUX1).context_widths
T5_XXL_WIDTH = next(iter(_FLUX1_CONTEXT_DIMS))
FLUX2_CONTEXT_DIMS: Mapping[int, str] = measured_spec(Architecture.FLUX2).context_widths
_FLUX1_IMG_IN: dict[int, tuple[Variant | None, str]] = {
    64: (Variant.NORMAL, "img_in in-features 64 => normal"),
    384: (Variant.INPAINT, "img_in in-features 384 (latent + mask) => Flux.1 Fill (inpaint)"),
    128: (None, "img_in in-features 128 => Flux.1 Depth or Canny (structure-conditioned)"),
}
_DIFFUSERS_NAMES = ("x_embedder", "time_text_embed.guidance_embedder")
_SD3_POS_EMBED = measured_spec(Architecture.SD3).position_sizes


def match_flux(view: HeaderView, components: list[str]) -> Match | None:
    """A Flux transformer in BFL naming (bare or under ``model.diffusion_model.``), else None."""
    prefix = next((p for p in DIT_PREFIXES if view.has(p + FLUX_SIGNATURE)), None)
    if prefix is None:
        return None
    reasons = [f"{prefix}{FLUX_SIGNATURE} present => Flux transformer"]
    return _flux(
        view,
        context_dim=view.dim(prefix + "txt_in.weight", 1),
        context_key="txt_in",
        img_in=view.dim(prefix + "img_in.weight", 1),
        guidance=view.has(prefix + "guidance_in.in_layer.weight"),
        reasons=reasons,
        components=components,
    )


def match_flux_diffusers(view: HeaderView, components: list[str]) -> Match | None:
    """A Flux transformer saved with diffusers names (``x_embedder``, ``single_transformer_blocks``), bare
    or under a full checkpoint's ``model.diffusion_model.`` (as ComfyUI-style all-in-one files keep it).
    """
    prefix = next(
        (
            p
            for p in DIT_PREFIXES
            if view.has(p + "x_embedder.weight") and view.has_prefix(p + "single_transformer_blocks.")
        ),
        None,
    )
    if prefix is None:
        return None
    reasons = [
        f"{prefix}x_embedder + {prefix}single_transformer_blocks => Flux transformer in diffusers naming"
    ]
    return _flux(
        view,
        context_dim=view.dim(prefix + "context_embedder.weight", 1),
        context_key="context_embedder",
        img_in=view.dim(prefix + "x_embedder.weight", 1),
        guidance=view.has_prefix(prefix + "time_text_embed.guidance_embedder."),
        reasons=reasons,
        components=components,
    )


def _flux(
    view: HeaderView,
    *,
    context_dim: int | None,
    context_key: str,
    img_in: int | None,
    guidance: bool,
    reasons: list[str],
    components: list[str],
) -> Match:
    details: dict[str, object] = {"components": ["transformer", *components]}
    variant: Variant | None = None
    # The reasons name the tensors as this file spells them (BFL's or diffusers' names).
    img_key, guidance_key = ("img_in", "guidance_in") if context_key == "txt_in" else _DIFFUSERS_NAMES
    if context_dim in _FLUX1_CONTEXT_DIMS or (context_dim is None and img_in in (64, 384)):
        arch = Architecture.FLUX1
        if context_dim is not None:
            reasons.append(f"{context_key} in-features {context_dim} (T5-XXL) => flux1")
        else:
            reasons.append(f"no {context_key}; {img_key} in-features {img_in} => flux1")
        flux_variant = "dev" if guidance else "schnell"
        reasons.append(
            f"{guidance_key} present => Flux.1 dev (guidance-distilled)"
            if guidance
            else f"no {guidance_key} => Flux.1 schnell (timestep-distilled)"
        )
        details["flux_variant"] = flux_variant
        if img_in in _FLUX1_IMG_IN:
            variant, why = _FLUX1_IMG_IN[img_in]
            reasons.append(why.replace("img_in", img_key))
    elif context_dim is not None and context_dim in FLUX2_CONTEXT_DIMS:
        arch = Architecture.FLUX2
        name = FLUX2_CONTEXT_DIMS[context_dim]
        reasons.append(f"{context_key} in-features {context_dim} (LLM text encoder) => flux2 ({name})")
        details["flux_variant"] = name
        if img_in == 128:
            variant = Variant.NORMAL
    else:
        arch = Architecture.OTHER
        measured = (
            f"{context_key} in-features {context_dim}"
            if context_dim is not None
            else f"no {context_key}, and {img_key} in-features {img_in}"
        )
        reasons.append(
            f"{measured} matches neither Flux.1 ({', '.join(str(d) for d in _FLUX1_CONTEXT_DIMS)}) "
            f"nor Flux.2 ({', '.join(str(d) for d in FLUX2_CONTEXT_DIMS)})"
        )
    reasons.append(components_reason("transformer", components))
    if context_dim is not None:
        details["text_width"] = context_dim
    if img_in is not None:
        details["in_channels"] = img_in
    details.update(row_details(arch))
    return Match(AssetKind.CHECKPOINT, arch, tuple(reasons), variant=variant, details=details)


def match_sd3(view: HeaderView, components: list[str]) -> Match | None:
    """An SD3 / SD3.5 MMDiT in SGM/ComfyUI naming, or in diffusers naming."""
    prefix = next((p for p in DIT_PREFIXES if view.has(p + SD3_SIGNATURE)), None)
    if prefix is not None:
        reasons = [f"{prefix}{SD3_SIGNATURE} present => MMDiT (sd3)"]
        hidden = view.dim(prefix + "x_embedder.proj.weight", 0)
        pos = view.dim(prefix + "pos_embed", 1)
        large = view.has(prefix + "joint_blocks.37.x_block.mlp.fc1.weight")
    else:
        prefix = next((p for p in DIT_PREFIXES if _sd3_diffusers(view, p)), None)
        if prefix is None:
            return None
        reasons = [
            f"{prefix}pos_embed.proj + {prefix}context_embedder + {prefix}transformer_blocks "
            "=> SD3 in diffusers naming"
        ]
        hidden = view.dim(prefix + "pos_embed.proj.weight", 0)
        pos, large = None, view.has_prefix(prefix + "transformer_blocks.37.")
    details: dict[str, object] = {"components": ["transformer", *components]}
    if hidden:
        reasons.append(f"hidden size {hidden} => depth {hidden // 64}")
    sd3_variant = "sd3.5-large" if large else _SD3_POS_EMBED.get(pos or 0)
    if sd3_variant:
        details["sd3_variant"] = sd3_variant
        reasons.append(f"block count / pos_embed size => {sd3_variant}")
    reasons.append(components_reason("transformer", components))
    if hidden:
        details["hidden_size"] = hidden
    details.update(row_details(Architecture.SD3))
    return Match(AssetKind.CHECKPOINT, Architecture.SD3, tuple(reasons), details=details)


def _sd3_diffusers(view: HeaderView, prefix: str) -> bool:
    """SD3's diffusers names under ``prefix``: a patch embedder, a context embedder and joint blocks."""
    return (
        view.has(prefix + "pos_embed.proj.weight")
        and view.has(prefix + "context_embedder.weight")
        and view.has_prefix(prefix + "transformer_blocks.0.")
    )


def row_details(arch: Architecture) -> dict[str, object]:
    """The text encoders and VAE the vocabulary table lists for ``arch`` (what a board slot expects)."""
    row = ROW_OF.get(arch)
    if row is None:
        return {}
    details: dict[str, object] = {"text_encoders": list(row.text_encoders)} if row.text_encoders else {}
    if row.vae:
        details["vae"] = row.vae
    return details
