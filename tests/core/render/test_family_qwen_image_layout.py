"""Qwen-Image at its real size (meta tensors: nothing is allocated): a full ComfyUI checkpoint (the
transformer under ``model.diffusion_model.``, ComfyUI's Qwen2.5-VL-7B names ``model.layers.*``/``visual.*``,
the VAE in Wan 2.1 names) converts with the bundled configs with no missing or unexpected tensors, and the
shapes give the bundled transformer, Qwen2.5-VL-7B and VAE configs back."""

from __future__ import annotations

import json
from typing import Any

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.families import FAMILIES
from core.render.family_loader import conversion_gaps
from core.render.family_shapes import qwen_image_transformer, qwen_image_vae, qwen_vl_text
from core.taxonomy import Architecture
from tests.factory.tiny_families import qwen_image_vae_wan_names, qwen_vl_comfyui_names

FOLDER = RESOURCES_CONFIG_ROOT / "qwen_image"


def _bundled(component: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((FOLDER / component / "config.json").read_text(encoding="utf-8"))
    return config


def _real_size_checkpoint() -> dict[str, Any]:
    import torch
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLQwenImage, QwenImageTransformer2DModel
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    with init_empty_weights():
        transformer = QwenImageTransformer2DModel.from_config(_bundled("transformer"))
        vae = AutoencoderKLQwenImage.from_config(_bundled("vae"))
    with torch.device("meta"):
        encoder = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig.from_dict(_bundled("text_encoder")))
    tensors = {f"model.diffusion_model.{k}": v for k, v in transformer.state_dict().items()}
    comfy = qwen_vl_comfyui_names(encoder.state_dict())
    tensors |= {f"text_encoders.qwen25_7b.transformer.{k}": v for k, v in comfy.items()}
    tensors |= {f"vae.{k}": v for k, v in qwen_image_vae_wan_names(vae.state_dict()).items()}
    return tensors


def test_a_real_size_comfyui_checkpoint_converts_without_gaps() -> None:
    checkpoint = _real_size_checkpoint()
    assert "vae.decoder.upsamples.3.resample.1.weight" in checkpoint  # Wan names, not diffusers'
    assert "text_encoders.qwen25_7b.transformer.visual.blocks.31.attn.qkv.weight" in checkpoint
    gaps = conversion_gaps(FAMILIES[Architecture.QWEN_IMAGE], checkpoint, RESOURCES_CONFIG_ROOT)
    assert set(gaps) == {"transformer", "vae", "qwen_2.5_vl_7b"}
    for component, gap in gaps.items():
        assert gap.missing == (), (component, gap.missing[:5])
        assert gap.unexpected == (), (component, gap.unexpected[:5])


def test_shapes_give_the_bundled_configs() -> None:
    checkpoint = _real_size_checkpoint()

    def part(prefix: str) -> dict[str, tuple[int, ...]]:
        return {k.removeprefix(prefix): tuple(t.shape) for k, t in checkpoint.items() if k.startswith(prefix)}

    transformer = qwen_image_transformer(part("model.diffusion_model."))
    bundled = _bundled("transformer")
    assert set(transformer) >= {"num_layers", "num_attention_heads", "joint_attention_dim", "axes_dims_rope"}
    assert transformer == {key: bundled[key] for key in transformer}
    encoder = {k.removeprefix("model."): v for k, v in part("text_encoders.qwen25_7b.transformer.").items()}
    found = qwen_vl_text(encoder)
    text, vision = _bundled("text_encoder")["text_config"], _bundled("text_encoder")["vision_config"]
    assert found["text_config"] == {key: text[key] for key in found["text_config"]}
    assert found["vision_config"] == {key: vision[key] for key in found["vision_config"]}
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    vae = qwen_image_vae(
        {
            k: tuple(t.shape)
            for k, t in convert_wan_vae_to_diffusers(
                {k.removeprefix("vae."): t for k, t in checkpoint.items() if k.startswith("vae.")}
            ).items()
        }
    )
    assert vae == {key: _bundled("vae")[key] for key in vae}
