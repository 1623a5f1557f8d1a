"""Diffusers folders: identified from their JSON configs, which state what the tensors would only imply.

A pipeline folder names its class in ``model_index.json``, and that class is what decides the family: a
``StableDiffusionPipeline`` is SD whatever its widths (a tiny or distilled SD has a cross-attention width
no released model has, and is still rendered as SD), a ``StableDiffusionXLPipeline`` is SDXL, a
``FluxPipeline`` Flux; the classes of the newer families (``QwenImagePipeline``, ``WanPipeline``...) are
rows of the vocabulary table (``ArchitectureRow.diffusers``). The component configs (reference C.3) only
refine it: the UNet's ``cross_attention_dim`` tells SD1 (768) from SD2 (1024), ``in_channels`` gives the
variant, the scheduler's ``prediction_type`` the prediction. A pipeline class this table does not know
falls back to the widths.

A single-component folder (a VAE, a UNet, a ControlNet, a text encoder) has no ``model_index.json``; its
``config.json`` says what it is: ``_class_name`` for diffusers models, ``architectures`` / ``model_type``
for transformers models (text and vision encoders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.formats.model_file import DiffusersInfo
from core.identify.families import ADM_FAMILIES, CONTEXT_DIM_FAMILIES, UNET_VARIANTS
from core.identify.matchers.dit import FLUX2_CONTEXT_DIMS
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.identify.vocabulary import architecture_of_diffusers_class
from core.taxonomy import Architecture, AssetKind, Prediction, Variant

_PREDICTIONS = {"epsilon": Prediction.EPS, "v_prediction": Prediction.V}
# VAE scaling factors: SDXL's VAE was retrained with a new scale; SD3 and Flux.1 AEs differ here only.
_VAE_SCALES = {0.13025: Architecture.SDXL, 1.5305: Architecture.SD3, 0.3611: Architecture.FLUX1}
# Text encoder widths, named as the single-file matcher names them (``others.py``).
_CLIP_WIDTHS = {768: "clip_l", 1024: "openclip_h", 1280: "openclip_bigg"}
_VISION_CLASSES = ("CLIPVisionModelWithProjection", "CLIPVisionModel", "SiglipVisionModel")
_TEXT_CLASSES = ("CLIPTextModel", "CLIPTextModelWithProjection", "T5EncoderModel", "UMT5EncoderModel")
_SHARED = "encoders are shared between families"
_FLUX1_IN = {64: Variant.NORMAL, 384: Variant.INPAINT}
_CONTROLNET_CLASSES = ("ControlNetModel", "ControlNetXSAdapter", "T2IAdapter", "ControlNetUnionModel")
_TRANSFORMER_CLASSES = ("SD3Transformer2DModel", "FluxTransformer2DModel", "Flux2Transformer2DModel")


@dataclass(frozen=True, slots=True)
class _Family:
    """What a pipeline class says: the family, and the variant its task implies (inpaint, pix2pix...)."""

    architecture: Architecture
    variant: Variant | None = None


# Pipeline class -> family. Every pipeline of a family shares its UNet/transformer; the task variants
# (img2img, inpaint, ControlNet ...) load the same weights with other inputs.
_SD_FAMILY = {
    "StableDiffusionPipeline": None,
    "StableDiffusionImg2ImgPipeline": None,
    "StableDiffusionInpaintPipeline": Variant.INPAINT,
    "StableDiffusionInstructPix2PixPipeline": Variant.PIX2PIX,
    "StableDiffusionDepth2ImgPipeline": Variant.DEPTH,
    "StableDiffusionControlNetPipeline": None,
    "StableDiffusionControlNetImg2ImgPipeline": None,
    "StableDiffusionControlNetInpaintPipeline": Variant.INPAINT,
    "StableDiffusionPAGPipeline": None,
    "LatentConsistencyModelPipeline": None,
    "AutoPipelineForText2Image": None,
}
_SDXL_FAMILY = {
    "StableDiffusionXLPipeline": None,
    "StableDiffusionXLImg2ImgPipeline": None,
    "StableDiffusionXLInpaintPipeline": Variant.INPAINT,
    "StableDiffusionXLInstructPix2PixPipeline": Variant.PIX2PIX,
    "StableDiffusionXLControlNetPipeline": None,
    "StableDiffusionXLControlNetImg2ImgPipeline": None,
    "StableDiffusionXLControlNetInpaintPipeline": Variant.INPAINT,
    "StableDiffusionXLPAGPipeline": None,
}
_DIT_FAMILY: dict[str, _Family] = {
    "StableDiffusion3Pipeline": _Family(Architecture.SD3),
    "StableDiffusion3Img2ImgPipeline": _Family(Architecture.SD3),
    "StableDiffusion3InpaintPipeline": _Family(Architecture.SD3, Variant.INPAINT),
    "StableDiffusion3ControlNetPipeline": _Family(Architecture.SD3),
    "FluxPipeline": _Family(Architecture.FLUX1),
    "FluxImg2ImgPipeline": _Family(Architecture.FLUX1),
    "FluxInpaintPipeline": _Family(Architecture.FLUX1),
    "FluxFillPipeline": _Family(Architecture.FLUX1, Variant.INPAINT),
    "FluxKontextPipeline": _Family(Architecture.FLUX1),
    "FluxControlPipeline": _Family(Architecture.FLUX1),
    "FluxControlNetPipeline": _Family(Architecture.FLUX1),
    "Flux2Pipeline": _Family(Architecture.FLUX2),
}
PIPELINE_FAMILIES: Mapping[str, _Family] = {
    **{name: _Family(Architecture.SD1, variant) for name, variant in _SD_FAMILY.items()},
    **{name: _Family(Architecture.SDXL, variant) for name, variant in _SDXL_FAMILY.items()},
    **_DIT_FAMILY,
}
"""Pipeline classes whose family is known; SD-family entries say SD1 until the widths say SD2."""


def match_diffusers(view: HeaderView) -> Match | Refusal:
    info = view.header.diffusers
    if info is None:
        return Refusal("not a diffusers folder (no model_index.json / config.json)")
    if info.model_index:
        return _pipeline(info)
    config = info.configs.get("", {})
    class_name = _config_class(config)
    return _component(class_name, config, info) or Refusal(
        f"config.json names {class_name or 'no model class'}, which is not a known model kind"
    )


def _config_class(config: Mapping[str, Any]) -> str:
    """The model class a config names: diffusers' ``_class_name`` or transformers' ``architectures``."""
    name = config.get("_class_name")
    if isinstance(name, str) and name:
        return name
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        return architectures[0]
    return ""


# -- pipelines ------------------------------------------------------------------------------------------


def _pipeline(info: DiffusersInfo) -> Match | Refusal:
    pipeline = str(info.model_index.get("_class_name", ""))
    reasons = [f"model_index.json: {pipeline or 'no _class_name'}"]
    family = PIPELINE_FAMILIES.get(pipeline)
    if family is None and (table := architecture_of_diffusers_class(pipeline)) is not None:
        family = _Family(table)
    prediction, prediction_reason = _prediction(info.configs.get("scheduler", {}))
    found: Match | None
    if "unet" in info.configs:
        unet = info.configs["unet"]
        if family is not None and family.architecture in (Architecture.SD1, Architecture.SDXL):
            found = _family_unet(family, info, prediction, reasons)
        else:
            found = _unet(unet, reasons)
    elif "transformer" in info.configs:
        found = _transformer(info.configs["transformer"], reasons)
        if family is not None and found.architecture is Architecture.OTHER:
            reasons.append(f"{pipeline} => {family.architecture.value}")
            found = Match(AssetKind.CHECKPOINT, family.architecture, tuple(reasons), variant=family.variant)
    elif family is not None:
        reasons.append(f"{pipeline} => {family.architecture.value} (no unet/transformer config to refine it)")
        found = Match(AssetKind.CHECKPOINT, family.architecture, tuple(reasons), variant=family.variant)
    else:
        return Refusal(f"pipeline {pipeline or '(unnamed)'} has no unet/transformer config")
    details: dict[str, object] = {
        **found.details,
        "pipeline": pipeline,
        "components": _components(info.model_index),
        **_repo_variant(info),
    }
    return Match(
        found.kind,
        found.architecture,
        (*found.reasons, *prediction_reason),
        variant=found.variant,
        prediction=prediction,
        details=details,
    )


def _family_unet(
    family: _Family, info: DiffusersInfo, prediction: Prediction | None, reasons: list[str]
) -> Match:
    """A UNet pipeline whose class names its family: the class decides, the widths refine."""
    model_index = info.model_index
    pipeline = str(model_index.get("_class_name", ""))
    unet = info.configs["unet"]
    dim = _cross_attention_dim(unet)
    by_width = CONTEXT_DIM_FAMILIES.get(dim) if dim is not None else None
    architecture: Architecture
    if family.architecture is Architecture.SD1:
        if by_width in (Architecture.SD1, Architecture.SD2):
            architecture = by_width
            reasons.append(f"cross_attention_dim {dim} => {architecture.value}")
        else:
            architecture = Architecture.SD1
            what = f"cross_attention_dim {dim}" if dim is not None else "no cross_attention_dim"
            seen = f" ({by_width.value}'s width)" if by_width is not None else ""
            reasons.append(
                f"{what}{seen} is not SD1's 768 or SD2's 1024; {pipeline} => SD 1.x family"
                + (" (v-prediction)" if prediction is Prediction.V else "")
            )
    else:
        architecture = Architecture.SDXL
        refiner = _refiner_reason(pipeline, unet, model_index, by_width)
        if refiner is not None:
            architecture = Architecture.SDXL_REFINER
            reasons.append(f"{refiner} => sdxl_refiner")
        elif by_width is Architecture.SDXL:
            reasons.append(f"cross_attention_dim {dim} => sdxl")
        else:
            reasons.append(f"cross_attention_dim {dim} is not SDXL's 2048; {pipeline} => SDXL family")
    variant = _variant(unet, reasons) or family.variant
    return Match(AssetKind.CHECKPOINT, architecture, tuple(reasons), variant=variant)


def _refiner_reason(
    pipeline: str, unet: Mapping[str, Any], model_index: Mapping[str, Any], by_width: Architecture | None
) -> str | None:
    """Why an SDXL-family pipeline is the refiner (bigG-only conditioning, aesthetic score), or None."""
    if model_index.get("requires_aesthetics_score") is True:
        return "requires_aesthetics_score"
    projection = unet.get("projection_class_embeddings_input_dim")
    if isinstance(projection, int) and ADM_FAMILIES.get(projection) is Architecture.SDXL_REFINER:
        return f"text_time input width {projection}"
    if by_width is Architecture.SDXL_REFINER:
        return "cross_attention_dim 1280 (bigG alone)"
    has_first = _present(model_index.get("text_encoder"))
    if "Img2Img" in pipeline and _present(model_index.get("text_encoder_2")) and not has_first:
        return "img2img pipeline with text_encoder_2 only"
    return None


def _present(spec: object) -> bool:
    return isinstance(spec, list) and len(spec) == 2 and bool(spec[1])


# -- single components ----------------------------------------------------------------------------------


def _component(class_name: str, config: Mapping[str, Any], info: DiffusersInfo) -> Match | None:
    reasons = [f"config.json: {class_name}"]
    component: Match | None = None
    if class_name.startswith("AutoencoderKL"):
        component = _vae(class_name, config, reasons)
    elif class_name == "UNet2DConditionModel":
        found = _unet(config, reasons)
        reasons = [*found.reasons, "UNet only: no VAE or text encoder in the folder"]
        details = {"component": "unet"}
        component = Match(
            found.kind, found.architecture, tuple(reasons), variant=found.variant, details=details
        )
    elif class_name in _TRANSFORMER_CLASSES or architecture_of_diffusers_class(class_name) is not None:
        found = _transformer({**config, "_class_name": class_name}, reasons)
        component = Match(
            found.kind,
            found.architecture,
            (*found.reasons, "transformer only: no VAE or text encoder in the folder"),
            variant=found.variant,
            details={**found.details, "component": "transformer"},
        )
    elif class_name in _CONTROLNET_CLASSES:
        component = _controlnet(config, reasons)
    elif class_name in _TEXT_CLASSES or class_name in _VISION_CLASSES:
        component = _encoder(class_name, config, reasons)
    if component is None:
        return None
    return Match(
        component.kind,
        component.architecture,
        component.reasons,
        variant=component.variant,
        details={**component.details, **_repo_variant(info)},
    )


def _controlnet(config: Mapping[str, Any], reasons: list[str]) -> Match:
    if config.get("addition_embed_type") == "text_time":
        reasons.append("text_time conditioning => sdxl")
        return Match(AssetKind.CONTROLNET, Architecture.SDXL, tuple(reasons))
    arch, why = _by_cross_attention(config)
    return Match(AssetKind.CONTROLNET, arch, (*reasons, why))


def _encoder(class_name: str, config: Mapping[str, Any], reasons: list[str]) -> Match:
    """A text or vision encoder folder (transformers config): the width names the encoder.

    The architecture stays unknown as for single encoder files: CLIP-L serves SD1, SDXL, SD3 and Flux
    alike, bigG SDXL and SD3, T5 SD3 and Flux.
    """
    kind = AssetKind.CLIP_VISION if class_name in _VISION_CLASSES else AssetKind.TEXT_ENCODER
    if class_name.endswith(("T5EncoderModel",)):
        width = config.get("d_model")
        name = "t5xxl" if width == 4096 else f"t5_{width}"
        reasons.append(f"T5 encoder, d_model {width} => {name}")
    else:
        width = config.get("hidden_size")
        if kind is AssetKind.CLIP_VISION:
            name = f"clip_vision_{width}"
            reasons.append(f"CLIP vision encoder, hidden_size {width}")
        else:
            name = _CLIP_WIDTHS.get(width, f"clip_{width}") if isinstance(width, int) else "clip"
            reasons.append(f"CLIP text encoder, hidden_size {width} => {name}")
    reasons.append(_SHARED)
    details: dict[str, object] = {"encoder": name, "encoders": [name]}
    return Match(kind, Architecture.UNKNOWN, tuple(reasons), details=details)


# -- shared rules ---------------------------------------------------------------------------------------


def _unet(config: Mapping[str, Any], reasons: list[str]) -> Match:
    """A UNet judged by its widths alone (a bare UNet folder, or a pipeline class not in the table)."""
    projection = config.get("projection_class_embeddings_input_dim")
    if config.get("addition_embed_type") == "text_time":
        arch = ADM_FAMILIES.get(projection, Architecture.SDXL) if isinstance(projection, int) else None
        arch = arch or Architecture.SDXL
        reasons.append(f"text_time conditioning (input width {projection}) => {arch.value}")
    else:
        arch, why = _by_cross_attention(config)
        reasons.append(why)
    variant = _variant(config, reasons)
    return Match(AssetKind.CHECKPOINT, arch, tuple(reasons), variant=variant)


def _variant(unet: Mapping[str, Any], reasons: list[str]) -> Variant | None:
    in_channels = unet.get("in_channels")
    variant = UNET_VARIANTS.get(in_channels) if isinstance(in_channels, int) else None
    if variant is not None:
        reasons.append(f"unet in_channels {in_channels} => {variant.value}")
    return variant


def _cross_attention_dim(config: Mapping[str, Any]) -> int | None:
    dim = config.get("cross_attention_dim")
    if isinstance(dim, list) and dim:
        dim = dim[0]
    return dim if isinstance(dim, int) else None


def _by_cross_attention(config: Mapping[str, Any]) -> tuple[Architecture, str]:
    dim = _cross_attention_dim(config)
    family = CONTEXT_DIM_FAMILIES.get(dim) if dim is not None else None
    if family is None:
        return Architecture.OTHER, f"cross_attention_dim {dim}: no SD family"
    return family, f"cross_attention_dim {dim} => {family.value}"


def _transformer(config: Mapping[str, Any], reasons: list[str]) -> Match:
    class_name = str(config.get("_class_name", ""))
    in_channels = config.get("in_channels")
    details: dict[str, object] = {}
    variant: Variant | None = None
    if class_name == "SD3Transformer2DModel":
        arch = Architecture.SD3
    elif class_name == "FluxTransformer2DModel":
        arch = Architecture.FLUX1
        details["flux_variant"] = "dev" if config.get("guidance_embeds") else "schnell"
        reasons.append(f"guidance_embeds {bool(config.get('guidance_embeds'))} => {details['flux_variant']}")
        variant = _FLUX1_IN.get(in_channels) if isinstance(in_channels, int) else None
    elif class_name == "Flux2Transformer2DModel":
        arch = Architecture.FLUX2
        joint = config.get("joint_attention_dim")
        if isinstance(joint, int) and joint in FLUX2_CONTEXT_DIMS:
            details["flux_variant"] = FLUX2_CONTEXT_DIMS[joint]
    else:
        arch = architecture_of_diffusers_class(class_name) or Architecture.OTHER
        for key in ("num_layers", "in_channels", "joint_attention_dim", "text_dim", "cap_feat_dim"):
            if isinstance(config.get(key), int):
                details[key] = config[key]
    reasons.append(f"transformer {class_name or '(unnamed)'} => {arch.value}")
    return Match(AssetKind.CHECKPOINT, arch, tuple(reasons), variant=variant, details=details)


def _vae(class_name: str, config: Mapping[str, Any], reasons: list[str]) -> Match:
    channels = config.get("latent_channels", 4)
    scale = config.get("scaling_factor")
    details: dict[str, object] = {"latent_channels": channels}
    if class_name == "AutoencoderKLFlux2" or channels == 32:
        arch = Architecture.FLUX2
        reasons.append("Flux.2 autoencoder (32 latent channels) => flux2")
    elif isinstance(scale, int | float) and round(float(scale), 5) in _VAE_SCALES:
        arch = _VAE_SCALES[round(float(scale), 5)]
        reasons.append(f"scaling_factor {scale} => {arch.value}")
    elif channels == 4:
        arch = Architecture.UNKNOWN
        reasons.append(f"scaling_factor {scale}: SD1 and SD2 VAEs share it")
    else:
        arch = Architecture.OTHER
        reasons.append(f"{channels} latent channels, scaling_factor {scale}: no known family")
    return Match(AssetKind.VAE, arch, tuple(reasons), details=details)


def _prediction(scheduler: Mapping[str, Any]) -> tuple[Prediction | None, tuple[str, ...]]:
    value = scheduler.get("prediction_type")
    prediction = _PREDICTIONS.get(value) if isinstance(value, str) else None
    if prediction is None:
        return None, ()
    return prediction, (f"scheduler prediction_type {value} => {prediction.value}",)


def _components(model_index: Mapping[str, Any]) -> list[str]:
    # Entries are "name": [library, class]; [null, null] marks an absent optional component.
    return sorted(name for name, value in model_index.items() if not name.startswith("_") and _present(value))


def _repo_variant(info: DiffusersInfo) -> dict[str, object]:
    if info.weight_files and all(".fp16." in name for name in info.weight_files):
        return {"repo_variant": "fp16"}
    return {}
