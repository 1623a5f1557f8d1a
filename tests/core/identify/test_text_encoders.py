"""Standalone text encoders as ComfyUI stores them (``models/text_encoders``): named, with their users."""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.models import ModelCase
from tests.factory.safetensors_writer import TensorSpec


def _llm(
    width: int,
    vocab: int,
    *,
    q_norm: bool = False,
    q_bias: bool = False,
    gemma: bool = False,
    vision: bool = False,
    prefix: str = "model.",
) -> ModelCase:
    specs: dict[str, TensorSpec] = {
        f"{prefix}embed_tokens.weight": ("BF16", (vocab, width)),
        f"{prefix}layers.0.self_attn.q_proj.weight": ("BF16", (width, width)),
        f"{prefix}layers.0.mlp.gate_proj.weight": ("BF16", (width * 3, width)),
        f"{prefix}norm.weight": ("BF16", (width,)),
    }
    if q_norm:
        specs[f"{prefix}layers.0.self_attn.q_norm.weight"] = ("BF16", (128,))
    if q_bias:
        specs[f"{prefix}layers.0.self_attn.q_proj.bias"] = ("BF16", (width,))
    if gemma:
        specs[f"{prefix}layers.0.pre_feedforward_layernorm.weight"] = ("BF16", (width,))
    if vision:
        specs["visual.blocks.0.attn.qkv.weight"] = ("BF16", (3840, 1280))
    return ModelCase("llm", specs)


def _t5(width: int, *, umt5: bool) -> ModelCase:
    specs: dict[str, TensorSpec] = {
        "shared.weight": ("BF16", (256384 if umt5 else 32128, width)),
        "encoder.block.0.layer.0.SelfAttention.q.weight": ("BF16", (width, width)),
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": ("BF16", (32, 64)),
        "encoder.block.1.layer.0.SelfAttention.q.weight": ("BF16", (width, width)),
    }
    if umt5:
        specs["encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"] = ("BF16", (32, 64))
    return ModelCase("t5", specs)


CASES = {
    "qwen_2.5_vl_7b (Qwen-Image)": (
        _llm(3584, 152064, q_bias=True, vision=True),
        "qwen25_vl_7b",
        Architecture.QWEN_IMAGE,
    ),
    "qwen_3_4b (Z-Image)": (_llm(2560, 151936, q_norm=True), "qwen3_4b", Architecture.UNKNOWN),
    "qwen_3_06b (Anima)": (_llm(1024, 151936, q_norm=True), "qwen3_06b", Architecture.ANIMA),
    "gemma_2_2b (Lumina 2, Sana)": (_llm(2304, 256000, gemma=True), "gemma2_2b", Architecture.UNKNOWN),
    "llama_3.1_8b (HiDream)": (_llm(4096, 128256), "llama31_8b", Architecture.UNKNOWN),
    "mistral small (Flux.2 dev)": (_llm(5120, 131072), "mistral3_small", Architecture.FLUX2),
    "umt5_xxl (Wan)": (_t5(4096, umt5=True), "umt5_xxl", Architecture.WAN),
    "t5xxl (Flux, SD3...)": (_t5(4096, umt5=False), "t5xxl", Architecture.UNKNOWN),
}


@pytest.mark.parametrize("name", CASES)
def test_encoder_is_named_with_its_families(name: str) -> None:
    case, encoder, arch = CASES[name]
    result = identify_case(case)
    assert result.kind is AssetKind.TEXT_ENCODER, result.refusals
    assert result.metadata["encoder"] == encoder, reasons_text(result)
    assert result.architecture is arch, reasons_text(result)


def test_shared_encoder_lists_every_family_that_uses_it() -> None:
    result = identify_case(_llm(2560, 151936, q_norm=True))
    assert {"z_image", "flux2"} <= set(result.metadata["used_by"])
    assert "used by" in reasons_text(result)
