"""Where each tensor of a LoRA file goes: every naming dialect in the wild -> a module of the pipeline.

LoRA files name their target layers in many ways (kohya over diffusers paths, kohya over the
original LDM/SGM UNet paths, PEFT/diffusers dotted paths with or without ``base_model.model.``, old
diffusers ``.lora.down`` and attention processor names, with or without the ``text_model`` level of
CLIP, SimpleTuner's ``lycoris_``, kohya OFT's ``oft_unet_``, ComfyUI's ``text_encoders.clip_l.…``).
kohya flattens dots into underscores, which is ambiguous (``transformer_blocks``, ``to_q``), so a
key is never split on ``_``; instead :func:`target_modules` builds a table of every name a file may
use for every real module of the loaded pipeline, and a file's key is looked up whole. The
LDM<->diffusers block correspondence is read from the UNet's own module tree (block count, resnets
per block, which blocks have attention), so SD1, SD2, SDXL and any UNet of the same family map
without hard-coded tables.

torch is never imported here; modules are handled as ``Any``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.render.gguf_files import logical_shape

COMPONENTS = ("unet", "text_encoder", "text_encoder_2")
# the denoiser of a pipeline (its LoRA weight is the "UNet" multiplier): an SD UNet or a DiT transformer
DENOISERS = ("unet", "transformer")
# a DiT pipeline's adaptable components (Flux.1: CLIP-L + T5; SD3.5: CLIP-L + CLIP-G + T5; Chroma: T5;
# Qwen-Image: Qwen2.5-VL; Z-Image: Qwen3)
TRANSFORMER_COMPONENTS = ("transformer", "text_encoder", "text_encoder_2", "text_encoder_3")

# kohya/LyCORIS prefix(es) per component; SDXL names its encoders te1/te2, SD1/SD2 "te" (OneTrainer: te1).
_KOHYA_PREFIXES_SD = {"unet": ("lora_unet_",), "text_encoder": ("lora_te_", "lora_te1_")}
_KOHYA_PREFIXES_SDXL = {
    "unet": ("lora_unet_",),
    "text_encoder": ("lora_te1_",),
    "text_encoder_2": ("lora_te2_",),
}

# diffusers ResnetBlock2D child -> LDM ResBlock child
_RESNET_CHILDREN = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}

# tensor-name suffix -> role, longest first so ".lora_down.weight" wins over ".weight".
_SUFFIX_ROLES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            ".lora_down.weight": "lora_down",
            ".lora_up.weight": "lora_up",
            ".lora_mid.weight": "lora_mid",
            ".lora_A.weight": "lora_A",
            ".lora_B.weight": "lora_B",
            ".lora_A.default.weight": "lora_A",
            ".lora_B.default.weight": "lora_B",
            ".lora.down.weight": "lora_down",
            ".lora.up.weight": "lora_up",
            ".lora_linear_layer.down.weight": "lora_down",
            ".lora_linear_layer.up.weight": "lora_up",
            ".lora_magnitude_vector": "lora_magnitude_vector",
            ".lora_magnitude_vector.default.weight": "lora_magnitude_vector",
            ".alpha": "alpha",
            ".scale": "scale",
            ".dora_scale": "dora_scale",
            ".hada_w1_a": "hada_w1_a",
            ".hada_w1_b": "hada_w1_b",
            ".hada_w2_a": "hada_w2_a",
            ".hada_w2_b": "hada_w2_b",
            ".hada_t1": "hada_t1",
            ".hada_t2": "hada_t2",
            ".lokr_w1": "lokr_w1",
            ".lokr_w1_a": "lokr_w1_a",
            ".lokr_w1_b": "lokr_w1_b",
            ".lokr_w2": "lokr_w2",
            ".lokr_w2_a": "lokr_w2_a",
            ".lokr_w2_b": "lokr_w2_b",
            ".lokr_t1": "lokr_t1",
            ".lokr_t2": "lokr_t2",
            ".diff": "diff",
            ".diff_b": "diff_b",
            ".w_norm": "w_norm",
            ".b_norm": "b_norm",
            ".on_input": "on_input",
            ".weight": "weight",
            ".oft_blocks": "oft_blocks",
            ".oft_diag": "oft_diag",
            ".oft_R": "oft_R",
            ".rescale": "rescale",
            ".set_weight": "set_weight",
            ".a1.weight": "a1",
            ".a2.weight": "a2",
            ".b1.weight": "b1",
            ".b2.weight": "b2",
        }.items(),
        key=lambda item: -len(item[0]),
    )
)
# diffusers attention processors: ``<attn>.processor.to_q_lora.down.weight`` adapts ``<attn>.to_q``.
_ATTN_PROC = re.compile(
    r"^(?P<head>.+)\.processor\.(?P<proj>to_q|to_k|to_v|to_out)_lora\.(?P<dir>down|up)\.weight$"
)


@dataclass(frozen=True, slots=True)
class LoraTarget:
    """One adaptable module of the loaded pipeline.

    ``component`` is the pipeline attribute ("unet", "transformer", "text_encoder", ...), ``path`` the
    dotted module path inside it as torch names it, ``module`` the live ``torch.nn.Module``.
    """

    component: str
    path: str
    module: Any

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return logical_shape(self.module.weight)  # a GGUF layer's stored shape counts bytes

    def describe(self) -> str:
        return f"{self.component}.{self.path}"


def split_key(key: str) -> tuple[str, str] | None:
    """``(module alias, tensor role)`` of a LoRA tensor name, or None when the suffix is not a known role.

    The alias is what :func:`target_modules` is keyed by; the role is the LyCORIS/kohya/PEFT tensor
    name (``lora_down``, ``hada_w1_a``, ``lora_A`` ...).
    """
    proc = _ATTN_PROC.match(key)
    if proc:
        proj = proc["proj"] + (".0" if proc["proj"] == "to_out" else "")
        return f"{proc['head']}.{proj}", "lora_down" if proc["dir"] == "down" else "lora_up"
    for suffix, role in _SUFFIX_ROLES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], role
    return None


def _weighted_modules(root: Any) -> list[tuple[str, Any]]:
    """Every submodule that owns a ``weight`` parameter directly (linears, convs, norms, embeddings)."""
    found: list[tuple[str, Any]] = []
    for name, module in root.named_modules():
        if name and module._parameters.get("weight") is not None:
            found.append((name, module))
    return found


def ldm_unet_prefixes(unet: Any) -> dict[str, tuple[str, bool]]:
    """diffusers UNet block path -> (LDM/SGM path, is a resnet), read from the UNet's module tree.

    LDM numbers ``input_blocks`` consecutively: conv_in, then per down block one entry per resnet
    (``.0`` the resnet, ``.1`` its attention if the block has any) and one for the downsampler;
    ``output_blocks`` has one entry per up-block resnet, the upsampler riding on the block's last entry
    after the resnet and attention. Deriving this from the tree keeps SD1 (attention in the first
    three blocks), SDXL (in the last two, 10-deep) and any other layout right.
    """
    prefixes: dict[str, tuple[str, bool]] = {
        "conv_in": ("input_blocks.0.0", False),
        "time_embedding.linear_1": ("time_embed.0", False),
        "time_embedding.linear_2": ("time_embed.2", False),
        "add_embedding.linear_1": ("label_emb.0.0", False),
        "add_embedding.linear_2": ("label_emb.0.2", False),
        "conv_norm_out": ("out.0", False),
        "conv_out": ("out.2", False),
    }
    index = 1
    for i, block in enumerate(unet.down_blocks):
        attentions = getattr(block, "attentions", None)
        for j in range(len(block.resnets)):
            prefixes[f"down_blocks.{i}.resnets.{j}"] = (f"input_blocks.{index}.0", True)
            if attentions is not None and j < len(attentions):
                prefixes[f"down_blocks.{i}.attentions.{j}"] = (f"input_blocks.{index}.1", False)
            index += 1
        if getattr(block, "downsamplers", None):
            prefixes[f"down_blocks.{i}.downsamplers.0.conv"] = (f"input_blocks.{index}.0.op", False)
            index += 1
    mid = getattr(unet, "mid_block", None)
    if mid is not None:
        mid_attentions = getattr(mid, "attentions", None) or []
        position = 0
        for j in range(len(mid.resnets)):
            prefixes[f"mid_block.resnets.{j}"] = (f"middle_block.{position}", True)
            position += 1
            if j < len(mid_attentions):
                prefixes[f"mid_block.attentions.{j}"] = (f"middle_block.{position}", False)
                position += 1
    index = 0
    for i, block in enumerate(unet.up_blocks):
        attentions = getattr(block, "attentions", None)
        for j in range(len(block.resnets)):
            prefixes[f"up_blocks.{i}.resnets.{j}"] = (f"output_blocks.{index}.0", True)
            if attentions is not None and j < len(attentions):
                prefixes[f"up_blocks.{i}.attentions.{j}"] = (f"output_blocks.{index}.1", False)
            index += 1
        if getattr(block, "upsamplers", None):
            slot = 2 if attentions is not None else 1
            prefixes[f"up_blocks.{i}.upsamplers.0.conv"] = (f"output_blocks.{index - 1}.{slot}.conv", False)
    return prefixes


def ldm_unet_path(path: str, prefixes: dict[str, tuple[str, bool]]) -> str | None:
    """The LDM/SGM name of a diffusers UNet module path, or None if it has none (e.g. a new layer)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        entry = prefixes.get(".".join(parts[:cut]))
        if entry is None:
            continue
        ldm, is_resnet = entry
        rest = parts[cut:]
        if is_resnet and rest:
            child = _RESNET_CHILDREN.get(rest[0])
            if child is None:
                return None
            rest = [child, *rest[1:]]
        return ".".join([ldm, *rest])
    return None


def _unet_aliases(path: str, ldm: str | None) -> list[str]:
    """kohya (diffusers and LDM paths), SimpleTuner ``lycoris_``, kohya OFT ``oft_unet_``, diffusers
    ``unet.``, PEFT ``base_model.model.`` (and the old PEFT script's ``unet.base_model.model.``) and
    ComfyUI's generic ``diffusion_model.`` names of one UNet module."""
    flat = path.replace(".", "_")
    names = [
        f"lora_unet_{flat}",
        f"unet.{path}",
        path,
        f"lycoris_{flat}",
        f"oft_unet_{flat}",
        f"base_model.model.{path}",
        f"unet.base_model.model.{path}",
    ]
    if ldm is not None:
        ldm_flat = ldm.replace(".", "_")
        names += [f"lora_unet_{ldm_flat}", f"diffusion_model.{ldm}", f"oft_unet_{ldm_flat}"]
    return names


def _text_aliases(
    component: str, path: str, kohya_prefixes: tuple[str, ...], comfy_name: str | None
) -> list[str]:
    """kohya, diffusers, PEFT (first encoder only) and ComfyUI ``text_encoders.<clip>.transformer.``
    names of one text-encoder module."""
    bare = path.removeprefix("text_model.")
    names: list[str] = []
    for prefix in kohya_prefixes:
        names += [prefix + bare.replace(".", "_"), prefix + "text_model_" + bare.replace(".", "_")]
    names += [f"{component}.{bare}", f"{component}.text_model.{bare}"]
    # real files name CLIP's layers inside ``text_model`` (older transformers nest them there; the
    # projection of CLIP-G sits beside it), whatever the loaded model's own nesting is
    model_path = path if path.startswith("text_projection") else f"text_model.{bare}"
    if comfy_name is not None:
        names.append(f"text_encoders.{comfy_name}.transformer.{model_path}")
    if component == "text_encoder":
        names += [f"base_model.model.{model_path}", f"base_model.model.{bare}"]
    return names


def _comfy_text_names(pipe: Any, is_sdxl: bool) -> dict[str, str]:
    """ComfyUI's name of each text encoder: SDXL clip_l + clip_g, SD2 clip_h (1024 wide), SD1 clip_l."""
    if is_sdxl:
        return {"text_encoder": "clip_l", "text_encoder_2": "clip_g"}
    width = getattr(getattr(getattr(pipe, "text_encoder", None), "config", None), "hidden_size", None)
    return {"text_encoder": "clip_h" if width == 1024 else "clip_l"}


def _transformer_aliases(path: str) -> list[str]:
    """diffusers/PEFT (``transformer.``, with or without ``base_model.model.``), ai-toolkit/ComfyUI
    (``diffusion_model.``), kohya/musubi (``lora_unet_``), OneTrainer (``lora_transformer_``),
    SimpleTuner/LyCORIS (``lycoris_``) and bare names of one DiT transformer module in diffusers
    naming. Original-layout names (Flux ``double_blocks``, SD3 ``joint_blocks``, Z-Image ``qkv``) are
    renamed to these by :mod:`core.render.lora_layouts` when the file is read."""
    flat = path.replace(".", "_")
    return [
        f"transformer.{path}",
        path,
        f"diffusion_model.{path}",
        f"base_model.model.{path}",
        f"transformer.base_model.model.{path}",
        f"lora_unet_{flat}",
        f"lora_transformer_{flat}",
        f"lycoris_{flat}",
        f"lycoris_transformer_{flat}",
    ]


def _encoder_kind(encoder: Any) -> str:
    """ "clip", "t5" or "other" (an LLM encoder: Qwen2.5-VL, Qwen3) from the model's config."""
    model_type = str(getattr(getattr(encoder, "config", None), "model_type", ""))
    if model_type.startswith("clip"):
        return "clip"
    return "t5" if model_type.startswith(("t5", "umt5")) else "other"


def _dit_encoder_names(pipe: Any) -> dict[str, tuple[tuple[str, ...], str | None, str]]:
    """component -> (kohya prefixes, ComfyUI name, kind) of a DiT pipeline's text encoders.

    sd-scripts names Flux's CLIP-L ``lora_te1_`` and T5 ``lora_te3_`` (OneTrainer ``lora_te2_``); SD3's
    CLIP-L, CLIP-G and T5 are ``lora_te1_``/``lora_te2_``/``lora_te3_``, ComfyUI's ``clip_l``/``clip_g``/
    ``t5xxl``. LLM encoders (Qwen-Image, Z-Image) are named by diffusers/PEFT paths only.
    """
    names: dict[str, tuple[tuple[str, ...], str | None, str]] = {}
    clips = 0
    for component in TRANSFORMER_COMPONENTS[1:]:
        encoder = getattr(pipe, component, None)
        if encoder is None:
            continue
        kind = _encoder_kind(encoder)
        if kind == "clip":
            clips += 1
            names[component] = (
                ("lora_te1_", "lora_te_") if clips == 1 else ("lora_te2_",),
                "clip_l" if clips == 1 else "clip_g",
                kind,
            )
        elif kind == "t5":
            kohya = ("lora_te3_",) if clips != 1 else ("lora_te3_", "lora_te2_")
            names[component] = (kohya, "t5xxl", kind)
        else:
            names[component] = ((), None, kind)
    return names


def _plain_text_aliases(
    component: str, path: str, kohya_prefixes: tuple[str, ...], comfy_name: str | None
) -> list[str]:
    """Names of one module of a T5 or LLM text encoder (no ``text_model`` level)."""
    names = [f"{component}.{path}"] + [prefix + path.replace(".", "_") for prefix in kohya_prefixes]
    if comfy_name is not None:
        names.append(f"text_encoders.{comfy_name}.transformer.{path}")
    return names


def _transformer_table(pipe: Any) -> dict[str, LoraTarget]:
    table: dict[str, LoraTarget] = {}
    for path, module in _weighted_modules(pipe.transformer):
        target = LoraTarget("transformer", path, module)
        for alias in _transformer_aliases(path):
            table.setdefault(alias, target)
    for component, (kohya, comfy, kind) in _dit_encoder_names(pipe).items():
        for path, module in _weighted_modules(getattr(pipe, component)):
            target = LoraTarget(component, path, module)
            if kind == "clip":
                aliases = _text_aliases(component, path, kohya, comfy)
            else:
                aliases = _plain_text_aliases(component, path, kohya, comfy)
            for alias in aliases:
                table.setdefault(alias, target)
    return table


def target_modules(pipe: Any) -> dict[str, LoraTarget]:
    """Every name a LoRA file may give a module of ``pipe`` -> that module.

    Covers the UNet and the text encoder(s) the pipeline has; an SDXL pipeline (two text encoders)
    takes ``lora_te1_``/``lora_te2_``, SD1/SD2 ``lora_te_`` and OneTrainer's ``lora_te1_``; ComfyUI's
    ``text_encoders.clip_l``/``clip_g``/``clip_h`` names follow the encoders the pipeline has. A
    pipeline with a ``transformer`` (Flux.1, Chroma, SD3.5, Qwen-Image, Z-Image) maps the transformer's
    diffusers names in every dialect and its text encoders by their kind (CLIP, T5, LLM).
    """
    if getattr(pipe, "transformer", None) is not None:
        return _transformer_table(pipe)
    is_sdxl = getattr(pipe, "text_encoder_2", None) is not None
    kohya = _KOHYA_PREFIXES_SDXL if is_sdxl else _KOHYA_PREFIXES_SD
    comfy = _comfy_text_names(pipe, is_sdxl)
    table: dict[str, LoraTarget] = {}
    for component in COMPONENTS:
        root = getattr(pipe, component, None)
        if root is None:
            continue
        prefixes = ldm_unet_prefixes(root) if component == "unet" else {}
        for path, module in _weighted_modules(root):
            target = LoraTarget(component, path, module)
            if component == "unet":
                aliases = _unet_aliases(path, ldm_unet_path(path, prefixes))
            else:
                aliases = _text_aliases(component, path, kohya.get(component, ()), comfy.get(component))
            for alias in aliases:
                table.setdefault(alias, target)
    return table
