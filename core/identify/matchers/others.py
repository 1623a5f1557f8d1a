"""The remaining kinds: ControlNet, IP-Adapter, upscalers, CLIP vision and text encoders.

Each is recognised by the few names its loaders look for (InvokeAI ``configs/*.py``, ComfyUI,
spandrel). Adapters take their family from the cross-attention width they feed, like checkpoints.
Upscalers work on pixels and belong to no diffusion family (``other``); image and text encoders are
shared between families (CLIP-L serves SD1, SDXL, SD3 and Flux), so their family is ``unknown`` and the
encoder itself is named in the details instead.
"""

from __future__ import annotations

import math
import re

from core.identify.families import (
    CONTEXT_DIM_FAMILIES,
    UNetFacts,
    diffusers_unet_facts,
    ldm_unet_facts,
    unet_family,
)
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.identify.vocabulary import ENCODERS, users_of_encoder
from core.taxonomy import Architecture, AssetKind, FileFormat

_CLIP_WIDTHS = {768: "clip_l", 1024: "openclip_h", 1280: "openclip_bigg"}
_VISION_WIDTHS = {768: "ViT-B", 1024: "ViT-L/14", 1280: "ViT-H/14", 1664: "ViT-bigG/14"}
_ESRGAN_INDEX = re.compile(r"model\.(\d+)\.weight")
_SHARED = "encoders are shared between families"
# Transformer ControlNets: XLabs (BFL names), InstantX Flux and SD3 (diffusers names); split by width.
_DIT_CONTROL_BLOCKS = ("double_blocks.0.img_attn.proj.weight", "transformer_blocks.0.attn.to_q.weight")
_DIT_CONTROL_FAMILIES = {3072: Architecture.FLUX1, 1536: Architecture.SD3, 2432: Architecture.SD3}
# image_proj layouts: linear (base), resampler (plus), MLP (full face), FaceID.
_IMAGE_PROJ = (
    "image_proj.proj.weight",
    "image_proj.latents",
    "image_proj.proj.0.weight",
    "image_proj.norm.weight",
    "image_proj.perceiver_resampler.proj_in.weight",
)


def match_controlnet(view: HeaderView) -> Match | Refusal:
    # Transformer ControlNets (XLabs also carry an input_hint_block) are recognised first.
    block = view.first_present(_DIT_CONTROL_BLOCKS) if view.has("controlnet_blocks.0.weight") else None
    if block is not None:
        hidden = view.dim(block, 0) or 0
        arch = _DIT_CONTROL_FAMILIES.get(hidden, Architecture.OTHER)
        reasons = (f"controlnet_blocks + transformer blocks of width {hidden} => {arch.value} ControlNet",)
        return Match(AssetKind.CONTROLNET, arch, reasons)
    for prefix in ("control_model.", ""):
        if view.has(prefix + "input_hint_block.0.weight"):
            facts = ldm_unet_facts(view, prefix)
            return _controlnet(facts, f"{prefix}input_hint_block (LDM ControlNet)")
    if view.has("controlnet_cond_embedding.conv_in.weight"):
        facts = diffusers_unet_facts(view, "")
        return _controlnet(facts, "controlnet_cond_embedding (diffusers ControlNet)")
    return Refusal("no control_model./input_hint_block/controlnet_cond_embedding/controlnet_blocks keys")


def _controlnet(facts: UNetFacts | None, what: str) -> Match:
    reasons = [what]
    arch = Architecture.UNKNOWN
    if facts is not None:
        arch, why = unet_family(facts)
        reasons.extend(why)
    else:
        reasons.append("no UNet input block to measure")
    return Match(AssetKind.CONTROLNET, arch, tuple(reasons))


def match_ip_adapter(view: HeaderView) -> Match | Refusal:
    # Exact names only: this matcher runs before the checkpoint matcher, on every large file.
    to_k = view.first_present(f"ip_adapter.{i}.to_k_ip.weight" for i in (1, 0))
    if to_k is not None and view.first_present(_IMAGE_PROJ):
        width = view.dim(to_k, 1)
        reasons = ["image_proj.* + ip_adapter.*.to_k_ip keys"]
        family = CONTEXT_DIM_FAMILIES.get(width or 0)
        if family is Architecture.SDXL_REFINER:
            family = None  # no refiner IP-Adapter exists; 1280 is not a SD family's context here
        if family is not None:
            reasons.append(f"to_k_ip in-features {width} => {family.value}")
        else:
            reasons.append(f"to_k_ip in-features {width}: no known family")
        details = {"image_proj": "resampler" if view.has("image_proj.latents") else "linear"}
        return Match(AssetKind.IP_ADAPTER, family or Architecture.UNKNOWN, tuple(reasons), details=details)
    if view.has("ip_adapter_proj_model.proj.weight") or view.has(
        "double_blocks.0.processor.ip_adapter_double_stream_k_proj.weight"
    ):
        xlabs = ("XLabs Flux IP-Adapter keys (ip_adapter_proj_model / ip_adapter_double_stream_*)",)
        return Match(AssetKind.IP_ADAPTER, Architecture.FLUX1, xlabs)
    return Refusal("no image_proj.* + ip_adapter.*.to_k_ip keys")


def match_upscaler(view: HeaderView) -> Match | Refusal:
    prefix = next((p for p in ("params_ema.", "params.", "") if view.has(p + "conv_first.weight")), None)
    if prefix is not None:
        return _rrdb_like(view, prefix)
    if view.has("model.0.weight") and view.has_prefix("model.1.sub."):
        indices = sorted(
            int(m.group(1)) for n in view.with_prefix("model.") if (m := _ESRGAN_INDEX.fullmatch(n))
        )
        scale = 2 ** max(0, len(indices) - 3)  # conv_first, HR conv and last conv are not upsamplers
        reasons = ("model.0 + model.1.sub.* (RRDB trunk) => ESRGAN, original naming",)
        return Match(
            AssetKind.UPSCALER, Architecture.OTHER, reasons, details={"upscaler": "esrgan", "scale": scale}
        )
    body = [_body_index(name) for name in view.tensors] if view.has("body.0.weight") else []
    if body and None not in body:
        out = view.dim(f"body.{max(i for i in body if i is not None)}.weight", 0) or 0
        scale = math.isqrt(out // 3) if out >= 3 else None
        reasons = ("only body.N.weight/bias convolutions => SRVGGNetCompact (Real-ESRGAN compact)",)
        details = {"upscaler": "srvgg", "scale": scale}
        return Match(AssetKind.UPSCALER, Architecture.OTHER, reasons, details=details)
    return Refusal("no ESRGAN/Real-ESRGAN/SwinIR keys (model.0 + model.1.sub, conv_first, body.N)")


def _body_index(name: str) -> int | None:
    """N of a ``body.N.weight``/``body.N.bias`` name (SRVGGNetCompact's only layout), else None."""
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "body" and parts[1].isascii() and parts[1].isdigit():
        return int(parts[1])
    return None


def _rrdb_like(view: HeaderView, prefix: str) -> Match | Refusal:
    if view.has_prefix(prefix + "body.0.rdb1.") or view.has_prefix(prefix + "RRDB_trunk."):
        ups = sum(1 for i in (1, 2, 3) if view.has(f"{prefix}conv_up{i}.weight"))
        in_channels = view.dim(prefix + "conv_first.weight", 1) or 3
        unshuffle = math.isqrt(max(1, in_channels // 3))  # x2/x1 models pixel-unshuffle their input
        details = {"upscaler": "rrdbnet", "scale": max(1, 2**ups // unshuffle)}
        reasons = (f"{prefix}conv_first + body.N.rdb* => RRDBNet (ESRGAN / Real-ESRGAN)",)
        return Match(AssetKind.UPSCALER, Architecture.OTHER, reasons, details=details)
    if view.has_prefix(prefix + "layers.0.residual_group."):
        reasons = (f"{prefix}conv_first + layers.N.residual_group => SwinIR-family transformer",)
        return Match(AssetKind.UPSCALER, Architecture.OTHER, reasons, details={"upscaler": "swinir"})
    if view.has(prefix + "conv_last.weight"):
        reasons = (f"{prefix}conv_first + conv_last => image restoration network",)
        return Match(AssetKind.UPSCALER, Architecture.OTHER, reasons, details={"upscaler": "generic"})
    return Refusal("conv_first without an RRDB trunk, residual groups or conv_last")


def match_clip_vision(view: HeaderView) -> Match | Refusal:
    patch = view.first_present(
        p + "vision_model.embeddings.patch_embedding.weight" for p in ("", "clip_vision.", "model.")
    )
    if patch is not None:
        width = view.dim(patch, 0) or 0
        what = f"{patch} (HF CLIP/SigLIP vision tower)"
    elif view.has("visual.conv1.weight") and view.has_prefix("visual.transformer.resblocks."):
        width = view.dim("visual.conv1.weight", 0) or 0
        what = "visual.conv1 + visual.transformer (OpenCLIP vision tower)"
    else:
        return Refusal("no vision_model.embeddings.patch_embedding / visual.transformer keys")
    encoder = _VISION_WIDTHS.get(width, f"width {width}")
    reasons = (what, f"width {width} => {encoder}; image {_SHARED}")
    return Match(AssetKind.CLIP_VISION, Architecture.UNKNOWN, reasons, details={"encoder": encoder})


def match_text_encoder(view: HeaderView) -> Match | Refusal:
    found: list[tuple[str, str]] = []
    gguf = _gguf_encoder(view) if view.header.format is FileFormat.GGUF else None
    if gguf is not None:
        found.append(gguf)
    clip = view.find_suffix("text_model.embeddings.token_embedding.weight")
    if clip is not None:
        width = view.dim(clip, 1) or 0
        found.append((_CLIP_WIDTHS.get(width, f"clip_{width}"), f"{clip}: CLIP text encoder, width {width}"))
    t5 = view.find_suffix("encoder.block.0.layer.0.SelfAttention.q.weight")
    if t5 is not None:
        width = view.dim(t5, 1) or 0
        # UMT5 gives every layer its own relative position bias; T5 only the first.
        bias = t5.replace("block.0.", "block.1.").replace(".q.weight", ".relative_attention_bias.weight")
        if view.has(bias):
            name = {4096: "umt5_xxl", 2048: "umt5_xl"}.get(width, f"umt5_{width}")
            found.append((name, f"{t5}: UMT5 encoder (a position bias in every layer), d_model {width}"))
        else:
            name = "t5xxl" if width == 4096 else f"t5_{width}"
            found.append((name, f"{t5}: T5 encoder, d_model {width}"))
    openclip = view.find_suffix("transformer.resblocks.0.attn.in_proj_weight")
    if openclip is not None and not openclip.startswith("visual.") and clip is None:
        width = view.dim(openclip, 1) or 0
        found.append(
            (_CLIP_WIDTHS.get(width, f"openclip_{width}"), f"{openclip}: OpenCLIP text, width {width}")
        )
    llm = _language_model(view)
    if llm is not None:
        found.append(llm)
    if not found:
        return Refusal("no text_model.encoder / T5 encoder.block / OpenCLIP transformer / LLM layers keys")
    scale = view.find_suffix(".scale_weight")
    if scale is not None:  # ComfyUI's *_fp8_e4m3fn_scaled files
        found.append(
            ("", f"{scale}: scaled fp8, each weight stored with its scale (loaded as weight x scale)")
        )
    names = [name for name, _ in found if name]
    order = list(Architecture)
    users = sorted({arch for name in names for arch in users_of_encoder(name)}, key=order.index)
    details: dict[str, object] = {"encoders": names, "encoder": names[0]}
    if users:
        details["used_by"] = [arch.value for arch in users]
    if len(users) == 1:
        only = f"only {users[0].value} uses {names[0]} => {users[0].value}"
        return Match(AssetKind.TEXT_ENCODER, users[0], (*(why for _, why in found), only), details=details)
    used = f" (used by {', '.join(arch.value for arch in users)})" if users else ""
    reasons = (*(why for _, why in found), f"text {_SHARED}{used}")
    return Match(AssetKind.TEXT_ENCODER, Architecture.UNKNOWN, reasons, details=details)


# llama.cpp's ``general.architecture`` of the networks stored as GGUF text encoders (city96's
# ``t5-v1_1-xxl-encoder-Q8_0.gguf`` and ``umt5-xxl-encoder``, the Qwen, Llama and Gemma GGUFs ComfyUI-GGUF
# loads as encoders) -> the network kind of ``vocabulary.ENCODERS``.
_GGUF_ARCHITECTURES = {
    "t5encoder": "t5",
    "t5": "t5",
    "umt5": "umt5",
    "qwen2": "qwen2",
    "qwen2vl": "qwen2",
    "qwen3": "qwen3",
    "qwen3vl": "qwen3_vl",
    "llama": "llama",
    "gemma": "gemma",
    "gemma2": "gemma",
    "gemma3": "gemma",
}
# llama.cpp's names of the first layer's query projection: T5's encoder blocks, a decoder-only LLM's blocks.
_GGUF_FIRST_LAYER = ("enc.blk.0.attn_q.weight", "blk.0.attn_q.weight")


def _gguf_encoder(view: HeaderView) -> tuple[str, str] | None:
    """(encoder id, reason) of a text encoder stored as GGUF in llama.cpp's names, else None.

    ``general.architecture`` names the network, ``token_embd`` holds its vocabulary and width, and the
    layers confirm it: ``enc.blk.N`` for T5 (UMT5 gives every block its own position bias,
    ``enc.blk.1.attn_rel_b``), ``blk.N`` for a decoder-only LLM.
    """
    arch = view.metadata.get("general.architecture", "")
    family = _GGUF_ARCHITECTURES.get(arch)
    layer = view.first_present(_GGUF_FIRST_LAYER)
    shape = view.shape("token_embd.weight")
    if family is None or layer is None or not shape or len(shape) != 2:
        return None
    vocab, width = shape
    if family == "t5" and view.has("enc.blk.1.attn_rel_b.weight"):
        family = "umt5"
    if family == "llama" and vocab == _MISTRAL_VOCAB:
        family = "mistral"
    rows = [row for row in ENCODERS if row.family == family and row.width == width]
    encoder = rows[0].id if rows else f"{family}_{width}"
    what = rows[0].name if rows else f"a {family} model of width {width}"
    return encoder, (
        f"GGUF general.architecture={arch}, token_embd + {layer.partition('0.')[0]}N (llama.cpp names): "
        f"width {width}, vocabulary {vocab} => {what} text encoder"
    )


# Where a decoder-only LLM's layers sit: bare, under model., or inside a vision-language wrapper.
_LLM_PREFIXES = ("model.", "", "model.language_model.", "language_model.model.")
_MISTRAL_VOCAB = 131072


def _language_model(view: HeaderView) -> tuple[str, str] | None:
    """(encoder id, reason) of a decoder-only LLM stored as a text encoder (Qwen, Gemma, Llama, Mistral).

    The kind of network shows in its layers: Gemma has pre-feed-forward norms, Qwen3 normalises q
    (``q_norm``), Qwen2 gives q_proj a bias, Llama and Mistral have none of these (their vocabularies
    differ: 128256 vs 131072). The width then names the model (``vocabulary.ENCODERS``).
    """
    prefix = next((p for p in _LLM_PREFIXES if view.has(p + "embed_tokens.weight")), None)
    if prefix is None or not view.has_prefix(prefix + "layers.0."):
        return None
    shape = view.shape(prefix + "embed_tokens.weight") or (0, 0)
    vocab, width = shape[0], shape[-1]
    layer = prefix + "layers.0."
    if view.has(layer + "pre_feedforward_layernorm.weight"):
        family = "gemma"
    elif view.has(layer + "self_attn.q_norm.weight"):
        family = "qwen3_vl" if view.has_prefix("visual.") or view.has_prefix("model.visual.") else "qwen3"
    elif view.has(layer + "self_attn.q_proj.bias"):
        family = "qwen2"
    else:
        family = "mistral" if vocab == _MISTRAL_VOCAB else "llama"
    rows = [row for row in ENCODERS if row.family == family and row.width == width]
    encoder = rows[0].id if rows else f"{family}_{width}"
    what = rows[0].name if rows else f"a {family} model"
    return (
        encoder,
        f"{prefix}embed_tokens + layers: decoder-only LLM, hidden {width}, vocabulary {vocab} => {what}",
    )
