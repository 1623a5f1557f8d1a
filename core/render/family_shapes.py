"""Component configs read off tensor shapes, so a file loads whatever its width and depth.

The bundled configs describe the reference models (Flux.1 with 19 + 38 blocks, T5-XXL...). A fine-tune
that prunes blocks (Flux "lite" models), a text encoder of another size, or the tiny models of the
tests differ in depth or width only; each function here reads those numbers from the shapes of the
file's tensors (original/ComfyUI names or diffusers names) and returns the config entries to override.
Every other entry keeps the bundled value.

Shapes only: this module never imports torch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Shapes = Mapping[str, Sequence[int]]


def _count(shapes: Shapes, pattern: str) -> int:
    """How many distinct block indices ``pattern`` (with one ``(\\d+)`` group) matches."""
    compiled = re.compile(pattern)
    found = {int(match.group(1)) for name in shapes if (match := compiled.match(name))}
    return max(found) + 1 if found else 0


def _first(shapes: Shapes, *names: str) -> Sequence[int] | None:
    for name in names:
        if name in shapes:
            return shapes[name]
    return None


def _rope_axes(head_dim: int) -> list[int]:
    """Flux's rotary axes (16, 56, 56) for 128-wide heads, scaled to other widths."""
    if head_dim == 128:
        return [16, 56, 56]
    side = (head_dim * 7 // 16) // 2 * 2
    return [head_dim - 2 * side, side, side]


def flux_transformer(shapes: Shapes) -> dict[str, Any]:
    """FluxTransformer2DModel / ChromaTransformer2DModel entries (BFL or diffusers names)."""
    image_in = _first(shapes, "img_in.weight", "x_embedder.weight")
    text_in = _first(shapes, "txt_in.weight", "context_embedder.weight")
    head = _first(
        shapes,
        "double_blocks.0.img_attn.norm.query_norm.scale",
        "transformer_blocks.0.attn.norm_q.weight",
    )
    if image_in is None or text_in is None or head is None:
        return {}
    inner, head_dim = int(image_in[0]), int(head[0])
    config: dict[str, Any] = {
        "in_channels": int(image_in[1]),
        "joint_attention_dim": int(text_in[1]),
        "attention_head_dim": head_dim,
        "num_attention_heads": inner // head_dim,
        "num_layers": _count(shapes, r"(?:double_blocks|transformer_blocks)\.(\d+)\."),
        "num_single_layers": _count(shapes, r"(?:single_blocks|single_transformer_blocks)\.(\d+)\."),
        "axes_dims_rope": _rope_axes(head_dim),
    }
    pooled = _first(shapes, "vector_in.in_layer.weight", "time_text_embed.text_embedder.linear_1.weight")
    if pooled is not None:
        config["pooled_projection_dim"] = int(pooled[1])
        config["guidance_embeds"] = any(
            "guidance_in." in name or "guidance_embedder." in name for name in shapes
        )
    approximator = _first(shapes, "distilled_guidance_layer.in_proj.weight")
    if approximator is not None:
        config["approximator_num_channels"] = int(approximator[1])
        config["approximator_hidden_dim"] = int(approximator[0])
        config["approximator_layers"] = _count(shapes, r"distilled_guidance_layer\.layers\.(\d+)\.")
    return config


def sd3_transformer(shapes: Shapes) -> dict[str, Any]:
    """SD3Transformer2DModel entries from MMDiT (ComfyUI) or diffusers names."""
    patch = _first(shapes, "x_embedder.proj.weight", "pos_embed.proj.weight")
    context = _first(shapes, "context_embedder.weight")
    pooled = _first(shapes, "y_embedder.mlp.0.weight", "time_text_embed.text_embedder.linear_1.weight")
    if patch is None or context is None or pooled is None:
        return {}
    hidden = int(patch[0])
    head = _first(
        shapes, "joint_blocks.0.x_block.attn.ln_q.weight", "transformer_blocks.0.attn.norm_q.weight"
    )
    head_dim = int(head[0]) if head is not None else 64
    layers = _count(shapes, r"(?:joint_blocks|transformer_blocks)\.(\d+)\.")
    dual_pattern = re.compile(r"(?:joint_blocks\.(\d+)\.x_block\.attn2|transformer_blocks\.(\d+)\.attn2)\.")
    dual = sorted(
        {int(match.group(1) or match.group(2)) for name in shapes if (match := dual_pattern.match(name))}
    )
    positions = _first(shapes, "pos_embed", "pos_embed.pos_embed")
    config: dict[str, Any] = {
        "in_channels": int(patch[1]),
        "patch_size": int(patch[2]),
        "attention_head_dim": head_dim,
        "num_attention_heads": hidden // head_dim,
        "num_layers": layers,
        "joint_attention_dim": int(context[1]),
        "caption_projection_dim": hidden,
        "pooled_projection_dim": int(pooled[1]),
        "qk_norm": "rms_norm" if head is not None else None,
        "dual_attention_layers": tuple(dual),
    }
    final = _first(shapes, "final_layer.linear.weight", "proj_out.weight")
    if final is not None:
        config["out_channels"] = int(final[0]) // (int(patch[2]) ** 2)
    if positions is not None:
        side = round(int(positions[1]) ** 0.5)
        config["pos_embed_max_size"] = side
    return config


def autoencoder(shapes: Shapes) -> dict[str, Any]:
    """AutoencoderKL entries from ldm (``encoder.down.0.block.0``) or diffusers names."""
    ldm = "encoder.conv_in.weight" in shapes and any(name.startswith("encoder.down.") for name in shapes)
    if ldm:
        levels = _count(shapes, r"encoder\.down\.(\d+)\.")
        widths = [int(shapes[f"encoder.down.{i}.block.0.conv1.weight"][0]) for i in range(levels)]
        per_block = _count(shapes, r"encoder\.down\.0\.block\.(\d+)\.")
    else:
        levels = _count(shapes, r"encoder\.down_blocks\.(\d+)\.")
        key = "encoder.down_blocks.{}.resnets.0.conv1.weight"
        if not levels or key.format(0) not in shapes:
            return {}
        widths = [int(shapes[key.format(i)][0]) for i in range(levels)]
        per_block = _count(shapes, r"encoder\.down_blocks\.0\.resnets\.(\d+)\.")
    decoder_in = _first(shapes, "decoder.conv_in.weight")
    config: dict[str, Any] = {
        "block_out_channels": widths,
        "down_block_types": ["DownEncoderBlock2D"] * levels,
        "up_block_types": ["UpDecoderBlock2D"] * levels,
        "layers_per_block": per_block,
        "use_quant_conv": "quant_conv.weight" in shapes,
        "use_post_quant_conv": "post_quant_conv.weight" in shapes,
    }
    if decoder_in is not None:
        config["latent_channels"] = int(decoder_in[1])
    return config


def _strip(name: str) -> str:
    return name.removeprefix("text_model.")


def clip_text(shapes: Shapes) -> dict[str, Any]:
    """CLIPTextConfig entries; heads follow CLIP's 64-wide convention (what every released size uses)."""
    stripped = {_strip(name): shape for name, shape in shapes.items()}
    tokens = _first(stripped, "embeddings.token_embedding.weight")
    if tokens is None:
        return {}
    hidden = int(tokens[1])
    config: dict[str, Any] = {
        "vocab_size": int(tokens[0]),
        "hidden_size": hidden,
        "num_attention_heads": max(1, hidden // 64),
        "num_hidden_layers": _count(stripped, r"encoder\.layers\.(\d+)\."),
    }
    positions = _first(stripped, "embeddings.position_embedding.weight")
    if positions is not None:
        config["max_position_embeddings"] = int(positions[0])
    mlp = _first(stripped, "encoder.layers.0.mlp.fc1.weight")
    if mlp is not None:
        config["intermediate_size"] = int(mlp[0])
    projection = _first(stripped, "text_projection.weight")
    config["projection_dim"] = int(projection[0]) if projection is not None else hidden
    return config


def t5_encoder(shapes: Shapes) -> dict[str, Any]:
    """T5Config entries (heads from the relative attention bias, which has one column per head)."""
    shared = _first(shapes, "shared.weight", "encoder.embed_tokens.weight")
    bias = _first(shapes, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")
    query = _first(shapes, "encoder.block.0.layer.0.SelfAttention.q.weight")
    if shared is None or bias is None or query is None:
        return {}
    heads = int(bias[1])
    config: dict[str, Any] = {
        "vocab_size": int(shared[0]),
        "d_model": int(shared[1]),
        "num_heads": heads,
        "d_kv": int(query[0]) // heads,
        "relative_attention_num_buckets": int(bias[0]),
        "num_layers": _count(shapes, r"encoder\.block\.(\d+)\."),
    }
    feed = _first(shapes, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight")
    if feed is not None:
        config["d_ff"] = int(feed[0])
    return config


def z_image_transformer(shapes: Shapes) -> dict[str, Any]:
    """ZImageTransformer2DModel entries from ComfyUI (``x_embedder``, fused ``qkv``) or diffusers names.

    Heads are ``dim / head_dim`` (the q-norm is one head wide); the rotary axes keep Z-Image's split of
    the head width (32, 48, 48 of 128) scaled to other widths.
    """
    image_in = _first(shapes, "x_embedder.weight", "all_x_embedder.2-1.weight")
    caption = _first(shapes, "cap_embedder.1.weight")
    head = _first(shapes, "layers.0.attention.q_norm.weight", "layers.0.attention.norm_q.weight")
    if image_in is None or caption is None or head is None:
        return {}
    dim, head_dim = int(image_in[0]), int(head[0])
    side = head_dim * 3 // 8 // 2 * 2
    return {
        "dim": dim,
        "in_channels": int(image_in[1]) // 4,  # a 2x2 patch of the latent channels
        "cap_feat_dim": int(caption[1]),
        "n_heads": dim // head_dim,
        "n_kv_heads": dim // head_dim,
        "n_layers": _count(shapes, r"layers\.(\d+)\."),
        "n_refiner_layers": _count(shapes, r"noise_refiner\.(\d+)\."),
        "axes_dims": [head_dim - 2 * side, side, side],
    }


def qwen_text(shapes: Shapes) -> dict[str, Any]:
    """Qwen3 config entries (Z-Image's text encoder); a Qwen3 carries per-head q/k norms, Qwen2 does not."""
    tokens = _first(shapes, "embed_tokens.weight")
    head = _first(shapes, "layers.0.self_attn.q_norm.weight")
    query = _first(shapes, "layers.0.self_attn.q_proj.weight")
    key = _first(shapes, "layers.0.self_attn.k_proj.weight")
    if tokens is None or head is None or query is None or key is None:
        return {}
    head_dim = int(head[0])
    config: dict[str, Any] = {
        "vocab_size": int(tokens[0]),
        "hidden_size": int(tokens[1]),
        "head_dim": head_dim,
        "num_attention_heads": int(query[0]) // head_dim,
        "num_key_value_heads": int(key[0]) // head_dim,
        "num_hidden_layers": _count(shapes, r"layers\.(\d+)\."),
    }
    config["max_window_layers"] = config["num_hidden_layers"]
    feed = _first(shapes, "layers.0.mlp.gate_proj.weight")
    if feed is not None:
        config["intermediate_size"] = int(feed[0])
    return config


def qwen_image_transformer(shapes: Shapes) -> dict[str, Any]:
    """QwenImageTransformer2DModel entries (ComfyUI's file stores diffusers' names, prefixed)."""
    image_in = _first(shapes, "img_in.weight")
    text_in = _first(shapes, "txt_in.weight")
    head = _first(shapes, "transformer_blocks.0.attn.norm_q.weight")
    if image_in is None or text_in is None or head is None:
        return {}
    inner, head_dim = int(image_in[0]), int(head[0])
    config: dict[str, Any] = {
        "in_channels": int(image_in[1]),
        "joint_attention_dim": int(text_in[1]),
        "attention_head_dim": head_dim,
        "num_attention_heads": inner // head_dim,
        "num_layers": _count(shapes, r"transformer_blocks\.(\d+)\."),
        "axes_dims_rope": _rope_axes(head_dim),
    }
    final = _first(shapes, "proj_out.weight")
    if final is not None:
        config["out_channels"] = int(final[0]) // 4  # a 2x2 patch of the latent channels
    return config


def qwen_vl_text(shapes: Shapes) -> dict[str, Any]:
    """Qwen2.5-VL entries (Qwen-Image's encoder), nested as its config is: ``text_config`` from the
    language model (names without ``model.``/``language_model.``), ``vision_config`` from ``visual.*``.

    Qwen2 has biased q/k/v projections and no q/k norms (which tells it from Qwen3); every released
    Qwen2.5 size uses 128-wide heads, and the vision tower 80-wide ones.
    """
    tokens = _first(shapes, "embed_tokens.weight")
    query = _first(shapes, "layers.0.self_attn.q_proj.weight")
    key = _first(shapes, "layers.0.self_attn.k_proj.weight")
    if tokens is None or query is None or key is None or "layers.0.self_attn.q_proj.bias" not in shapes:
        return {}
    if "layers.0.self_attn.q_norm.weight" in shapes:
        return {}
    text: dict[str, Any] = {
        "vocab_size": int(tokens[0]),
        "hidden_size": int(tokens[1]),
        "num_attention_heads": int(query[0]) // 128,
        "num_key_value_heads": int(key[0]) // 128,
        "num_hidden_layers": _count(shapes, r"layers\.(\d+)\."),
    }
    text["max_window_layers"] = text["num_hidden_layers"]
    text["layer_types"] = ["full_attention"] * text["num_hidden_layers"]
    feed = _first(shapes, "layers.0.mlp.gate_proj.weight")
    if feed is not None:
        text["intermediate_size"] = int(feed[0])
    config: dict[str, Any] = {"text_config": text}
    patch = _first(shapes, "visual.patch_embed.proj.weight")
    if patch is not None:
        vision: dict[str, Any] = {
            "hidden_size": int(patch[0]),
            "num_heads": max(1, int(patch[0]) // 80),
            "depth": _count(shapes, r"visual\.blocks\.(\d+)\."),
        }
        vision_feed = _first(shapes, "visual.blocks.0.mlp.gate_proj.weight")
        if vision_feed is not None:
            vision["intermediate_size"] = int(vision_feed[0])
        merged = _first(shapes, "visual.merger.mlp.2.weight")
        if merged is not None:
            vision["out_hidden_size"] = int(merged[0])
        config["vision_config"] = vision
    return config


def qwen_image_vae(shapes: Shapes) -> dict[str, Any]:
    """AutoencoderKLQwenImage entries from diffusers names (a Wan-style file is converted first):
    the base width, the latent channels and the residual blocks per level (4 levels, 3 downsamples)."""
    first = _first(shapes, "encoder.conv_in.weight")
    latent = _first(shapes, "decoder.conv_in.weight")
    if first is None or latent is None:
        return {}
    blocks = _count(shapes, r"encoder\.down_blocks\.(\d+)\.")
    return {"base_dim": int(first[0]), "z_dim": int(latent[1]), "num_res_blocks": max(1, (blocks - 3) // 4)}


TRANSFORMER_SHAPES = {
    "FluxTransformer2DModel": flux_transformer,
    "ChromaTransformer2DModel": flux_transformer,
    "SD3Transformer2DModel": sd3_transformer,
    "ZImageTransformer2DModel": z_image_transformer,
    "QwenImageTransformer2DModel": qwen_image_transformer,
}
ENCODER_SHAPES = {"clip": clip_text, "t5": t5_encoder, "qwen3": qwen_text, "qwen2_5_vl": qwen_vl_text}


def encoder_width(kind: str, shapes: Shapes) -> int:
    """The hidden width of a text encoder's tensors (orders CLIP-L before CLIP-G); 0 when unknown."""
    config = ENCODER_SHAPES[kind](shapes)
    config = config.get("text_config", config)
    return int(config.get("hidden_size") or config.get("d_model") or 0)
