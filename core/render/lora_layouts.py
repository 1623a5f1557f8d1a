"""LoRAs written over a DiT's original layer names, renamed to the diffusers modules they adapt.

Trainers of Flux.1/Chroma (kohya sd-scripts, ai-toolkit's ComfyUI export, fal, XLabs), SD3.5 (kohya)
and Z-Image (ComfyUI) name layers as Black Forest Labs', Stability's or Tongyi's own code does:
``double_blocks.0.img_attn.qkv``, ``single_blocks.0.linear1``, ``joint_blocks.0.x_block.attn.qkv``,
``layers.0.attention.qkv``. diffusers splits several of those FUSED projections into separate
modules (``attn.to_q``/``to_k``/``to_v``; a Flux single block's ``linear1`` is q, k, v and the MLP's
input), so one file entry adapts several modules. :func:`convert_original_layouts` rewrites such a
file into ``transformer.<diffusers module>`` entries, splitting every delta by its output rows:

* LoRA/LoCon: the rows of ``up``/``lora_B`` are split, ``down``/``lora_A`` and ``alpha`` are shared
  (each part is ``up_k·down``, exactly the rows of the fused product);
* LoHa: the rows of ``hada_w1_a`` and ``hada_w2_a`` (the Hadamard product is row by row);
* LoKr: ``kron(w1, w2)`` has ``rows(w1)`` bands of ``rows(w2)`` rows, so when every part is a whole
  number of bands the rows of ``w1`` (or ``w1_a``) are split; otherwise each part gets its rows of the
  full delta, alpha/rank applied, as a ``diff`` in the file's dtype (the price: a fused layer's full
  size per layer in memory while the LoRA is loaded, e.g. 130 MB per Flux single block in bf16);
* full deltas (``diff``, ``diff_b``) and per-row DoRA magnitudes (LyCORIS, PEFT): their rows. A
  DoRA normalised per input column (kohya) spans all the fused rows and cannot be split: such a layer
  keeps its name and is reported as skipped.

The final-layer modulation of Flux/SD3 (``final_layer.adaLN_modulation.1``) stores (shift, scale)
where diffusers' ``norm_out.linear`` wants (scale, shift): the two row halves are swapped, as
diffusers' own converters do; so is an SD3 last block's context modulation (2·hidden rows).

Names are matched with dots and underscores alike (kohya flattens dots), after any of the prefixes
trainers put in front (``lora_unet_``, ``lycoris_``, ``diffusion_model.``, ``model.diffusion_model.``,
``base_model.model.``, ``transformer.``). Files in diffusers naming and SD files pass unchanged; their
names reach modules through :func:`core.render.lora_keys.target_modules`.

torch is imported inside functions only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.render.lora_adapter_config import with_adapter_alphas
from core.render.lora_keys import split_key

_PREFIXES = (
    "model.diffusion_model.",
    "diffusion_model.",
    "base_model.model.",
    "transformer.",
    "lora_unet_",
    "lycoris_",
    "lora_transformer_",
)

# how a fused module's output rows are cut: "one" (a plain rename), "thirds" (q, k, v),
# "qkv_mlp" (Flux single block linear1: hidden, hidden, hidden, the rest), "swap" (halves swapped),
# "swap_if_two" (swapped when the layer has 2·hidden rows: SD3's last context modulation)
Split = str


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    targets: tuple[str, ...]  # diffusers module paths; ``{0}`` is the block number
    split: Split = "one"


def _rule(pattern: str, *targets: str, split: Split = "one") -> _Rule:
    return _Rule(re.compile(pattern + "$"), targets, split)


_QKV = ("attn.to_q", "attn.to_k", "attn.to_v")
_ADD_QKV = ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj")


def _prefixed(head: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{head}.{name}" for name in names)


_DOUBLE = "transformer_blocks.{0}"
_SINGLE = "single_transformer_blocks.{0}"

# Flux.1 and Chroma (BFL layout; Chroma lacks the modulation linears and has the approximator)
_FLUX_RULES = (
    _rule(r"double_blocks_(\d+)_img_attn_qkv", *_prefixed(_DOUBLE, _QKV), split="thirds"),
    _rule(r"double_blocks_(\d+)_txt_attn_qkv", *_prefixed(_DOUBLE, _ADD_QKV), split="thirds"),
    _rule(r"double_blocks_(\d+)_img_attn_proj", f"{_DOUBLE}.attn.to_out.0"),
    _rule(r"double_blocks_(\d+)_txt_attn_proj", f"{_DOUBLE}.attn.to_add_out"),
    _rule(r"double_blocks_(\d+)_img_mlp_0", f"{_DOUBLE}.ff.net.0.proj"),
    _rule(r"double_blocks_(\d+)_img_mlp_2", f"{_DOUBLE}.ff.net.2"),
    _rule(r"double_blocks_(\d+)_txt_mlp_0", f"{_DOUBLE}.ff_context.net.0.proj"),
    _rule(r"double_blocks_(\d+)_txt_mlp_2", f"{_DOUBLE}.ff_context.net.2"),
    _rule(r"double_blocks_(\d+)_img_mod_lin", f"{_DOUBLE}.norm1.linear"),
    _rule(r"double_blocks_(\d+)_txt_mod_lin", f"{_DOUBLE}.norm1_context.linear"),
    _rule(r"single_blocks_(\d+)_linear1", *_prefixed(_SINGLE, (*_QKV, "proj_mlp")), split="qkv_mlp"),
    _rule(r"single_blocks_(\d+)_linear2", f"{_SINGLE}.proj_out"),
    _rule(r"single_blocks_(\d+)_modulation_lin", f"{_SINGLE}.norm.linear"),
    _rule(r"img_in", "x_embedder"),
    _rule(r"txt_in", "context_embedder"),
    _rule(r"time_in_in_layer", "time_text_embed.timestep_embedder.linear_1"),
    _rule(r"time_in_out_layer", "time_text_embed.timestep_embedder.linear_2"),
    _rule(r"vector_in_in_layer", "time_text_embed.text_embedder.linear_1"),
    _rule(r"vector_in_out_layer", "time_text_embed.text_embedder.linear_2"),
    _rule(r"guidance_in_in_layer", "time_text_embed.guidance_embedder.linear_1"),
    _rule(r"guidance_in_out_layer", "time_text_embed.guidance_embedder.linear_2"),
    _rule(r"final_layer_linear", "proj_out"),
    _rule(r"final_layer_adaLN_modulation_1", "norm_out.linear", split="swap"),
    _rule(r"distilled_guidance_layer_in_proj", "distilled_guidance_layer.in_proj"),
    _rule(r"distilled_guidance_layer_out_proj", "distilled_guidance_layer.out_proj"),
    _rule(r"distilled_guidance_layer_layers_(\d+)_in_layer", "distilled_guidance_layer.layers.{0}.linear_1"),
    _rule(r"distilled_guidance_layer_layers_(\d+)_out_layer", "distilled_guidance_layer.layers.{0}.linear_2"),
)

# SD3 / SD3.5 (MMDiT; 3.5 medium adds the x_block's second attention)
_SD3_RULES = (
    _rule(r"joint_blocks_(\d+)_x_block_attn_qkv", *_prefixed(_DOUBLE, _QKV), split="thirds"),
    _rule(r"joint_blocks_(\d+)_context_block_attn_qkv", *_prefixed(_DOUBLE, _ADD_QKV), split="thirds"),
    _rule(
        r"joint_blocks_(\d+)_x_block_attn2_qkv",
        *_prefixed(_DOUBLE, ("attn2.to_q", "attn2.to_k", "attn2.to_v")),
        split="thirds",
    ),
    _rule(r"joint_blocks_(\d+)_x_block_attn_proj", f"{_DOUBLE}.attn.to_out.0"),
    _rule(r"joint_blocks_(\d+)_context_block_attn_proj", f"{_DOUBLE}.attn.to_add_out"),
    _rule(r"joint_blocks_(\d+)_x_block_attn2_proj", f"{_DOUBLE}.attn2.to_out.0"),
    _rule(r"joint_blocks_(\d+)_x_block_mlp_fc1", f"{_DOUBLE}.ff.net.0.proj"),
    _rule(r"joint_blocks_(\d+)_x_block_mlp_fc2", f"{_DOUBLE}.ff.net.2"),
    _rule(r"joint_blocks_(\d+)_context_block_mlp_fc1", f"{_DOUBLE}.ff_context.net.0.proj"),
    _rule(r"joint_blocks_(\d+)_context_block_mlp_fc2", f"{_DOUBLE}.ff_context.net.2"),
    _rule(r"joint_blocks_(\d+)_x_block_adaLN_modulation_1", f"{_DOUBLE}.norm1.linear"),
    _rule(
        r"joint_blocks_(\d+)_context_block_adaLN_modulation_1",
        f"{_DOUBLE}.norm1_context.linear",
        split="swap_if_two",
    ),
    _rule(r"x_embedder_proj", "pos_embed.proj"),
    _rule(r"t_embedder_mlp_0", "time_text_embed.timestep_embedder.linear_1"),
    _rule(r"t_embedder_mlp_2", "time_text_embed.timestep_embedder.linear_2"),
    _rule(r"y_embedder_mlp_0", "time_text_embed.text_embedder.linear_1"),
    _rule(r"y_embedder_mlp_2", "time_text_embed.text_embedder.linear_2"),
    _rule(r"final_layer_linear", "proj_out"),
    _rule(r"final_layer_adaLN_modulation_1", "norm_out.linear", split="swap"),
)

# Z-Image (original / ComfyUI names; the other layers are named as in diffusers)
_ZIMAGE_BLOCK = r"(layers|noise_refiner|context_refiner)_(\d+)"
_ZIMAGE_RULES = (
    _rule(
        _ZIMAGE_BLOCK + r"_attention_qkv",
        *("{0}.{1}.attention.to_" + name for name in "qkv"),
        split="thirds",
    ),
    _rule(_ZIMAGE_BLOCK + r"_attention_out", "{0}.{1}.attention.to_out.0"),
    _rule(r"x_embedder", "all_x_embedder.2-1"),
    _rule(r"final_layer_linear", "all_final_layer.2-1.linear"),
    _rule(r"final_layer_adaLN_modulation_1", "all_final_layer.2-1.adaLN_modulation.1"),
)

_FAMILY_TELLS: tuple[tuple[str, re.Pattern[str], tuple[_Rule, ...]], ...] = (
    ("flux", re.compile(r"(double_blocks|single_blocks)_\d+_"), _FLUX_RULES),
    ("sd3", re.compile(r"joint_blocks_\d+_"), _SD3_RULES),
    ("zimage", re.compile(_ZIMAGE_BLOCK + r"_(attention|feed_forward|adaLN)"), _ZIMAGE_RULES),
)

# XLabs' Flux trainer names attention processors: ``double_blocks.0.processor.qkv_lora1.down.weight``
_XLABS = re.compile(
    r"^(?:diffusion_model\.)?(?P<kind>double|single)_blocks\.(?P<n>\d+)\.processor\."
    r"(?P<what>qkv|proj)_lora(?P<stream>[12]?)\.(?P<dir>down|up)\.weight$"
)
_XLABS_TARGETS: dict[tuple[str, str, str], tuple[tuple[str, ...], Split]] = {
    ("double", "qkv", "1"): (_prefixed(_DOUBLE, _QKV), "thirds"),
    ("double", "qkv", "2"): (_prefixed(_DOUBLE, _ADD_QKV), "thirds"),
    ("double", "proj", "1"): ((f"{_DOUBLE}.attn.to_out.0",), "one"),
    ("double", "proj", "2"): ((f"{_DOUBLE}.attn.to_add_out",), "one"),
    ("single", "qkv", ""): (_prefixed(_SINGLE, _QKV), "thirds"),
    ("single", "proj", ""): ((f"{_SINGLE}.proj_out",), "one"),
}

# roles whose first dimension is the layer's output rows (split/swapped with them); every other
# role of a LoRA/LoHa (down factors, alpha, scale) is shared by the parts
_ROW_ROLES = frozenset({"lora_up", "lora_B", "hada_w1_a", "hada_w2_a", "diff", "diff_b", "set_weight"})
_MAGNITUDE_ROLES = frozenset({"dora_scale", "lora_magnitude_vector"})
_SHARED_ROLES = frozenset({"lora_down", "lora_A", "hada_w1_b", "hada_w2_b", "alpha", "scale"})
_LOKR_ROLES = frozenset({"lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b"})


def _flat_module(alias: str) -> str:
    """The alias with a trainer prefix removed (XLabs and BFL control files have none) and dots
    flattened, as kohya writes it."""
    for prefix in _PREFIXES:
        if alias.startswith(prefix):
            return alias[len(prefix) :].replace(".", "_")
    return alias.replace(".", "_")


def detect_original_family(keys: list[str]) -> str | None:
    """ "flux" (also Chroma), "sd3" or "zimage" when the file names layers in that family's original
    layout, else None (diffusers naming, SD, or another family)."""
    flats = [_flat_module(key) for key in keys]
    for family, tell, _rules in _FAMILY_TELLS:
        if any(tell.match(flat) for flat in flats):
            return family
    return None


def convert_lora_tensors(tensors: Mapping[str, Any], metadata: Mapping[str, str]) -> Mapping[str, Any]:
    """Every rewrite a LoRA file's tensors need before they are grouped by layer: the alphas of
    diffusers' saved PEFT config (:mod:`core.render.lora_adapter_config`), then the original-layout
    DiT names (:func:`convert_original_layouts`)."""
    return convert_original_layouts(with_adapter_alphas(tensors, metadata))


def convert_original_layouts(tensors: Mapping[str, Any]) -> Mapping[str, Any]:
    """``tensors`` with original-layout DiT names rewritten to ``transformer.<diffusers module>``
    (fused projections split by rows); the same mapping when nothing needs it.

    Keys of modules that cannot be split (an OFT/GLoRA on a fused projection) keep their names, so
    the patcher reports them as layers that do not exist in the checkpoint.
    """
    keys = list(tensors)
    xlabs = any(_XLABS.match(key) for key in keys)
    family = detect_original_family(keys)
    if not xlabs and family is None:
        return tensors
    rules = next((rules for name, _tell, rules in _FAMILY_TELLS if name == family), ())
    out: dict[str, Any] = {}
    groups: dict[str, dict[str, tuple[str, Any]]] = {}
    for key, tensor in tensors.items():
        match = _XLABS.match(key)
        if match and (match["kind"], match["what"], match["stream"]) in _XLABS_TARGETS:
            role = "lora_down" if match["dir"] == "down" else "lora_up"
            alias = f"xlabs:{match['kind']}:{match['what']}:{match['stream']}:{match['n']}"
            groups.setdefault(alias, {})[role] = (f".{role}.weight", tensor)
            continue
        split_name = split_key(key)
        if split_name is None:
            out[key] = tensor
            continue
        alias, role = split_name
        groups.setdefault(alias, {})[role] = (key[len(alias) :], tensor)
    for alias, parts in groups.items():
        converted = _convert_module(alias, parts, rules)
        if converted is None:
            out |= {alias + suffix: tensor for suffix, tensor in parts.values()}
        else:
            out |= converted
    return out


def _xlabs_plan(alias: str) -> tuple[list[str], Split]:
    _tag, kind, what, stream, number = alias.split(":")
    targets, split = _XLABS_TARGETS[(kind, what, stream)]
    return [target.format(number) for target in targets], split


def _plan(alias: str, rules: tuple[_Rule, ...]) -> tuple[list[str], Split] | None:
    if alias.startswith("xlabs:"):
        return _xlabs_plan(alias)
    flat = _flat_module(alias)
    for rule in rules:
        match = rule.pattern.match(flat)
        if match:
            groups = match.groups()
            return [target.format(*groups) for target in rule.targets], rule.split
    return None


def _convert_module(
    alias: str, parts: Mapping[str, tuple[str, Any]], rules: tuple[_Rule, ...]
) -> dict[str, Any] | None:
    plan = _plan(alias, rules)
    if plan is None:
        return None
    targets, split = plan
    if split == "one":  # a plain rename: every network type's tensors keep their roles
        return {f"transformer.{targets[0]}{suffix}": tensor for suffix, tensor in parts.values()}
    roles = {role: tensor for role, (_suffix, tensor) in parts.items()}
    rows = _rows(roles)
    if rows is None:
        return None
    sizes = _sizes(split, rows, _in_features(roles), len(targets))
    if sizes is None:
        return None
    swap = split == "swap" or (split == "swap_if_two" and _in_features(roles) * 2 == rows)
    if _LOKR_ROLES & roles.keys():
        return _convert_lokr(targets, sizes, parts, swap)
    if len(targets) > 1 and not roles.keys() <= (_ROW_ROLES | _MAGNITUDE_ROLES | _SHARED_ROLES):
        return None  # a network type whose delta cannot be cut by rows (OFT, GLoRA...)
    if len(targets) > 1 and any(_first_dim(roles[role]) != rows for role in _MAGNITUDE_ROLES & roles.keys()):
        return None  # DoRA normalised per input column over all the fused rows: not separable
    out: dict[str, Any] = {}
    for role, (suffix, tensor) in parts.items():
        by_rows = role in _ROW_ROLES or (role in _MAGNITUDE_ROLES and _first_dim(tensor) == rows)
        for target, piece in zip(
            targets, _cut(tensor, sizes, swap) if by_rows else [tensor] * len(targets), strict=True
        ):
            out[f"transformer.{target}{suffix}"] = piece
    return out


def _first_dim(tensor: Any) -> int:
    return int(tensor.shape[0]) if tensor.dim() > 0 else 0


def _rows(roles: Mapping[str, Any]) -> int | None:
    """Output rows of the fused layer the module adapts."""
    for role in ("lora_up", "lora_B", "hada_w1_a", "diff", "set_weight"):
        if role in roles:
            return int(roles[role].shape[0])
    w1 = roles.get("lokr_w1", roles.get("lokr_w1_a"))
    w2 = roles.get("lokr_w2", roles.get("lokr_w2_a"))
    if w1 is not None and w2 is not None:
        return int(w1.shape[0]) * int(w2.shape[0])
    return None


def _in_features(roles: Mapping[str, Any]) -> int:
    """Input features of the layer (its hidden size), 0 when the factors do not say."""
    for role in ("lora_down", "lora_A", "hada_w1_b", "diff", "set_weight"):
        if role in roles and roles[role].dim() >= 2:
            return int(roles[role].shape[1])
    w1 = roles.get("lokr_w1", roles.get("lokr_w1_b"))
    w2 = roles.get("lokr_w2", roles.get("lokr_w2_b"))
    if w1 is not None and w2 is not None:
        return int(w1.shape[-1]) * int(w2.shape[-1])
    return 0


def _sizes(split: Split, rows: int, hidden: int, count: int) -> list[int] | None:
    if split == "thirds":
        return [rows // 3] * 3 if rows % 3 == 0 else None
    if split == "qkv_mlp":
        hidden = hidden or rows // 7  # Flux.1: hidden·3 + MLP (4·hidden)
        return [hidden, hidden, hidden, rows - 3 * hidden] if 0 < 3 * hidden < rows else None
    return [rows] if count == 1 else None


def _cut(tensor: Any, sizes: list[int], swap: bool) -> list[Any]:
    """``tensor`` cut into consecutive row blocks of ``sizes``; with ``swap`` its two row halves are
    exchanged first."""
    import torch

    if swap:
        first, second = tensor.chunk(2, dim=0)
        tensor = torch.cat([second, first], dim=0)
    return [piece.contiguous() for piece in torch.split(tensor, sizes, dim=0)]


def _convert_lokr(
    targets: list[str], sizes: list[int], parts: Mapping[str, tuple[str, Any]], swap: bool
) -> dict[str, Any]:
    """LoKr on a fused layer: split ``w1``'s rows when every part is whole bands of ``w2``'s rows,
    else each part's rows of the full delta (alpha/rank applied) as a ``diff``."""
    roles = {role: tensor for role, (_suffix, tensor) in parts.items()}
    band = int((roles["lokr_w2"] if "lokr_w2" in roles else roles["lokr_w2_a"]).shape[0])
    if not swap and all(size % band == 0 for size in sizes):
        w1_role = "lokr_w1" if "lokr_w1" in roles else "lokr_w1_a"
        w1_parts = _cut(roles[w1_role], [size // band for size in sizes], swap=False)
        out: dict[str, Any] = {}
        for index, target in enumerate(targets):
            for role, (suffix, tensor) in parts.items():
                out[f"transformer.{target}{suffix}"] = w1_parts[index] if role == w1_role else tensor
        return out
    delta = _lokr_delta(roles)
    extras = {role: item for role, item in parts.items() if role == "diff_b"}
    out = {}
    for target, piece in zip(targets, _cut(delta, sizes, swap), strict=True):
        out[f"transformer.{target}.diff"] = piece
    for suffix, tensor in extras.values():
        for target, piece in zip(targets, _cut(tensor, sizes, swap), strict=True):
            out[f"transformer.{target}{suffix}"] = piece
    return out


def _lokr_delta(roles: Mapping[str, Any]) -> Any:
    """The full LoKr delta at multiplier 1 with alpha/rank applied as A1111 does (the rank of the
    factored w2, else of the factored w1; none when both are whole)."""
    import torch

    get: Callable[[str], Any] = lambda role: roles[role].float()  # noqa: E731
    dim: int | None = None
    if "lokr_w1" in roles:
        w1 = get("lokr_w1")
    else:
        w1, dim = get("lokr_w1_a") @ get("lokr_w1_b"), int(roles["lokr_w1_b"].shape[0])
    if "lokr_w2" in roles:
        w2 = get("lokr_w2")
    else:
        w2, dim = get("lokr_w2_a") @ get("lokr_w2_b"), int(roles["lokr_w2_b"].shape[0])
    scale = 1.0
    if "scale" in roles:
        scale = float(roles["scale"].item())
    elif dim is not None and "alpha" in roles:
        scale = float(roles["alpha"].item()) / dim
    # kept in the file's own dtype: a fused Flux linear1 is 21504 x 3072 values per block
    return (torch.kron(w1, w2) * scale).to(roles["lokr_w2" if "lokr_w2" in roles else "lokr_w2_a"].dtype)
