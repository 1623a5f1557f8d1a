"""core.render.lora_family: the families the renderer reads in a LoRA's own tensor names and shapes."""

from __future__ import annotations

import torch

from core.render.lora_family import lora_architectures
from core.taxonomy import Architecture


def _attention(blocks: int, width: int, *extra: str) -> dict[str, torch.Tensor]:
    """Shapes only (the meta device holds no bytes): ``transformer_blocks.N.attn`` in diffusers naming."""
    tensors: dict[str, torch.Tensor] = {}
    for i in range(blocks):
        for part in ("attn.to_q", "attn.to_k", "attn.to_v", *extra):
            module = f"transformer.transformer_blocks.{i}.{part}"
            tensors[f"{module}.lora_A.weight"] = torch.empty(8, width, device="meta")
            tensors[f"{module}.lora_B.weight"] = torch.empty(width, 8, device="meta")
    return tensors


def test_attention_of_blocks_flux_and_qwen_image_share_fits_either() -> None:
    """19 blocks 3072 wide: Flux.1's double blocks or Qwen-Image's first 19; the loaded model's layers
    check the rest, so the renderer takes it on either and refuses it on the others."""
    assert lora_architectures(_attention(19, 3072)) == (
        Architecture.FLUX1,
        Architecture.QWEN_IMAGE,
        Architecture.HUNYUAN_VIDEO,
    )


def test_all_of_hunyuan_videos_double_blocks_fit_it_and_qwen_image() -> None:
    """20 blocks 3072 wide: Hunyuan Video's double blocks, or Qwen-Image's first 20 of 60."""
    assert lora_architectures(_attention(20, 3072)) == (Architecture.QWEN_IMAGE, Architecture.HUNYUAN_VIDEO)


def test_the_same_blocks_with_a_flux_only_layer_are_flux() -> None:
    tensors = _attention(19, 3072, "ff_context.net.0.proj")
    assert lora_architectures(tensors) == (Architecture.FLUX1,)


def test_more_blocks_than_flux_has_are_qwen_image() -> None:
    assert lora_architectures(_attention(60, 3072)) == (Architecture.QWEN_IMAGE,)


def test_attention_of_more_blocks_than_flux_has_but_not_all_of_qwen_images_is_qwen_image() -> None:
    """40 blocks 3072 wide: more than Flux.1's 19, within Qwen-Image's 60 (a LoRA of some of its blocks)."""
    assert lora_architectures(_attention(40, 3072)) == (Architecture.QWEN_IMAGE,)


def test_more_blocks_than_any_family_has_fit_none() -> None:
    assert lora_architectures(_attention(61, 3072)) == ()
