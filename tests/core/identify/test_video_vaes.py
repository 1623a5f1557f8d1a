"""The VAEs of the transformer era, stored alone: layout, latent channels and the families that use them."""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.models import ModelCase
from tests.factory.safetensors_writer import TensorSpec


def _wan_vae(z_dim: int, prefix: str = "") -> ModelCase:
    """Wan's causal 3-D VAE in its original names (ComfyUI ``wan_2.1_vae``, ``qwen_image_vae``)."""
    specs: dict[str, TensorSpec] = {
        f"{prefix}encoder.conv1.weight": ("BF16", (96, 3, 3, 3, 3)),
        f"{prefix}encoder.head.2.weight": ("BF16", (z_dim * 2, 384, 3, 3, 3)),
        f"{prefix}conv1.weight": ("BF16", (z_dim * 2, z_dim * 2, 1, 1, 1)),
        f"{prefix}conv2.weight": ("BF16", (z_dim, z_dim, 1, 1, 1)),
        f"{prefix}decoder.conv1.weight": ("BF16", (384, z_dim, 3, 3, 3)),
        f"{prefix}decoder.middle.0.residual.0.gamma": ("BF16", (384, 1, 1, 1)),
        f"{prefix}decoder.head.2.weight": ("BF16", (3, 96, 3, 3, 3)),
    }
    return ModelCase("wan-vae", specs)


def _causal_vae(latent: int) -> ModelCase:
    specs: dict[str, TensorSpec] = {
        "decoder.conv_in.conv.weight": ("BF16", (512, latent, 3, 3, 3)),
        "decoder.conv_out.conv.weight": ("BF16", (3, 128, 3, 3, 3)),
        "encoder.conv_in.conv.weight": ("BF16", (128, 3, 3, 3, 3)),
    }
    return ModelCase("causal-vae", specs)


def _dc_ae() -> ModelCase:
    specs: dict[str, TensorSpec] = {
        "decoder.project_in.main.conv.weight": ("BF16", (1024, 32, 3, 3)),
        "decoder.stages.1.op_list.0.main.conv.conv.bias": ("BF16", (256,)),
        "encoder.project_in.conv.weight": ("BF16", (128, 3, 3, 3)),
    }
    return ModelCase("dc-ae", specs)


@pytest.mark.parametrize(
    ("case", "arch", "vae"),
    [
        (_wan_vae(16), Architecture.UNKNOWN, "wan_vae"),
        (_wan_vae(48), Architecture.WAN, "wan22_vae"),
        (_causal_vae(16), Architecture.HUNYUAN_VIDEO, "hunyuan_video_vae"),
        (_causal_vae(128), Architecture.UNKNOWN, "ltx_video_vae"),
        (_dc_ae(), Architecture.SANA, "dc_ae"),
    ],
)
def test_video_era_vae(case: ModelCase, arch: Architecture, vae: str) -> None:
    result = identify_case(case)
    assert result.kind is AssetKind.VAE, result.refusals
    assert result.architecture is arch, reasons_text(result)
    assert vae in result.metadata["vae"]


def test_wan_21_and_qwen_image_vae_name_every_user() -> None:
    result = identify_case(_wan_vae(16))
    assert {"wan", "qwen_image", "anima"} <= set(result.metadata["used_by"])
    assert "identical shapes" in reasons_text(result)


def test_vae_inside_a_bigger_model_is_not_a_vae_file() -> None:
    case = _wan_vae(16)
    specs = {**case.specs, **{f"blocks.{i}.attn.weight": ("BF16", (8, 8)) for i in range(40)}}
    assert identify_case(ModelCase("not-a-vae", specs)).kind is not AssetKind.VAE
