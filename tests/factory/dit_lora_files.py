"""Tiny DiT pipelines (Flux.1, Chroma, SD3.5, Qwen-Image, Z-Image) and LoRA files for them in the
key layouts trainers write.

A LoRA is described once as :class:`FusedLayer` entries: a layer in the family's ORIGINAL naming
(``double_blocks.0.img_attn.qkv``), the diffusers modules it covers as row ranges of its output
(``attn.to_q`` = rows 0..h) and its factors. Each dialect writer (:func:`kohya`, :func:`comfy`,
:func:`diffusers_peft`, :func:`xlabs`, :func:`onetrainer` ...) spells the same factors its own way;
diffusers-named dialects write one entry per split module, with the fused ``up``'s rows and the
alpha/rank scale folded in, as diffusers' converters do. :func:`expected_deltas` computes what each
diffusers module must gain, from the fused product alone (rows cut out, halves swapped for the final
modulation), independently of the code under test.

The pipelines are real diffusers pipelines whose other components are None (a LoRA only touches the
transformer and text encoders), so diffusers' own ``load_lora_weights`` + ``fuse_lora`` can be run on
a copy of the same weights for a cross-check.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

H = 32  # hidden width of every tiny transformer here (Qwen-Image: 48)


@dataclass
class Target:
    """A diffusers module a fused layer covers: ``rows`` of the fused output (None: all of them)."""

    path: str
    rows: tuple[int, int] | None = None


@dataclass
class FusedLayer:
    original: str  # the family's original module name (dotted)
    targets: list[Target]
    in_features: int
    out_features: int
    swap: bool = False  # (shift, scale) stored where diffusers wants (scale, shift)
    factors: dict[str, torch.Tensor] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ pipelines


def _clip(projection: bool = False, seed: int = 0) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=1000,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        projection_dim=32,
        max_position_embeddings=77,
    )
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config).eval()


def _t5(seed: int = 0) -> Any:
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    config = T5Config(vocab_size=1000, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4)
    return T5EncoderModel(config).eval()


def tiny_flux_pipeline(seed: int = 0) -> Any:
    """Flux.1 dev layout (guidance embedder) with a tiny CLIP-L and T5."""
    from diffusers import FluxPipeline, FluxTransformer2DModel

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=4,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            axes_dims_rope=[4, 4, 8],
            guidance_embeds=True,
        )
    return FluxPipeline(
        scheduler=None,
        vae=None,
        text_encoder=_clip(seed=seed),
        tokenizer=None,
        text_encoder_2=_t5(seed),
        tokenizer_2=None,
        transformer=transformer.eval(),
    )


def tiny_chroma_pipeline(seed: int = 0) -> Any:
    from diffusers import ChromaPipeline, ChromaTransformer2DModel

    torch.manual_seed(seed)
    with warnings.catch_warnings():  # diffusers' own FluxPosEmbed deprecation, raised inside Chroma
        warnings.simplefilter("ignore", FutureWarning)
        transformer = ChromaTransformer2DModel(
            patch_size=1,
            in_channels=4,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            axes_dims_rope=[4, 4, 8],
            approximator_num_channels=8,
            approximator_hidden_dim=32,
            approximator_layers=1,
        )
    return ChromaPipeline(
        scheduler=None, vae=None, text_encoder=_t5(seed), tokenizer=None, transformer=transformer.eval()
    )


def tiny_sd3_pipeline(seed: int = 0) -> Any:
    """SD3.5 medium layout: MMDiT-X second attention in block 0, qk-norm; CLIP-L, CLIP-G, T5."""
    from diffusers import SD3Transformer2DModel, StableDiffusion3Pipeline

    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=32,
        patch_size=1,
        in_channels=4,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=32,
        caption_projection_dim=32,
        pooled_projection_dim=64,
        out_channels=4,
        dual_attention_layers=(0,),
        qk_norm="rms_norm",
    )
    return StableDiffusion3Pipeline(
        transformer=transformer.eval(),
        scheduler=None,
        vae=None,
        text_encoder=_clip(True, seed),
        tokenizer=None,
        text_encoder_2=_clip(True, seed + 1),
        tokenizer_2=None,
        text_encoder_3=_t5(seed),
        tokenizer_3=None,
    )


def tiny_qwen_pipeline(seed: int = 0) -> Any:
    from diffusers import QwenImagePipeline, QwenImageTransformer2DModel

    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=16,
        axes_dims_rope=(8, 4, 4),
    )
    return QwenImagePipeline(
        scheduler=None, vae=None, text_encoder=None, tokenizer=None, transformer=transformer
    )


def tiny_zimage_pipeline(seed: int = 0) -> Any:
    from diffusers import ZImagePipeline, ZImageTransformer2DModel

    torch.manual_seed(seed)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        cap_feat_dim=16,
        axes_dims=[8, 4, 4],
        axes_lens=[256, 32, 32],
    )
    return ZImagePipeline(
        scheduler=None, vae=None, text_encoder=None, tokenizer=None, transformer=transformer
    )


PIPELINES: dict[str, Callable[[], Any]] = {
    "flux": tiny_flux_pipeline,
    "chroma": tiny_chroma_pipeline,
    "sd3": tiny_sd3_pipeline,
    "qwen": tiny_qwen_pipeline,
    "zimage": tiny_zimage_pipeline,
}


def clone(pipe: Any) -> Any:
    return copy.deepcopy(pipe)


# ------------------------------------------------------------------------------------------- layouts


def _qkv(head: str, names: tuple[str, str, str], width: int = H) -> list[Target]:
    return [Target(f"{head}.{name}", (i * width, (i + 1) * width)) for i, name in enumerate(names)]


QKV = ("attn.to_q", "attn.to_k", "attn.to_v")
ADD_QKV = ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj")


def flux_layers(chroma: bool = False, hidden: int = H, text_width: int = 32) -> list[FusedLayer]:
    """Layers of a Flux.1 LoRA in BFL naming (Chroma: no modulation linears, an approximator) for a
    transformer ``hidden`` wide whose text input is ``text_width`` wide."""
    H = hidden  # noqa: N806 - the width every shape below is written in
    d, s = "transformer_blocks.0", "single_transformer_blocks.0"
    layers = [
        FusedLayer("double_blocks.0.img_attn.qkv", _qkv(d, QKV, H), H, 3 * H),
        FusedLayer("double_blocks.0.txt_attn.qkv", _qkv(d, ADD_QKV, H), H, 3 * H),
        FusedLayer("double_blocks.0.img_attn.proj", [Target(f"{d}.attn.to_out.0")], H, H),
        FusedLayer("double_blocks.0.txt_attn.proj", [Target(f"{d}.attn.to_add_out")], H, H),
        FusedLayer("double_blocks.0.img_mlp.0", [Target(f"{d}.ff.net.0.proj")], H, 4 * H),
        FusedLayer("double_blocks.0.txt_mlp.2", [Target(f"{d}.ff_context.net.2")], 4 * H, H),
        FusedLayer(
            "single_blocks.0.linear1",
            [*_qkv(s, QKV, H), Target(f"{s}.proj_mlp", (3 * H, 7 * H))],
            H,
            7 * H,
        ),
        FusedLayer("single_blocks.0.linear2", [Target(f"{s}.proj_out")], 5 * H, H),
        FusedLayer("txt_in", [Target("context_embedder")], text_width, H),
    ]
    if chroma:
        layers.append(
            FusedLayer(
                "distilled_guidance_layer.layers.0.in_layer",
                [Target("distilled_guidance_layer.layers.0.linear_1")],
                H,
                H,
            )
        )
    else:
        layers += [
            FusedLayer("double_blocks.0.img_mod.lin", [Target(f"{d}.norm1.linear")], H, 6 * H),
            FusedLayer("single_blocks.0.modulation.lin", [Target(f"{s}.norm.linear")], H, 3 * H),
            FusedLayer("final_layer.adaLN_modulation.1", [Target("norm_out.linear")], H, 2 * H, swap=True),
            FusedLayer(
                "guidance_in.in_layer", [Target("time_text_embed.guidance_embedder.linear_1")], 256, H
            ),
        ]
    return layers


def sd3_layers() -> list[FusedLayer]:
    """Layers of an SD3.5 medium LoRA in SAI naming (block 1 is the last: its context modulation is
    an AdaLayerNormContinuous with (shift, scale) swapped)."""
    d = "transformer_blocks.0"
    return [
        FusedLayer("joint_blocks.0.x_block.attn.qkv", _qkv(d, QKV), H, 3 * H),
        FusedLayer("joint_blocks.0.context_block.attn.qkv", _qkv(d, ADD_QKV), H, 3 * H),
        FusedLayer(
            "joint_blocks.0.x_block.attn2.qkv", _qkv(d, ("attn2.to_q", "attn2.to_k", "attn2.to_v")), H, 3 * H
        ),
        FusedLayer("joint_blocks.0.x_block.attn.proj", [Target(f"{d}.attn.to_out.0")], H, H),
        FusedLayer("joint_blocks.0.context_block.attn.proj", [Target(f"{d}.attn.to_add_out")], H, H),
        FusedLayer("joint_blocks.0.x_block.mlp.fc1", [Target(f"{d}.ff.net.0.proj")], H, 4 * H),
        FusedLayer("joint_blocks.0.context_block.mlp.fc2", [Target(f"{d}.ff_context.net.2")], 4 * H, H),
        FusedLayer("joint_blocks.0.x_block.adaLN_modulation.1", [Target(f"{d}.norm1.linear")], H, 9 * H),
        FusedLayer(
            "joint_blocks.1.context_block.adaLN_modulation.1",
            [Target("transformer_blocks.1.norm1_context.linear")],
            H,
            2 * H,
            swap=True,
        ),
        FusedLayer("final_layer.linear", [Target("proj_out")], H, 4),
    ]


def qwen_layers() -> list[FusedLayer]:
    """Qwen-Image's original names are diffusers' own."""
    w = 48
    b = "transformer_blocks.1"
    names = [
        (f"{b}.attn.to_q", w, w),
        (f"{b}.attn.add_k_proj", w, w),
        (f"{b}.attn.to_out.0", w, w),
        (f"{b}.img_mlp.net.0.proj", w, 4 * w),
        (f"{b}.txt_mlp.net.2", 4 * w, w),
        (f"{b}.img_mod.1", w, 6 * w),
        ("img_in", 16, w),
    ]
    return [FusedLayer(name, [Target(name)], i, o) for name, i, o in names]


def zimage_layers() -> list[FusedLayer]:
    """Z-Image in its original naming: fused ``attention.qkv``, ``attention.out``, ``x_embedder``."""
    layers = [
        FusedLayer(
            f"{block}.attention.qkv",
            _qkv(block, ("attention.to_q", "attention.to_k", "attention.to_v")),
            H,
            3 * H,
        )
        for block in ("layers.1", "noise_refiner.0", "context_refiner.0")
    ]
    layers += [
        FusedLayer("layers.0.attention.out", [Target("layers.0.attention.to_out.0")], H, H),
        FusedLayer("layers.0.feed_forward.w1", [Target("layers.0.feed_forward.w1")], H, 85),
        FusedLayer("layers.0.adaLN_modulation.0", [Target("layers.0.adaLN_modulation.0")], H, 4 * H),
        FusedLayer("x_embedder", [Target("all_x_embedder.2-1")], 64, H),
        FusedLayer("final_layer.linear", [Target("all_final_layer.2-1.linear")], H, 64),
    ]
    return layers


LAYERS: dict[str, Callable[[], list[FusedLayer]]] = {
    "flux": flux_layers,
    "chroma": lambda: flux_layers(chroma=True),
    "sd3": sd3_layers,
    "qwen": qwen_layers,
    "zimage": zimage_layers,
}


# ------------------------------------------------------------------------------------------- factors


def with_lora(
    layers: list[FusedLayer], rank: int = 4, alpha: float | None = 2.0, seed: int = 1
) -> list[FusedLayer]:
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        layer.factors = {
            "down": torch.randn(rank, layer.in_features, generator=generator) * 0.1,
            "up": torch.randn(layer.out_features, rank, generator=generator) * 0.1,
        }
        if alpha is not None:
            layer.factors["alpha"] = torch.tensor(alpha)
    return layers


def with_loha(layers: list[FusedLayer], rank: int = 4, alpha: float = 2.0, seed: int = 2) -> list[FusedLayer]:
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        o, i = layer.out_features, layer.in_features
        layer.factors = {
            "hada_w1_a": torch.randn(o, rank, generator=generator) * 0.3,
            "hada_w1_b": torch.randn(rank, i, generator=generator) * 0.3,
            "hada_w2_a": torch.randn(o, rank, generator=generator) * 0.3,
            "hada_w2_b": torch.randn(rank, i, generator=generator) * 0.3,
            "alpha": torch.tensor(alpha),
        }
    return layers


def with_lokr(layers: list[FusedLayer], band: int, alpha: float = 3.0, seed: int = 3) -> list[FusedLayer]:
    """LoKr with ``w1`` (rows/band × 2) whole and ``w2`` (band × in/2) factored at rank 2."""
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        o, i = layer.out_features, layer.in_features
        layer.factors = {
            "lokr_w1": torch.randn(o // band, 2, generator=generator) * 0.3,
            "lokr_w2_a": torch.randn(band, 2, generator=generator) * 0.3,
            "lokr_w2_b": torch.randn(2, i // 2, generator=generator) * 0.3,
            "alpha": torch.tensor(alpha),
        }
    return layers


def fused_delta(layer: FusedLayer) -> torch.Tensor:
    """ΔW of the fused layer at multiplier 1, alpha/rank applied (A1111/kohya/LyCORIS formulas)."""
    f = layer.factors
    if "down" in f:
        rank = f["down"].shape[0]
        scale = float(f["alpha"]) / rank if "alpha" in f else 1.0
        return scale * f["up"] @ f["down"]
    if "hada_w1_a" in f:
        scale = float(f["alpha"]) / f["hada_w1_b"].shape[0]
        return scale * (f["hada_w1_a"] @ f["hada_w1_b"]) * (f["hada_w2_a"] @ f["hada_w2_b"])
    scale = float(f["alpha"]) / f["lokr_w2_b"].shape[0]
    return scale * torch.kron(f["lokr_w1"], f["lokr_w2_a"] @ f["lokr_w2_b"])


def expected_deltas(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """diffusers module path -> ΔW it must gain at multiplier 1."""
    out: dict[str, torch.Tensor] = {}
    for layer in layers:
        delta = fused_delta(layer)
        if layer.swap:
            shift, scale = delta.chunk(2)
            delta = torch.cat([scale, shift])
        for target in layer.targets:
            out[target.path] = delta if target.rows is None else delta[target.rows[0] : target.rows[1]]
    return out


# ------------------------------------------------------------------------------------------- dialects


def _named(
    layers: list[FusedLayer], name: Callable[[str], str], roles: dict[str, str]
) -> dict[str, torch.Tensor]:
    return {
        f"{name(layer.original)}{roles.get(role, '.' + role)}": t
        for layer in layers
        for role, t in layer.factors.items()
    }


KOHYA_ROLES = {"down": ".lora_down.weight", "up": ".lora_up.weight", "alpha": ".alpha"}
PEFT_ROLES = {"down": ".lora_A.weight", "up": ".lora_B.weight"}


def kohya(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """sd-scripts / musubi: ``lora_unet_<original name flattened>.lora_down.weight`` + ``.alpha``
    (LyCORIS types keep their own role names under the same prefix)."""
    return _named(layers, lambda n: "lora_unet_" + n.replace(".", "_"), KOHYA_ROLES)


def comfy(layers: list[FusedLayer], roles: dict[str, str] = PEFT_ROLES) -> dict[str, torch.Tensor]:
    """ai-toolkit / ComfyUI: ``diffusion_model.<original name>.lora_A.weight`` (alpha folded in)."""
    return _named(_alpha_folded(layers), lambda n: "diffusion_model." + n, roles)


def fal_kontext(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """raw PEFT over BFL names: ``base_model.model.double_blocks.0.img_attn.qkv.lora_A.weight``."""
    return _named(_alpha_folded(layers), lambda n: "base_model.model." + n, PEFT_ROLES)


def _alpha_folded(layers: list[FusedLayer]) -> list[FusedLayer]:
    """The same LoRA with alpha/rank multiplied into ``up`` (what alpha-less writers store)."""
    folded = []
    for layer in layers:
        f = dict(layer.factors)
        if "alpha" in f:
            f["up"] = f["up"] * (float(f.pop("alpha")) / f["down"].shape[0])
        folded.append(
            FusedLayer(layer.original, layer.targets, layer.in_features, layer.out_features, layer.swap, f)
        )
    return folded


def split_per_module(layers: list[FusedLayer]) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """One (diffusers path, {"down", "up"}) per split module: the fused up's rows, alpha folded in,
    final-modulation halves swapped (what diffusers' converters produce)."""
    out = []
    for layer in _alpha_folded(layers):
        up = layer.factors["up"]
        if layer.swap:
            shift, scale = up.chunk(2)
            up = torch.cat([scale, shift])
        for target in layer.targets:
            rows = up if target.rows is None else up[target.rows[0] : target.rows[1]]
            out.append((target.path, {"down": layer.factors["down"], "up": rows.contiguous()}))
    return out


def diffusers_peft(
    layers: list[FusedLayer], prefix: str = "transformer.", default: bool = False
) -> dict[str, torch.Tensor]:
    """diffusers / PEFT: ``transformer.<diffusers module>.lora_A.weight`` (``.lora_A.default.weight``)."""
    tag = ".default" if default else ""
    out: dict[str, torch.Tensor] = {}
    for path, f in split_per_module(layers):
        out[f"{prefix}{path}.lora_A{tag}.weight"] = f["down"]
        out[f"{prefix}{path}.lora_B{tag}.weight"] = f["up"]
    return out


def onetrainer(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """OneTrainer: kohya roles over flattened diffusers names, ``lora_transformer_<path>``, alpha = rank."""
    out: dict[str, torch.Tensor] = {}
    for path, f in split_per_module(layers):
        name = "lora_transformer_" + path.replace(".", "_")
        out |= {f"{name}.lora_down.weight": f["down"], f"{name}.lora_up.weight": f["up"]}
        out[f"{name}.alpha"] = torch.tensor(float(f["down"].shape[0]))
    return out


XLABS_NAMES = {
    "double_blocks.0.img_attn.qkv": "double_blocks.0.processor.qkv_lora1",
    "double_blocks.0.txt_attn.qkv": "double_blocks.0.processor.qkv_lora2",
    "double_blocks.0.img_attn.proj": "double_blocks.0.processor.proj_lora1",
    "double_blocks.0.txt_attn.proj": "double_blocks.0.processor.proj_lora2",
}


def xlabs(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """XLabs' Flux trainer: attention processors of double blocks, no alpha
    (``double_blocks.0.processor.qkv_lora1.down.weight``: 1 = image stream, 2 = text stream)."""
    names = XLABS_NAMES
    out: dict[str, torch.Tensor] = {}
    for layer in _alpha_folded([layer for layer in layers if layer.original in names]):
        out[f"{names[layer.original]}.down.weight"] = layer.factors["down"]
        out[f"{names[layer.original]}.up.weight"] = layer.factors["up"]
    return out


def musubi(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """musubi-tuner (Qwen-Image, Z-Image): kohya roles over flattened diffusers names,
    ``lora_unet_transformer_blocks_0_attn_to_q.lora_down.weight`` (alpha folded in)."""
    out: dict[str, torch.Tensor] = {}
    for path, f in split_per_module(layers):
        name = "lora_unet_" + path.replace(".", "_")
        out |= {f"{name}.lora_down.weight": f["down"], f"{name}.lora_up.weight": f["up"]}
    return out


DOT_ROLES = {"down": ".lora.down.weight", "up": ".lora.up.weight", "alpha": ".alpha"}


def comfy_dot(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """ComfyUI's Z-Image export: ``diffusion_model.layers.0.attention.qkv.lora.down.weight`` + ``.alpha``."""
    return _named(layers, lambda n: "diffusion_model." + n, DOT_ROLES)


def lycoris_lokr(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    """SimpleTuner / LyCORIS on a diffusers model: ``lycoris_<flattened diffusers path>.lokr_w1`` per
    split module. Each module's rows of ``kron(w1, w2)`` are ``kron`` of its rows of ``w1`` (the
    layers given must split on whole ``w2`` bands); final-modulation layers are left out."""
    out: dict[str, torch.Tensor] = {}
    for layer in layers:
        if layer.swap:
            continue
        band = layer.factors["lokr_w2_a"].shape[0]
        for target in layer.targets:
            start, end = target.rows or (0, layer.out_features)
            name = "lycoris_" + target.path.replace(".", "_")
            out[f"{name}.lokr_w1"] = layer.factors["lokr_w1"][start // band : end // band].clone()
            out |= {f"{name}.{role}": layer.factors[role] for role in ("lokr_w2_a", "lokr_w2_b", "alpha")}
    return out
