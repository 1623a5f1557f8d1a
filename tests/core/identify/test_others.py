"""ControlNets, IP-Adapters, upscalers, CLIP vision and text encoders."""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import has_reason, identify_case, reasons_text
from tests.factory import models
from tests.factory.models import ModelCase

CASES: dict[str, tuple[ModelCase, AssetKind, Architecture, str]] = {
    "ldm controlnet sd1": (
        models.ldm_controlnet("sd1"),
        AssetKind.CONTROLNET,
        Architecture.SD1,
        "control_model.input_hint_block",
    ),
    "ldm controlnet sdxl": (
        models.ldm_controlnet("sdxl"),
        AssetKind.CONTROLNET,
        Architecture.SDXL,
        "attn2.to_k in-features 2048",
    ),
    "diffusers controlnet sdxl": (
        models.diffusers_controlnet_sdxl(),
        AssetKind.CONTROLNET,
        Architecture.SDXL,
        "controlnet_cond_embedding",
    ),
    "xlabs flux controlnet": (
        models.flux_controlnet(),
        AssetKind.CONTROLNET,
        Architecture.FLUX1,
        "width 3072 => flux1 ControlNet",
    ),
    "ip-adapter sd1.5": (
        models.ip_adapter("sd1"),
        AssetKind.IP_ADAPTER,
        Architecture.SD1,
        "to_k_ip in-features 768",
    ),
    "ip-adapter sd2": (models.ip_adapter("sd2"), AssetKind.IP_ADAPTER, Architecture.SD2, "1024 => sd2"),
    "ip-adapter plus sdxl": (
        models.ip_adapter("sdxl", plus=True),
        AssetKind.IP_ADAPTER,
        Architecture.SDXL,
        "2048 => sdxl",
    ),
    "xlabs flux ip-adapter": (models.flux_ip_adapter(), AssetKind.IP_ADAPTER, Architecture.FLUX1, "XLabs"),
    "real-esrgan x4plus": (models.realesrgan(4), AssetKind.UPSCALER, Architecture.OTHER, "RRDBNet"),
    "real-esrgan x2plus": (models.realesrgan(2), AssetKind.UPSCALER, Architecture.OTHER, "RRDBNet"),
    "real-esrgan unwrapped": (
        models.realesrgan(4, prefix=""),
        AssetKind.UPSCALER,
        Architecture.OTHER,
        "RRDBNet",
    ),
    "esrgan old naming": (models.esrgan_old(), AssetKind.UPSCALER, Architecture.OTHER, "original naming"),
    "srvgg compact": (models.srvgg_compact(), AssetKind.UPSCALER, Architecture.OTHER, "SRVGGNetCompact"),
    "swinir": (models.swinir(), AssetKind.UPSCALER, Architecture.OTHER, "SwinIR"),
    "clip vision ViT-H": (models.clip_vision(1280), AssetKind.CLIP_VISION, Architecture.UNKNOWN, "ViT-H/14"),
    "clip vision ViT-bigG": (
        models.clip_vision(1664, 2),
        AssetKind.CLIP_VISION,
        Architecture.UNKNOWN,
        "bigG",
    ),
    "clip-l text encoder": (
        models.clip_l_text_encoder(),
        AssetKind.TEXT_ENCODER,
        Architecture.UNKNOWN,
        "CLIP text encoder, width 768",
    ),
    "t5-xxl": (models.t5xxl_text_encoder(), AssetKind.TEXT_ENCODER, Architecture.UNKNOWN, "d_model 4096"),
    "clip-l + t5 bundle": (
        models.bundled_text_encoders(),
        AssetKind.TEXT_ENCODER,
        Architecture.UNKNOWN,
        "text encoders are shared between families",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_other_kinds(name: str) -> None:
    case, kind, arch, reason = CASES[name]
    result = identify_case(case)
    assert result.kind is kind, result.refusals
    assert result.architecture is arch, reasons_text(result)
    assert has_reason(result, reason), reasons_text(result)


@pytest.mark.parametrize(
    ("case", "scale"),
    [
        (models.realesrgan(4), 4),
        (models.realesrgan(2), 2),
        (models.esrgan_old(), 4),
        (models.srvgg_compact(4), 4),
        (models.srvgg_compact(2), 2),
    ],
)
def test_upscale_factor(case: ModelCase, scale: int) -> None:
    assert identify_case(case).metadata["scale"] == scale


def test_ip_adapter_projection_kind() -> None:
    assert identify_case(models.ip_adapter("sd1")).metadata["image_proj"] == "linear"
    assert identify_case(models.ip_adapter("sdxl", plus=True)).metadata["image_proj"] == "resampler"


def test_encoders_are_named() -> None:
    assert identify_case(models.bundled_text_encoders()).metadata["encoders"] == ["clip_l", "t5xxl"]
    assert identify_case(models.clip_vision(1024, 2)).metadata["encoder"] == "ViT-L/14"


@pytest.mark.parametrize(("hidden", "arch"), [(3072, Architecture.FLUX1), (1536, Architecture.SD3)])
def test_diffusers_transformer_controlnets(hidden: int, arch: Architecture) -> None:
    specs = {
        "controlnet_blocks.0.weight": ("BF16", (hidden, hidden)),
        "transformer_blocks.0.attn.to_q.weight": ("BF16", (hidden, hidden)),
        "pos_embed_input.proj.weight": ("BF16", (hidden, 16, 2, 2)),
    }
    result = identify_case(ModelCase("dit-controlnet", specs))
    assert (result.kind, result.architecture) == (AssetKind.CONTROLNET, arch)


def test_bare_ldm_controlnet_without_prefix() -> None:
    case = models.ldm_controlnet("sd1")
    specs = {name.removeprefix("control_model."): spec for name, spec in case.specs.items()}
    result = identify_case(ModelCase("bare-controlnet", specs))
    assert result.kind is AssetKind.CONTROLNET
    assert result.architecture is Architecture.SD1
