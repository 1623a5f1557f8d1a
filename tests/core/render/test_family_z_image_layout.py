"""Z-Image at its real size (meta tensors: nothing is allocated): a full ComfyUI checkpoint in the
original names (fused ``qkv``, ``x_embedder``, ``text_encoders.qwen3_4b.transformer.model.*``) converts
with the bundled configs with no missing or unexpected tensors, and the shapes give the bundled
transformer and Qwen3-4B configs back."""

from __future__ import annotations

import json
from typing import Any

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.families import FAMILIES
from core.render.family_loader import conversion_gaps
from core.render.family_shapes import qwen_text, z_image_transformer
from core.taxonomy import Architecture
from tests.factory.tiny_families import z_image_original_names

FOLDER = RESOURCES_CONFIG_ROOT / "z_image"


def _bundled(component: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((FOLDER / component / "config.json").read_text(encoding="utf-8"))
    return config


def _real_size_checkpoint() -> dict[str, Any]:
    import torch
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    with init_empty_weights():
        transformer = ZImageTransformer2DModel.from_config(_bundled("transformer"))
        vae = AutoencoderKL.from_config(_bundled("vae"))
    with torch.device("meta"):
        encoder = Qwen3Model(Qwen3Config.from_dict(_bundled("text_encoder")))
    tensors = {
        f"model.diffusion_model.{k}": v for k, v in z_image_original_names(transformer.state_dict()).items()
    }
    tensors |= {f"text_encoders.qwen3_4b.transformer.model.{k}": v for k, v in encoder.state_dict().items()}
    tensors |= {f"vae.{k}": v for k, v in vae.state_dict().items()}
    return tensors


def test_a_real_size_comfyui_checkpoint_converts_without_gaps() -> None:
    gaps = conversion_gaps(FAMILIES[Architecture.Z_IMAGE], _real_size_checkpoint(), RESOURCES_CONFIG_ROOT)
    assert set(gaps) == {"transformer", "vae", "qwen_3_4b"}
    for component, gap in gaps.items():
        assert gap.missing == (), (component, gap.missing[:5])
        assert gap.unexpected == (), (component, gap.unexpected[:5])


def test_shapes_give_the_bundled_configs() -> None:
    checkpoint = _real_size_checkpoint()
    transformer = {
        k.removeprefix("model.diffusion_model."): tuple(t.shape)
        for k, t in checkpoint.items()
        if k.startswith("model.diffusion_model.")
    }
    bundled = _bundled("transformer")
    assert set(z_image_transformer(transformer)) >= {
        "dim",
        "n_heads",
        "n_layers",
        "cap_feat_dim",
        "axes_dims",
    }
    assert z_image_transformer(transformer) == {key: bundled[key] for key in z_image_transformer(transformer)}
    encoder = {
        k.removeprefix("text_encoders.qwen3_4b.transformer.model."): tuple(t.shape)
        for k, t in checkpoint.items()
        if k.startswith("text_encoders.")
    }
    text = _bundled("text_encoder")
    assert set(qwen_text(encoder)) >= {"hidden_size", "num_key_value_heads", "head_dim", "intermediate_size"}
    assert qwen_text(encoder) == {key: text[key] for key in qwen_text(encoder)}
