"""Main models: SD1/SD2/SDXL/refiner UNets, SD3 and Flux transformers and every family of the
vocabulary table (``table.py``), bundled or alone.

A checkpoint is recognised by its denoiser, never by its VAE or text encoder (a VAE-only file also has
``first_stage_model.*`` keys). The UNet family comes from the cross-attention width (``families.py``);
the text encoders present are reported as supporting evidence and a disagreement is noted, not obeyed.
"""

from __future__ import annotations

from core.identify.families import (
    UNetFacts,
    bundled_components,
    components_reason,
    diffusers_unet_facts,
    ldm_unet_facts,
    unet_family,
    unet_variant,
)
from core.identify.matchers.dit import match_flux, match_flux_diffusers, match_sd3, row_details
from core.identify.matchers.table import match_table
from core.identify.prediction import unet_prediction
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind

_LDM_PREFIXES = ("model.diffusion_model.", "")

# Text encoders of single-file checkpoints: (key, what it is, the family it implies).
_TEXT_ENCODERS: tuple[tuple[str, str, Architecture], ...] = (
    (
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
        "CLIP-L text encoder (cond_stage_model.transformer.text_model.*)",
        Architecture.SD1,
    ),
    (
        "cond_stage_model.transformer.embeddings.token_embedding.weight",
        "CLIP-L text encoder in the old naming (no text_model.)",
        Architecture.SD1,
    ),
    (
        "cond_stage_model.model.token_embedding.weight",
        "OpenCLIP ViT-H text encoder (cond_stage_model.model.*)",
        Architecture.SD2,
    ),
    (
        "conditioner.embedders.1.model.token_embedding.weight",
        "CLIP-L + OpenCLIP bigG text encoders (conditioner.embedders.0/1)",
        Architecture.SDXL,
    ),
    (
        "conditioner.embedders.0.model.token_embedding.weight",
        "OpenCLIP bigG text encoder alone (conditioner.embedders.0.model)",
        Architecture.SDXL_REFINER,
    ),
)


def match_checkpoint(view: HeaderView) -> Match | Refusal:
    bundled = bundled_components(view)
    for prefix in _LDM_PREFIXES:
        facts = ldm_unet_facts(view, prefix)
        if facts is not None:
            return _unet_match(view, facts, prefix, bundled)
    # The table's families first: Chroma and Flux.3 carry Flux-style blocks the Flux rule would claim.
    for dit in (match_table, match_flux, match_sd3, match_flux_diffusers):
        found = dit(view, bundled)
        if found is not None:
            return found
    facts = diffusers_unet_facts(view, "")
    if facts is not None and view.has("down_blocks.0.resnets.0.conv1.weight"):
        return _unet_match(view, facts, "", bundled)
    return Refusal(
        "no UNet or diffusion-transformer keys (model.diffusion_model.*, input_blocks.*, double_blocks.*, "
        "joint_blocks.*, diffusers conv_in + down_blocks.*, or any family signature of the vocabulary table)"
    )


def _unet_match(view: HeaderView, facts: UNetFacts, prefix: str, bundled: list[str]) -> Match:
    arch, reasons = unet_family(facts)
    if facts.naming == "diffusers":
        reasons.insert(0, "UNet in diffusers naming (conv_in, down_blocks...)")
    variant, why = unet_variant(facts, arch)
    reasons.append(why)
    reasons.extend(_text_encoder_reasons(view, arch))
    prediction, prediction_reasons = unet_prediction(view, prefix, arch)
    reasons.extend(prediction_reasons)
    details: dict[str, object] = {"components": ["unet", *bundled], **row_details(arch)}
    if view.has("edm_mean") and view.has("edm_std"):
        reasons.append("edm_mean/edm_std keys => Playground v2.5 (EDM)")
        details["edm"] = "playground-v2.5"
    reasons.append(components_reason("unet", bundled))
    return Match(
        AssetKind.CHECKPOINT,
        arch,
        tuple(reasons),
        variant=variant,
        prediction=prediction,
        details=details,
    )


def _text_encoder_reasons(view: HeaderView, arch: Architecture) -> list[str]:
    for key, what, implied in _TEXT_ENCODERS:
        if view.has(key):
            if implied is arch or arch is Architecture.OTHER:
                return [what]
            return [f"{what} suggests {implied.value}; the UNet decides"]
    return []
