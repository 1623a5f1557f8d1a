"""Tiny but structurally real diffusers pipelines (SD1 and SDXL shapes) with seeded random weights.

Renderer tests need models whose outputs *change* when an adapter is applied, so zero-filled real-size
files are not enough; these pipelines have the real component classes and block structure (cross
attention in the same places as SD1/SDXL, the real CLIP vocabulary derived offline) at widths of 32-64,
so a 64x64 render with 2 steps takes well under a second on a CPU.

``tiny_sd1_folder``/``tiny_sdxl_folder`` save the pipeline as a diffusers folder (what the engine loads as
a "diffusers checkpoint") and return it; the build is deterministic for a given ``seed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.tokenizer import ensure_tokenizers

SD1_CONTEXT = 32  # cross-attention width (the text encoder's hidden size)
SD1_WIDTHS = (32, 64)  # UNet attention widths, the sizes a hypernetwork for the tiny SD1 needs
SDXL_CONTEXT = 64  # 32 (CLIP-L stand-in) + 32 (CLIP-G stand-in)


def _text_config(projection: bool = False) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=5,
        vocab_size=49408,
        max_position_embeddings=77,
        projection_dim=32,
        hidden_act="gelu" if projection else "quick_gelu",
    )


def _tokenizer(cache_dir: Path, folder: str = "sd1", sub: str = "tokenizer") -> Any:
    from transformers import CLIPTokenizer

    root = ensure_tokenizers(RESOURCES_CONFIG_ROOT, cache_dir)
    return CLIPTokenizer.from_pretrained(str(root / folder / sub), local_files_only=True)


def _vae() -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
    )


def _perturb(*modules: Any, seed: int) -> None:
    """Random init leaves some layers zero (diffusers zero-inits conv_out/proj_out); make all weights live."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in modules:
            for name, parameter in module.named_parameters():
                if parameter.abs().sum() == 0 and "norm" not in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


def tiny_sd1_pipeline(cache_dir: Path, seed: int = 0) -> Any:
    """An SD1-shaped ``StableDiffusionPipeline``: CLIP text encoder, cross-attention UNet, KL VAE."""
    import torch
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=SD1_CONTEXT,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = _vae()
    text_encoder = CLIPTextModel(_text_config())
    _perturb(unet, vae, text_encoder, seed=seed + 1)
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,  # as in SD1's own scheduler config (diffusers warns about anything else)
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(cache_dir),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_sdxl_pipeline(cache_dir: Path, seed: int = 0) -> Any:
    """An SDXL-shaped ``StableDiffusionXLPipeline``: two text encoders, text-time conditioning."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 * 8 + 32
        cross_attention_dim=SDXL_CONTEXT,
        norm_num_groups=1,
    )
    vae = _vae()
    text_encoder = CLIPTextModel(_text_config())
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(projection=True))
    _perturb(unet, vae, text_encoder, text_encoder_2, seed=seed + 1)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        timestep_spacing="leading",
        steps_offset=1,
    )
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=_tokenizer(cache_dir, "sdxl", "tokenizer"),
        tokenizer_2=_tokenizer(cache_dir, "sdxl", "tokenizer_2"),
        unet=unet,
        scheduler=scheduler,
    )


def save_folder(pipe: Any, folder: Path) -> Path:
    """Save ``pipe`` as a diffusers folder (safetensors) and return the folder."""
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def tiny_sd1_folder(folder: Path, cache_dir: Path, seed: int = 0) -> Path:
    return save_folder(tiny_sd1_pipeline(cache_dir, seed), folder)


def tiny_sdxl_folder(folder: Path, cache_dir: Path, seed: int = 0) -> Path:
    return save_folder(tiny_sdxl_pipeline(cache_dir, seed), folder)
