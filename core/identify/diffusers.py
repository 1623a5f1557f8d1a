"""Diffusers folders: identified from their JSON configs, which state what the tensors would only imply.

A pipeline folder names its class in ``model_index.json`` and each component's geometry in its
``config.json`` (reference C.3): the UNet's ``cross_attention_dim`` gives the SD family, ``in_channels`` the
variant, the scheduler's ``prediction_type`` the prediction; a transformer's class gives SD3/Flux. A
single-component folder (a VAE, a ControlNet, an encoder) has no ``model_index.json``; its config's
``_class_name`` says what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.formats.model_file import DiffusersInfo
from core.identify.families import CONTEXT_DIM_FAMILIES, UNET_VARIANTS
from core.identify.matchers.dit import FLUX2_CONTEXT_DIMS
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind, Prediction, Variant

_PREDICTIONS = {"epsilon": Prediction.EPS, "v_prediction": Prediction.V}
# VAE scaling factors: SDXL's VAE was retrained with a new scale; SD3 and Flux.1 AEs differ here only.
_VAE_SCALES = {0.13025: Architecture.SDXL, 1.5305: Architecture.SD3, 0.3611: Architecture.FLUX1}
_ENCODERS = {
    "CLIPTextModel": (AssetKind.TEXT_ENCODER, "clip text"),
    "CLIPTextModelWithProjection": (AssetKind.TEXT_ENCODER, "clip text"),
    "T5EncoderModel": (AssetKind.TEXT_ENCODER, "t5"),
    "CLIPVisionModelWithProjection": (AssetKind.CLIP_VISION, "clip vision"),
    "CLIPVisionModel": (AssetKind.CLIP_VISION, "clip vision"),
}
_FLUX1_IN = {64: Variant.NORMAL, 384: Variant.INPAINT}


def match_diffusers(view: HeaderView) -> Match | Refusal:
    info = view.header.diffusers
    if info is None:
        return Refusal("not a diffusers folder (no model_index.json / config.json)")
    if info.model_index:
        return _pipeline(info)
    config = info.configs.get("", {})
    class_name = str(config.get("_class_name", ""))
    return _component(class_name, config, info) or Refusal(
        f"diffusers component class {class_name or '(none)'} is not a known model kind"
    )


def _pipeline(info: DiffusersInfo) -> Match | Refusal:
    pipeline = str(info.model_index.get("_class_name", ""))
    reasons = [f"model_index.json: {pipeline or 'no _class_name'}"]
    found: Match | None = None
    if "unet" in info.configs:
        found = _unet(info.configs["unet"], pipeline, reasons)
    elif "transformer" in info.configs:
        found = _transformer(info.configs["transformer"], reasons)
    if found is None:
        return Refusal(f"pipeline {pipeline or '(unnamed)'} has no unet/transformer config")
    prediction = _prediction(info.configs.get("scheduler", {}), list(found.reasons))
    return Match(
        found.kind,
        found.architecture,
        prediction[1],
        variant=found.variant,
        prediction=prediction[0],
        details={**found.details, "components": _components(info.model_index), **_repo_variant(info)},
    )


def _component(class_name: str, config: Mapping[str, Any], info: DiffusersInfo) -> Match | None:
    reasons = [f"config.json: {class_name}"]
    if class_name.startswith("AutoencoderKL"):
        return _vae(class_name, config, reasons)
    if class_name == "UNet2DConditionModel":
        found = _unet(config, "", reasons)
        reasons = [*found.reasons, "unet only: no VAE or text encoder in the folder"]
        return Match(
            found.kind, found.architecture, tuple(reasons), variant=found.variant, details=found.details
        )
    if class_name in ("SD3Transformer2DModel", "FluxTransformer2DModel", "Flux2Transformer2DModel"):
        found = _transformer({**config, "_class_name": class_name}, reasons)
        return Match(
            found.kind, found.architecture, (*found.reasons, "transformer only"), variant=found.variant
        )
    if class_name in ("ControlNetModel", "ControlNetXSAdapter"):
        arch, why = _by_cross_attention(config)
        return Match(AssetKind.CONTROLNET, arch, (*reasons, why))
    if class_name in _ENCODERS:
        kind, encoder = _ENCODERS[class_name]
        return Match(
            kind,
            Architecture.UNKNOWN,
            (*reasons, "encoders are shared between families"),
            details={"encoder": encoder, **_repo_variant(info)},
        )
    return None


def _unet(config: Mapping[str, Any], pipeline: str, reasons: list[str]) -> Match:
    arch, why = _by_cross_attention(config)
    reasons.append(why)
    if arch is Architecture.SDXL_REFINER and "Img2Img" not in pipeline and pipeline:
        reasons.append("cross_attention_dim 1280 in a non-img2img pipeline")
    in_channels = config.get("in_channels")
    variant = UNET_VARIANTS.get(in_channels) if isinstance(in_channels, int) else None
    if variant is not None:
        reasons.append(f"unet in_channels {in_channels} => {variant.value}")
    return Match(AssetKind.CHECKPOINT, arch, tuple(reasons), variant=variant)


def _by_cross_attention(config: Mapping[str, Any]) -> tuple[Architecture, str]:
    dim = config.get("cross_attention_dim")
    if isinstance(dim, list) and dim:
        dim = dim[0]
    family = CONTEXT_DIM_FAMILIES.get(dim) if isinstance(dim, int) else None
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
        arch = Architecture.OTHER
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


def _prediction(
    scheduler: Mapping[str, Any], reasons: list[str]
) -> tuple[Prediction | None, tuple[str, ...]]:
    value = scheduler.get("prediction_type")
    prediction = _PREDICTIONS.get(value) if isinstance(value, str) else None
    if prediction is not None:
        reasons.append(f"scheduler prediction_type {value} => {prediction.value}")
    return prediction, tuple(reasons)


def _components(model_index: Mapping[str, Any]) -> list[str]:
    # Entries are "name": [library, class]; [null, null] marks an absent optional component.
    return sorted(
        name
        for name, value in model_index.items()
        if not name.startswith("_") and isinstance(value, list) and len(value) == 2 and value[1]
    )


def _repo_variant(info: DiffusersInfo) -> dict[str, object]:
    if info.weight_files and all(".fp16." in name for name in info.weight_files):
        return {"repo_variant": "fp16"}
    return {}
