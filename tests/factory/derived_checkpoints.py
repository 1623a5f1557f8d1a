"""Checkpoints built on another family's layout, and checkpoints whose linears bitsandbytes packed.

* Stable Video Diffusion (``svd.safetensors`` / ``svd_xt.safetensors``): SD's UNet in LDM names with the
  SD 2 widths (cross-attention on a 1024-wide CLIP ViT-H image embedding, linear ``proj_in``), 8 input
  channels (the noisy latent and the conditioning frame's), a 768-wide vector conditioning (fps, motion
  bucket, noise augmentation) and temporal layers beside each block: ``time_stack`` (attention and
  resblocks) and ``time_mixer.mix_factor`` (generative-models ``VideoUNet``; the names diffusers'
  ``infer_diffusers_model_type`` reads for "svd"). The image encoder sits under
  ``conditioner.embedders.0.open_clip.model.visual``.
* Kolors: an SDXL UNet in diffusers names whose 2048-wide cross-attention reads ChatGLM3's 4096-wide
  states through ``encoder_hid_proj`` (Linear 4096 -> 2048), with a 5632-wide ``add_embedding`` (ChatGLM's
  pooled 4096 + SDXL's 1536 of sizes) — Kwai-Kolors ``unet/config.json`` and ComfyUI's Kolors config.
* bitsandbytes 4-bit (Forge's ``flux1-dev-bnb-nf4-v2.safetensors``): every 2-D linear weight of the
  denoiser stored as U8 ``[elements / 2, 1]`` with ``.absmax``, ``.quant_map`` and
  ``.quant_state.bitsandbytes__nf4`` (or ``__fp4``) beside it; biases, norms and convolutions unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.factory.keyspaces import keyspace
from tests.factory.models import ModelCase, Specs
from tests.factory.safetensors_writer import TensorSpec

_UNET = "model.diffusion_model."
# The transformer blocks of SD's UNet (LDM names): where SVD adds a temporal transformer beside each.
_SD_ATTENTIONS = (
    "input_blocks.1.1",
    "input_blocks.2.1",
    "input_blocks.4.1",
    "input_blocks.5.1",
    "input_blocks.7.1",
    "input_blocks.8.1",
    "middle_block.1",
)


def _sd2_width(name: str, spec: TensorSpec) -> TensorSpec:
    """SD1's UNet tensor with SD 2's shapes: 1024-wide cross-attention context, linear proj_in/out."""
    dtype, shape = spec
    if "attn2.to_k.weight" in name or "attn2.to_v.weight" in name:
        return dtype, (shape[0], 1024)
    if name.endswith(("proj_in.weight", "proj_out.weight")):
        return dtype, shape[:2]
    return spec


def svd_checkpoint(name: str = "svd_xt") -> ModelCase:
    """Stable Video Diffusion (img2vid / img2vid-xt: one layout) as Stability released it."""
    specs: Specs = {
        key: _sd2_width(key, spec)
        for key, spec in keyspace("sd1-ldm", components=("vae", "diffuser"), dtype="F16").items()
    }
    specs[_UNET + "input_blocks.0.0.weight"] = ("F16", (320, 8, 3, 3))
    specs[_UNET + "label_emb.0.0.weight"] = ("F16", (1280, 768))
    specs[_UNET + "label_emb.0.0.bias"] = ("F16", (1280,))
    for block in _SD_ATTENTIONS:
        width = specs[f"{_UNET}{block}.transformer_blocks.0.attn1.to_q.weight"][1][0]
        stack = f"{_UNET}{block}.time_stack.0."
        for attn in ("attn1", "attn2"):
            specs[f"{stack}{attn}.to_q.weight"] = ("F16", (width, width))
            specs[f"{stack}{attn}.to_k.weight"] = ("F16", (width, width if attn == "attn1" else 1024))
        specs[f"{_UNET}{block}.time_mixer.mix_factor"] = ("F16", (1,))
        specs[f"{_UNET}{block}.time_pos_embed.0.weight"] = ("F16", (width * 4, width))
    specs[_UNET + "input_blocks.1.0.time_stack.in_layers.2.weight"] = ("F16", (320, 320, 3, 1, 1))
    specs[_UNET + "input_blocks.1.0.time_mixer.mix_factor"] = ("F16", (1,))
    visual = "conditioner.embedders.0.open_clip.model.visual."
    specs[visual + "proj"] = ("F16", (1280, 1024))
    specs[visual + "conv1.weight"] = ("F16", (1280, 3, 14, 14))
    return ModelCase(name, specs)


def kolors_unet() -> ModelCase:
    """Kolors' UNet as Kwai-Kolors ships it (``unet/diffusion_pytorch_model.fp16.safetensors``)."""
    specs = dict(keyspace("sdxl-diffusers_unet_only", dtype="F16"))
    specs["encoder_hid_proj.weight"] = ("F16", (2048, 4096))
    specs["encoder_hid_proj.bias"] = ("F16", (2048,))
    specs["add_embedding.linear_1.weight"] = ("F16", (1280, 5632))
    return ModelCase("kolors_unet_fp16", specs)


def bnb_4bit(case: ModelCase, prefix: str = _UNET, *, fmt: str = "nf4") -> ModelCase:
    """``case`` with every 2-D linear weight under ``prefix`` packed as bitsandbytes 4-bit (``nf4``/``fp4``),
    as Forge saves it: only the header changes, no tensor's bytes are needed to read the file."""
    specs: dict[str, TensorSpec] = {}
    for name, (dtype, shape) in case.specs.items():
        if name.startswith(prefix) and name.endswith(".weight") and len(shape) == 2:
            elements = shape[0] * shape[1]
            specs[name] = ("U8", (elements // 2, 1))
            specs[name + ".absmax"] = ("F32", (elements // 64,))
            specs[name + ".quant_map"] = ("F32", (16,))
            specs[f"{name}.quant_state.bitsandbytes__{fmt}"] = ("U8", (116,))
        else:
            specs[name] = (dtype, shape)
    return ModelCase(f"{case.name}-bnb-{fmt}", specs, metadata=case.metadata)


def without(specs: Mapping[str, TensorSpec], prefix: str) -> Specs:
    """``specs`` less every tensor under ``prefix`` (a Flux.1 schnell is a dev without ``guidance_in``)."""
    return {name: spec for name, spec in specs.items() if not name.startswith(prefix)}
