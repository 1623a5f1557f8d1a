"""LoRA and LyCORIS networks applied to a loaded pipeline, and taken out again exactly.

Plain LoRA/LoCon layers whose low-rank path is cheap next to the layer (on the CPU: see
:mod:`core.render.lora_unfused`) are not merged at all: a forward hook adds ``scale·up(down(x))`` to
the layer's output, so a first LoRA costs its file read and a weight change costs nothing but a new
scale. Every other layer is merged as described below.

The renderer keeps one checkpoint loaded while the user changes LoRAs and their weights, so LoRAs are
never loaded through diffusers/PEFT (which wraps layers and cannot take LoHa/LoKr/DoRA for SD): each
network's weight delta is computed per target layer with A1111's formulas
(``extensions-builtin/Lora/network_{lora,hada,lokr,full,norm}.py``, ``network.py`` ``finalize_updown``
/``calc_scale``/``apply_weight_decompose``) and added to the layer's weight in place, like A1111
does; GLoRA, OFT, BOFT and ``set_weight``, whose deltas read the layer's own weight, are computed in
:mod:`core.render.lora_dialects`.
The original of every touched weight is kept (on the CPU), so a new set of LoRAs is "originals + new
deltas", computed in float32 and cast back once: no error accumulates however often sliders move,
weight 0 is the bare model bit for bit, and a render with merged LoRAs costs the same as without.

Plain LoRAs merge as one fused ``addmm`` per layer and plain LoHas as an ``addcmul`` of two products
written into reused scratch buffers, so no full-size temporary is made per layer. On the CPU the merged
weights of a set that is switched off are kept in a budgeted
:class:`~core.render.layer_cache.LayerCache` and put back when the same set returns, and layers whose
LoRAs and multipliers did not change are not touched at all, and a LoRA added after the others is
merged onto the live weights in place instead of merging the whole set again; what is merged is always
the same arithmetic from the originals, so a set put back or continued is bit for bit the set merged
fresh.

torch/safetensors are imported inside functions only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.render.gguf_files import compute_dtype, dequantized, is_quantized, is_quantized_layer, logical_shape
from core.render.layer_cache import LayerCache, tensor_bytes
from core.render.lora_dialects import (
    WEIGHT_DEPENDENT,
    weight_dependent_delta,
    weight_dependent_shape,
)
from core.render.lora_family import checkpoint_label, family_conflict, lora_architectures, made_for_label
from core.render.lora_keys import DENOISERS, LoraTarget, split_key, target_modules
from core.render.lora_layouts import convert_lora_tensors
from core.render.lora_unfused import (
    LayerAdapters,
    LowRank,
    can_run_unfused,
    execution_device_type,
    low_rank_factors,
    prefers_unfused,
)
from core.render.memory import available_memory_bytes, layer_cache_budget, pipeline_bytes
from core.render.tensor_files import (
    UnreadableTensorFileError,
    UnsafePickleError,
    load_pickle,
    read_safetensors,
)
from core.taxonomy import Architecture

PICKLE_SUFFIXES = (".pt", ".ckpt", ".bin", ".pth")

_UNSUPPORTED_LABELS = {"ia3": "(IA)³", "peft-oft": "PEFT OFT"}
_PEFT_ROLES = {"lora_A": "lora_down", "lora_B": "lora_up", "lora_magnitude_vector": "dora_scale"}
_CONTEXT_ARCH = {768: "SD1", 1024: "SD2", 2048: "SDXL"}


class LoraError(ValueError):
    """A LoRA cannot be used; the message is meant for the user."""


class LoraFormatError(LoraError):
    """The file is not a LoRA Atelier can read (corrupt, refused pickle, unsupported network type)."""


class LoraMismatchError(LoraError):
    """The LoRA was made for another model architecture than the loaded checkpoint."""


@dataclass(frozen=True, slots=True)
class NetworkModule:
    """The tensors a network holds for one target layer, by role (``lora_down``, ``hada_w1_a`` ...).

    ``kind`` is "lora" (LoRA/LoCon/PEFT), "loha", "lokr", "full", "norm", "glora", "oft", "boft" or
    "set" (a full weight replacement); DoRA is any of these with a ``dora_scale`` role (kohya
    ``dora_scale`` or PEFT ``lora_magnitude_vector``). A ``diff_b`` beside any type's factors is a
    bias delta of the same layer.
    """

    alias: str
    kind: str
    tensors: Mapping[str, Any]

    @property
    def dora(self) -> bool:
        return "dora_scale" in self.tensors


@dataclass(frozen=True, slots=True)
class LoraNetwork:
    """A parsed LoRA file: its supported modules by alias, and what of it cannot be applied."""

    name: str
    modules: Mapping[str, NetworkModule]
    unsupported: Mapping[str, int] = field(default_factory=dict)  # type label -> layers skipped
    ignored_keys: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    families: tuple[Architecture, ...] = ()  # made for, as core.identify reads the stored tensors

    @property
    def kinds(self) -> dict[str, int]:
        """Layer count per network type ("lora", "loha", "lokr", "full", "norm"; "+dora" when DoRA)."""
        return dict(Counter(m.kind + ("+dora" if m.dora else "") for m in self.modules.values()))


@dataclass(frozen=True, slots=True)
class LoraApplication:
    """One LoRA of a render: its network, UNet and text-encoder multipliers, and a name for messages."""

    network: LoraNetwork
    unet_weight: float
    text_encoder_weight: float
    label: str


# ----------------------------------------------------------------------------------------------- reading


def load_network(path: Path) -> LoraNetwork:
    """Read a LoRA/LyCORIS file (.safetensors, or a .pt/.ckpt/.bin/.pth loaded with weights_only).

    Tensors stay on the CPU in their stored dtype; they are moved and upcast per layer when merged.
    """
    path = Path(path)
    if not path.is_file():
        raise LoraFormatError(f"LoRA file '{path}' does not exist")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        tensors, metadata = _read_safetensors(path)
    elif suffix in PICKLE_SUFFIXES:
        tensors, metadata = _read_pickle(path), {}
    else:
        raise LoraFormatError(
            f"'{path.name}' is not a LoRA file Atelier can read (expected .safetensors or .pt)"
        )
    return network_from_tensors(path.stem, tensors, metadata)


def _read_safetensors(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        return read_safetensors(path)
    except UnreadableTensorFileError as exc:
        raise LoraFormatError(f"'{path.name}' is not a valid safetensors file: {exc}") from exc


def _read_pickle(path: Path) -> dict[str, Any]:
    import torch

    try:
        data = load_pickle(path)
    except UnsafePickleError as exc:
        raise LoraFormatError(
            f"'{path.name}' was refused: it contains Python objects other than tensors, and loading it "
            "could run code. Convert it to .safetensors with a tool you trust."
        ) from exc
    except (UnreadableTensorFileError, OSError) as exc:
        raise LoraFormatError(f"'{path.name}' is not a readable PyTorch file: {exc}") from exc
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"), Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping):
        raise LoraFormatError(f"'{path.name}' holds no tensors by name, so it is not a LoRA")
    return {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}


def _detect_kind(parts: Mapping[str, Any]) -> str | None:
    """Network type of one module from its tensors (InvokeAI/A1111 order), None if not a network."""
    roles = set(parts)
    if {"lora_down", "lora_up"} & roles:
        return "lora"
    if "hada_w1_a" in roles or "hada_w1_b" in roles:
        return "loha"
    if {"lokr_w1", "lokr_w1_a", "lokr_w2", "lokr_w2_a"} & roles:
        return "lokr"
    if "diff" in roles:
        return "full"
    if "set_weight" in roles:
        return "set"
    if "w_norm" in roles:
        return "norm"
    if "on_input" in roles:
        return "ia3"
    if "oft_blocks" in roles:
        return "boft" if len(parts["oft_blocks"].shape) == 4 else "oft"
    if "oft_diag" in roles:
        return "oft"
    if "oft_R" in roles:
        return "peft-oft"
    if {"a1", "a2", "b1", "b2"} & roles:
        return "glora"
    if roles - {"alpha"} == {"diff_b"}:
        return "bias"
    return None


_REQUIRED = {
    "lora": ("lora_down", "lora_up"),
    "loha": ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"),
    "glora": ("a1", "a2", "b1", "b2"),
}


def _check_complete(name: str, alias: str, kind: str, tensors: Mapping[str, Any]) -> None:
    missing = [role for role in _REQUIRED.get(kind, ()) if role not in tensors]
    if kind == "lokr":
        if "lokr_w1" not in tensors and not {"lokr_w1_a", "lokr_w1_b"} <= tensors.keys():
            missing.append("lokr_w1")
        if "lokr_w2" not in tensors and not {"lokr_w2_a", "lokr_w2_b"} <= tensors.keys():
            missing.append("lokr_w2")
    if missing:
        raise LoraFormatError(f"LoRA '{name}' is incomplete: layer '{alias}' lacks {', '.join(missing)}")


def network_from_tensors(
    name: str, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None
) -> LoraNetwork:
    """Group a LoRA state dict by target module and detect each module's network type.

    Raises :class:`LoraFormatError` when nothing in it is a network Atelier can apply (naming the
    unsupported type when that is the reason) or when a layer lacks one of its factors.
    """
    families = lora_architectures(tensors)  # the file's own names, before they are converted
    tensors = convert_lora_tensors(tensors, metadata or {})  # PEFT config alphas, DiT original names
    grouped: dict[str, dict[str, Any]] = {}
    ignored: list[str] = []
    for key, tensor in tensors.items():
        split = split_key(key)
        if split is None:
            ignored.append(key)
            continue
        alias, role = split
        grouped.setdefault(alias, {})[_PEFT_ROLES.get(role, role)] = tensor
    modules: dict[str, NetworkModule] = {}
    unsupported: Counter[str] = Counter()
    for alias, parts in grouped.items():
        kind = _detect_kind(parts)
        if kind is None:
            ignored += [f"{alias}.{role}" for role in parts]
        elif kind in _UNSUPPORTED_LABELS:
            unsupported[_UNSUPPORTED_LABELS[kind]] += 1
        else:
            _check_complete(name, alias, kind, parts)
            modules[alias] = NetworkModule(alias, kind, parts)
    if not modules:
        if unsupported:
            types = ", ".join(sorted(unsupported))
            raise LoraFormatError(f"LoRA '{name}' is a {types} network, which Atelier cannot apply yet")
        raise LoraFormatError(f"'{name}' contains no LoRA/LyCORIS tensors (is it a LoRA file?)")
    return LoraNetwork(name, modules, dict(unsupported), tuple(ignored), dict(metadata or {}), families)


# ------------------------------------------------------------------------------------------------ shapes


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape)


def delta_shape(module: NetworkModule) -> tuple[int, int]:
    """(output rows, element count) of the module's weight delta, from tensor shapes alone.

    Lets a whole network be checked against the checkpoint before any weight is touched (and on
    meta tensors in tests). A count of 0 means "the layer's own size": OFT/BOFT rotate whatever weight
    they are applied to and a lone ``diff_b`` changes only the bias.
    """
    t = module.tensors
    if module.kind in WEIGHT_DEPENDENT:
        return weight_dependent_shape(module.kind, t)
    if module.kind == "bias":
        return _shape(t["diff_b"])[0], 0
    if module.kind == "lora":
        up, down = _shape(t["lora_up"]), _shape(t["lora_down"])
        if "lora_mid" in t:
            return up[0], up[0] * down[1] * math.prod(_shape(t["lora_mid"])[2:])
        return up[0], up[0] * math.prod(down[1:])
    if module.kind == "loha":
        w1a, w1b = _shape(t["hada_w1_a"]), _shape(t["hada_w1_b"])
        if "hada_t1" in t:
            return w1a[1], w1a[1] * w1b[1] * math.prod(_shape(t["hada_t1"])[2:])
        return w1a[0], w1a[0] * math.prod(w1b[1:])
    if module.kind == "lokr":
        w1 = (
            _shape(t["lokr_w1"]) if "lokr_w1" in t else (_shape(t["lokr_w1_a"])[0], _shape(t["lokr_w1_b"])[1])
        )
        if "lokr_w2" in t:
            w2 = _shape(t["lokr_w2"])
        elif "lokr_t2" in t:
            w2 = (_shape(t["lokr_w2_a"])[1], _shape(t["lokr_w2_b"])[1], *_shape(t["lokr_t2"])[2:])
        else:
            w2 = (_shape(t["lokr_w2_a"])[0], *_shape(t["lokr_w2_b"])[1:])
        return w1[0] * w2[0], math.prod(w1) * math.prod(w2)
    full = _shape(t["diff"] if module.kind == "full" else t["w_norm"])
    return full[0], math.prod(full)


def _fits(module: NetworkModule, weight_shape: tuple[int, ...]) -> bool:
    rows, count = delta_shape(module)
    if rows != weight_shape[0]:
        return False
    if count == 0:
        return True
    total = math.prod(weight_shape)
    # A1111 pads a 4-channel conv_in delta to an inpainting model's 9 input channels.
    inpaint = len(weight_shape) == 4 and weight_shape[1] == 9 and count * 9 == total * 4
    return count == total or inpaint


# -------------------------------------------------------------------------------------------------- math


def _make_cp(t: Any, wa: Any, wb: Any) -> Any:
    """LyCORIS Tucker rebuild (``lyco_helpers.make_weight_cp``)."""
    import torch

    temp = torch.einsum("i j k l, j r -> i r k l", t, wb)
    return torch.einsum("i j k l, i r -> r j k l", temp, wa)


def _scale(module: NetworkModule, dim: int | None) -> float:
    """A1111 ``calc_scale``: an explicit ``scale`` tensor, else alpha/rank, else 1."""
    t = module.tensors
    if "scale" in t:
        return float(t["scale"].item())
    if dim is not None and "alpha" in t:
        return float(t["alpha"].item()) / dim
    return 1.0


def _factor_rank(module: NetworkModule) -> int | None:
    """The rank A1111's alpha/rank uses for a LoRA, LoHa or LoKr module (None: no alpha scaling)."""
    t = module.tensors
    if module.kind == "lora":
        return int(t["lora_down"].shape[0])
    if module.kind == "loha":
        return int(t["hada_w1_b"].shape[0])
    if "lokr_w2" not in t:
        return int(t["lokr_w2_b"].shape[0])
    return int(t["lokr_w1_b"].shape[0]) if "lokr_w1" not in t else None


_FOLDABLE = ("lora", "loha", "lokr")


def _raw_delta(module: NetworkModule, get: Any, factor: float) -> tuple[Any, int | None, Any]:
    """(delta, rank used for alpha/rank, bias delta) of one module, as A1111 builds them.

    ``factor`` multiplies a small factor matrix (LoRA's up, LoHa's w1_a, LoKr's w1) of the kinds in
    ``_FOLDABLE`` instead of the full-size product: the same value with one pass over the layer less,
    which matters when a LyCORIS file touches every weight of the UNet. Other kinds ignore it.
    """
    import torch

    t = module.tensors
    if module.kind == "lora":
        up, down = get("lora_up"), get("lora_down")
        rank = int(down.shape[0])
        up2, down2 = up.reshape(up.shape[0], -1) * factor, down.reshape(rank, -1)
        if "lora_mid" in t:
            return torch.einsum("n m k l, i n, m j -> i j k l", get("lora_mid"), up2, down2), rank, None
        return up2 @ down2, rank, None
    if module.kind == "loha":
        w1a, w1b, w2a, w2b = (get(r) for r in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"))
        w1a = w1a * factor
        rank = int(w1b.shape[0])
        part1 = _make_cp(get("hada_t1"), w1a, w1b) if "hada_t1" in t else w1a @ w1b.reshape(rank, -1)
        if "hada_t2" in t:
            part2 = _make_cp(get("hada_t2"), w2a, w2b)
        else:
            part2 = (w2a @ w2b.reshape(w2b.shape[0], -1)).reshape(part1.shape)
        return part1.mul_(part2), rank, None  # part1 is a fresh product: safe in place
    if module.kind == "lokr":
        dim: int | None = None
        if "lokr_w1" in t:
            w1 = get("lokr_w1")
        else:
            w1 = get("lokr_w1_a") @ get("lokr_w1_b")
            dim = int(t["lokr_w1_b"].shape[0])
        if "lokr_w2" in t:
            w2 = get("lokr_w2")
        else:
            w2a, w2b = get("lokr_w2_a"), get("lokr_w2_b")
            dim = int(w2b.shape[0])
            w2 = _make_cp(get("lokr_t2"), w2a, w2b) if "lokr_t2" in t else w2a @ w2b
        w1 = w1 * factor
        if w2.dim() == 4:
            w1 = w1.unsqueeze(2).unsqueeze(2)
        return torch.kron(w1, w2.contiguous()), dim, None
    if module.kind == "full":
        return get("diff"), None, get("diff_b") if "diff_b" in t else None
    return get("w_norm"), None, get("b_norm") if "b_norm" in t else None


def _weight_decompose(delta: Any, weight: Any, dora_scale: Any) -> Any:
    """A1111 ``apply_weight_decompose``: (W+ΔW)·m/‖W+ΔW‖ − W.

    The norm runs per output row when the magnitude has one value per output (LyCORIS ``wd_on_out``,
    PEFT ``lora_magnitude_vector``) and per input column when it has one per input (kohya, A1111).
    """
    merged = weight + delta
    out_dim, extra = int(weight.shape[0]), [1] * (weight.dim() - 1)
    per_row = dora_scale.dim() == 1 or (int(dora_scale.shape[0]) == out_dim and int(dora_scale.shape[1]) == 1)
    if per_row:
        norm = merged.reshape(out_dim, -1).norm(dim=1).reshape(out_dim, *extra)
    else:
        in_dim = int(weight.shape[1])
        norm = merged.transpose(0, 1).reshape(in_dim, -1).norm(dim=1).reshape(in_dim, *extra).transpose(0, 1)
    return merged * (dora_scale.reshape(norm.shape) / norm) - weight


def compute_delta(module: NetworkModule, weight: Any, multiplier: float = 1.0) -> tuple[Any, Any]:
    """(ΔW, Δbias or None) of ``module`` at ``multiplier`` for the float32 ``weight`` it targets.

    Follows A1111's ``calc_updown`` + ``finalize_updown``: reshape to the layer, scale by alpha/rank,
    then DoRA's weight decomposition, then the user's multiplier; the bias delta (``diff_b``/``b_norm``,
    also a ``diff_b`` stored beside LoRA/LyCORIS factors) is scaled by the multiplier only. GLoRA, OFT,
    BOFT and ``set_weight`` read ``weight`` (:mod:`core.render.lora_dialects`). The result is always a
    new tensor the caller may modify.
    """
    import torch

    def get(role: str) -> Any:
        return module.tensors[role].to(device=weight.device, dtype=torch.float32)

    shape = tuple(weight.shape)
    folded = module.kind in _FOLDABLE and not module.dora
    if folded:  # alpha/rank and the multiplier ride on a small factor matrix
        factor = _scale(module, _factor_rank(module)) * multiplier
        delta, _, bias = _raw_delta(module, get, factor)
    elif module.kind in WEIGHT_DEPENDENT:
        delta, dim = weight_dependent_delta(module.kind, get, module.tensors, weight)
        bias = None
    elif module.kind == "bias":
        delta, dim, bias = torch.zeros_like(weight), None, None
    else:
        delta, dim, bias = _raw_delta(module, get, 1.0)
    if bias is None and "diff_b" in module.tensors:  # a bias delta stored beside the factors
        bias = get("diff_b")
    if delta.numel() != weight.numel() and len(shape) == 4 and shape[1] == 9:
        delta = torch.nn.functional.pad(delta.reshape(shape[0], 4, *shape[2:]), (0, 0, 0, 0, 0, 5))
    delta = delta.reshape(shape)
    if not folded:
        scale = _scale(module, dim)
        if module.dora:
            delta = _weight_decompose(delta * scale, weight, get("dora_scale")).mul_(multiplier)
        else:
            delta = delta * (scale * multiplier)  # not in place: "diff" may be the file's own tensor
    if bias is not None:
        bias = bias.reshape(-1) * multiplier
    return delta, bias


# ------------------------------------------------------------------------------------------------ patching


@dataclass(slots=True)
class _Backup:
    """A layer's original weight and bias, and what is merged into it now.

    On the CPU the original weight *is* the backup: the layer gets a new merged Parameter and the
    original object is put back on restore, which saves copying every touched weight (a LyCORIS file can
    touch the whole UNet). On an accelerator the original is copied to the CPU instead, so the backup
    does not take device memory, and the merge writes into the layer's own tensor.

    ``signature`` names the merged set ((id of network module, multiplier) per item, in order) and
    ``anchor`` keeps those network modules alive while the merge is live; ``bias_total`` is the summed
    bias delta of that set (None: the set changes no bias).
    """

    target: LoraTarget
    weight: Any
    bias: Any  # original bias (None if the layer had none)
    bias_created: bool = False
    swapped: bool = False
    signature: tuple[tuple[int, float], ...] = ()
    anchor: tuple[NetworkModule, ...] = ()
    bias_total: Any = None


def _is_plain_lora(module: NetworkModule, weight: Any) -> bool:
    """A kohya/PEFT LoRA or LoCon layer without Tucker or DoRA whose product has the layer's size
    (not a 4-channel delta for an inpainting ``conv_in``): its merge is one fused ``addmm``."""
    if module.kind != "lora" or module.dora or "lora_mid" in module.tensors:
        return False
    up, down = module.tensors["lora_up"], module.tensors["lora_down"]
    return int(up.shape[0]) * (int(down.numel()) // int(down.shape[0])) == math.prod(logical_shape(weight))


def _is_plain_loha(module: NetworkModule, weight: Any) -> bool:
    """A LoHa layer without Tucker factors or DoRA whose product has the layer's size (not a 4-channel
    delta for an inpainting ``conv_in``)."""
    t = module.tensors
    if module.kind != "loha" or module.dora or "hada_t1" in t or "hada_t2" in t:
        return False
    return int(t["hada_w1_a"].shape[0]) * (
        int(t["hada_w1_b"].numel()) // int(t["hada_w1_b"].shape[0])
    ) == math.prod(logical_shape(weight))


def _signature(items: Sequence[tuple[NetworkModule, float]]) -> tuple[tuple[int, float], ...]:
    return tuple((id(module), float(multiplier)) for module, multiplier in items)


def _idle_key(backup: _Backup, signature: tuple[tuple[int, float], ...]) -> tuple[Any, ...]:
    return ("merged", id(backup.target.module), id(backup.weight), signature)


def _reusable_output(backup: _Backup, param: Any) -> Any:
    """The merged tensor of a previous apply, to write the new merge into (None on the first apply).

    Reusing it avoids allocating (and page-faulting) a new copy of every touched weight when only a
    LoRA weight changed.
    """
    import torch

    if backup.swapped and param is not backup.weight and param.dtype == torch.float32:
        return param.data
    return None


@dataclass(slots=True)
class _Match:
    found: list[tuple[LoraTarget, NetworkModule]]
    missing: list[str]


def _context_width(pipe: Any) -> int | None:
    unet = getattr(pipe, "unet", None)
    width = getattr(getattr(unet, "config", None), "cross_attention_dim", None)
    if isinstance(width, list | tuple):
        width = width[0]
    return int(width) if isinstance(width, int) else None


def _describe_width(width: int | None) -> str:
    if width is None:
        return "an unknown model"
    name = _CONTEXT_ARCH.get(width)
    return f"{name} ({width}-wide cross-attention)" if name else f"a UNet with {width}-wide cross-attention"


def _describe_checkpoint(pipe: Any) -> str:
    """The loaded model's family for messages: a DiT family by name, an SD UNet by its width."""
    label = checkpoint_label(pipe)  # a transformer family, as core.identify names it
    return label if label is not None else _describe_width(_context_width(pipe))


def _network_width(network: LoraNetwork) -> int | None:
    """Cross-attention width a LoRA was trained for, from an ``attn2.to_k`` layer's input size."""
    for alias, module in network.modules.items():
        if "attn2" not in alias or not alias.replace(".", "_").endswith("attn2_to_k"):
            continue
        t = module.tensors
        if module.kind == "lora":
            return int(t["lora_down"].shape[1])
        if module.kind == "loha":
            return int(t["hada_w1_b"].shape[1])
        if module.kind == "full":
            return int(t["diff"].shape[1])
        if module.kind == "set":
            return int(t["set_weight"].shape[1])
        if module.kind == "lokr":
            w1 = t["lokr_w1"].shape[1] if "lokr_w1" in t else t["lokr_w1_b"].shape[1]
            w2 = t["lokr_w2"].shape[1] if "lokr_w2" in t else t["lokr_w2_b"].shape[1]
            return int(w1) * int(w2)
    return None


def _made_for(network: LoraNetwork) -> str:
    label = made_for_label(network.families)  # a transformer family, identified by core.identify
    if label is not None:
        return label
    width = _network_width(network)
    if width is not None:
        return _describe_width(width)
    aliases = list(network.modules)
    if any(a.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.")) for a in aliases):
        return "SDXL (two text encoders)"
    if any(a.startswith("lora_te_") for a in aliases):
        return "SD1/SD2 (one text encoder)"
    return "another architecture"


class LoraPatcher:
    """Applies LoRAs to one pipeline's UNet (or transformer) and text encoders; restores the originals.

    Plain LoRA layers run unfused where :func:`~core.render.lora_unfused.prefers_unfused` says so
    (``unfused=None``; True runs every plain LoRA layer unfused, False merges everything): a forward
    hook per layer adds their low-rank paths, their weights are never touched, and a new multiplier
    is a new scale. The rest is merged: originals are kept the first time a layer is touched and
    while any applied LoRA targets it; each :meth:`apply` sets every touched layer whose set changed
    to "original + Σ multiplier·delta" in float32. On the CPU the merged weights of switched-off sets
    stay in a :class:`LayerCache` within ``cache_budget_bytes`` (default:
    :func:`~core.render.memory.layer_cache_budget` of the pipeline's weights and the memory
    available), so switching a set back on puts its merged weights back.
    """

    def __init__(
        self, pipe: Any, *, cache_budget_bytes: int | None = None, unfused: bool | None = None
    ) -> None:
        self._pipe = pipe
        self._targets = target_modules(pipe)
        self._backups: dict[int, _Backup] = {}  # id(module) -> originals
        # Plain LoRA layers applied beside the layer (core.render.lora_unfused): None lets
        # prefers_unfused decide per layer, True runs every plain LoRA layer unfused, False merges all.
        self._unfused = unfused
        self._adapters: dict[int, LayerAdapters] = {}  # id(module) -> its forward hook
        # (id(network module), id(layer)) -> (network module, layer, down, up) in the layer's dtype
        self._factors: dict[tuple[int, int], tuple[NetworkModule, Any, Any, Any]] = {}
        self._device_type: str | None = None  # where the pipeline runs, read at each apply
        if cache_budget_bytes is None:
            cache_budget_bytes = layer_cache_budget(pipeline_bytes(pipe), available_memory_bytes())
        self.cache = LayerCache(cache_budget_bytes)
        self._scratch: Any = None  # two float32 buffers reused by the layers of one merge

    @property
    def patched_layers(self) -> int:
        """Layers a LoRA changes now, merged or unfused."""
        return len(self._backups.keys() | self._adapters.keys())

    @property
    def unfused_layers(self) -> int:
        """Layers whose LoRAs run beside the layer (their weights are untouched)."""
        return sum(1 for adapters in self._adapters.values() if adapters.paths)

    def apply(self, uses: Sequence[LoraApplication]) -> list[str]:
        """Replace the merged LoRAs by ``uses``; returns warnings for the user.

        Every network is checked against the checkpoint before a weight changes. On any error the
        weights are left fully restored (never half-merged) and the error is raised.
        """
        warnings: list[str] = []
        plan: dict[int, list[tuple[NetworkModule, float]]] = {}
        targets: dict[int, LoraTarget] = {}
        try:
            for use in uses:
                if use.unet_weight == 0 and use.text_encoder_weight == 0:
                    continue
                match = self._match(use)
                warnings += self._warnings(use, match)
                for target, module in match.found:
                    weight = use.unet_weight if target.component in DENOISERS else use.text_encoder_weight
                    if weight == 0:
                        continue
                    targets[id(target.module)] = target
                    plan.setdefault(id(target.module), []).append((module, float(weight)))
            merged, unfused = self._split(plan, targets)
            self._merge(merged, targets)
            self._attach(unfused, targets)
        except BaseException:
            self.restore()
            raise
        return warnings

    def restore(self) -> None:
        """Put back every original weight (and remove biases that merging created), remove every
        unfused LoRA's hook; empty the cache."""
        import torch

        for adapters in self._adapters.values():
            adapters.remove()
        self._adapters.clear()
        self._factors.clear()
        with torch.no_grad():
            for backup in self._backups.values():
                self._restore_one(backup, keep=False)
        self._backups.clear()
        self.cache.clear()

    # ------------------------------------------------------------------------------------------ internals

    def _match(self, use: LoraApplication) -> _Match:
        conflict = family_conflict(use.network.families, self._pipe)  # e.g. a Qwen-Image LoRA on Flux
        if conflict is not None:
            raise LoraMismatchError(f"LoRA '{use.label}' does not fit this checkpoint: {conflict}.")
        found: list[tuple[LoraTarget, NetworkModule]] = []
        missing: list[str] = []
        for alias, module in use.network.modules.items():
            target = self._targets.get(alias)
            if target is None:
                missing.append(alias)
                continue
            if not _fits(module, target.weight_shape):
                rows, count = delta_shape(module)
                made_for, here = _made_for(use.network), _describe_checkpoint(self._pipe)
                cause = (
                    f"made for {made_for} layers, but the checkpoint is {here}. " if made_for != here else ""
                )
                raise LoraMismatchError(
                    f"LoRA '{use.label}' does not fit this checkpoint: {cause}"
                    f"Layer '{target.describe()}' is {target.weight_shape} here, the LoRA changes "
                    f"{rows} rows / {count} values."
                )
            found.append((target, module))
        if not found:
            total = len(use.network.modules)
            made_for, here = _made_for(use.network), _describe_checkpoint(self._pipe)
            if made_for == here:  # the right model, but a naming dialect this table does not hold
                raise LoraMismatchError(
                    f"LoRA '{use.label}' names its layers in a way Atelier does not recognise "
                    f"(e.g. '{missing[0]}'), so none of its {total} layers could be applied."
                )
            raise LoraMismatchError(
                f"LoRA '{use.label}' does not fit this checkpoint: made for {made_for} "
                f"layers; none of its {total} layers exist in this checkpoint "
                f"({here}, e.g. no '{missing[0]}')."
            )
        return _Match(found, missing)

    @staticmethod
    def _warnings(use: LoraApplication, match: _Match) -> list[str]:
        notes: list[str] = []
        network = use.network
        if match.missing:
            total = len(match.missing) + len(match.found)
            notes.append(
                f"LoRA '{use.label}': {len(match.missing)} of {total} layers do not exist in this "
                f"checkpoint and were skipped (e.g. '{match.missing[0]}')."
            )
        for label, count in sorted(network.unsupported.items()):
            notes.append(f"LoRA '{use.label}': {count} {label} layers are not supported and were skipped.")
        if network.ignored_keys:
            notes.append(
                f"LoRA '{use.label}': {len(network.ignored_keys)} tensors were not understood and ignored "
                f"(e.g. '{network.ignored_keys[0]}')."
            )
        return notes

    def _runs_unfused(self, module: NetworkModule, layer: Any) -> bool:
        """Whether this LoRA layer is applied beside ``layer`` instead of merged into its weight (always,
        for a plain LoRA on a GGUF-quantized layer)."""
        quantized = is_quantized_layer(layer)
        if (
            (self._unfused is False and not quantized)
            or "diff_b" in module.tensors
            or not can_run_unfused(layer)
        ):
            return False
        if not _is_plain_lora(module, layer.weight):
            return False
        up, rank = module.tensors["lora_up"], int(module.tensors["lora_down"].shape[0])
        if int(up.numel()) != int(up.shape[0]) * rank:
            return False
        return True if self._unfused or quantized else prefers_unfused(layer, rank, self._device_type)

    def _split(
        self, plan: Mapping[int, list[tuple[NetworkModule, float]]], targets: Mapping[int, LoraTarget]
    ) -> tuple[dict[int, list[tuple[NetworkModule, float]]], dict[int, list[LowRank]]]:
        """(items merged into weights, low-rank paths run unfused) per layer, in the plan's order."""
        import torch

        merged: dict[int, list[tuple[NetworkModule, float]]] = {}
        unfused: dict[int, list[LowRank]] = {}
        used: set[tuple[int, int]] = set()
        self._device_type = execution_device_type(self._pipe)
        with torch.no_grad():
            for key, items in plan.items():
                layer = targets[key].module
                for module, multiplier in items:
                    if not self._runs_unfused(module, layer):
                        merged.setdefault(key, []).append((module, multiplier))
                        continue
                    factor_key = (id(module), key)
                    cached = self._factors.get(factor_key) or self.cache.pop(("factors", *factor_key))
                    if cached is None:
                        down, up = low_rank_factors(
                            layer, module.tensors["lora_down"], module.tensors["lora_up"]
                        )
                        cached = (module, layer, down, up)
                    self._factors[factor_key] = cached
                    used.add(factor_key)
                    rank = int(cached[2].shape[0])
                    unfused.setdefault(key, []).append(
                        LowRank(cached[2], cached[3], _scale(module, rank) * multiplier)
                    )
        for factor_key in [k for k in self._factors if k not in used]:
            # a LoRA switched off: its converted factors wait in the budgeted cache for its return
            entry = self._factors.pop(factor_key)
            self.cache.put(("factors", *factor_key), entry, tensor_bytes(entry[2], entry[3]), anchor=entry)
        return merged, unfused

    def _attach(self, unfused: Mapping[int, list[LowRank]], targets: Mapping[int, LoraTarget]) -> None:
        """Give each layer its unfused LoRAs' paths (a hook installed once), remove the other hooks."""
        for key in [key for key in self._adapters if key not in unfused]:
            self._adapters.pop(key).remove()
        for key, paths in unfused.items():
            adapters = self._adapters.get(key)
            if adapters is None:
                adapters = self._adapters[key] = LayerAdapters(targets[key].module)
            adapters.paths = paths
            adapters.install()

    def _merge(
        self, plan: Mapping[int, list[tuple[NetworkModule, float]]], targets: Mapping[int, LoraTarget]
    ) -> None:
        import torch

        with torch.no_grad():
            for key in [key for key in self._backups if key not in plan]:
                self._restore_one(self._backups.pop(key), keep=True)
            try:
                for key, items in plan.items():
                    target = targets[key]
                    backup = self._backups.get(key)
                    if backup is None:
                        backup = self._backup(target)
                        self._backups[key] = backup
                    self._merge_one(backup, items)
            finally:
                self._scratch = None

    @staticmethod
    def _backup(target: LoraTarget) -> _Backup:
        module = target.module
        bias = getattr(module, "bias", None)
        original_bias = None if bias is None else bias.detach().to("cpu", copy=True)
        if module.weight.device.type == "cpu" or is_quantized(module.weight):
            # a GGUF layer's quantized weight is kept as it is: the merge runs on a dequantized copy
            return _Backup(target, module.weight, original_bias, swapped=True)
        return _Backup(target, module.weight.detach().to("cpu", copy=True), original_bias)

    def _scratch_pair(self, count: int, device: Any) -> tuple[Any, Any]:
        """Two float32 buffers of at least ``count`` values, reused by every layer of one merge."""
        import torch

        scratch = self._scratch
        if scratch is None or scratch[0].device != device or int(scratch[0].numel()) < count:
            scratch = self._scratch = tuple(
                torch.empty(count, device=device, dtype=torch.float32) for _ in range(2)
            )
        return scratch[0][:count], scratch[1][:count]

    def _merged(
        self,
        base: Any,
        items: Sequence[tuple[NetworkModule, float]],
        out: Any,
        *,
        merged_so_far: tuple[Any, Any] | None = None,
    ) -> tuple[Any, Any]:
        """(original + Σ multiplier·ΔW, Σ multiplier·Δbias or None) in float32, into ``out`` if given.

        Plain LoRAs are fused ``addmm`` passes and plain LoHas ``addcmul`` passes of two products
        written into reused scratch buffers, so neither makes a full-size temporary per layer (a
        full-UNet LoHa would otherwise allocate, and page-fault, its size several times over); every
        other type goes through :func:`compute_delta`. The multiplier and alpha/rank ride on a small
        factor matrix, as in :func:`compute_delta`.

        ``merged_so_far`` is (float32 weight, bias total) of the items before ``items``, merged by this
        same method: ``items`` are added to it in place, which is the very arithmetic a merge of the
        whole list does after those items, so the result is bit for bit the same.
        """
        import torch

        rows = int(base.shape[0])
        flat_base = base.reshape(rows, -1)
        merged: Any = None if out is None else out.reshape(rows, -1)
        started = False
        bias_total: Any = None
        if merged_so_far is not None:
            merged, bias_total = merged_so_far[0].reshape(rows, -1), merged_so_far[1]
            started = True
        for module, multiplier in items:
            t = module.tensors

            def get(role: str, t: Mapping[str, Any] = t) -> Any:
                return t[role].to(device=base.device, dtype=torch.float32)

            bias = None
            if _is_plain_lora(module, base):
                down, up = get("lora_down"), get("lora_up")
                rank = int(down.shape[0])
                up2, down2 = up.reshape(rows, -1), down.reshape(rank, -1)
                factor = _scale(module, rank) * multiplier
                if not started:
                    merged = torch.addmm(flat_base, up2, down2, alpha=factor, out=merged)
                else:
                    merged.addmm_(up2, down2, alpha=factor)
            elif _is_plain_loha(module, base):
                w1a, w1b, w2a, w2b = (get(r) for r in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"))
                rank = int(w1b.shape[0])
                first, second = self._scratch_pair(int(base.numel()), base.device)
                part1, part2 = first.view(flat_base.shape), second.view(flat_base.shape)
                torch.mm(w1a * (_scale(module, rank) * multiplier), w1b.reshape(rank, -1), out=part1)
                torch.mm(w2a, w2b.reshape(int(w2b.shape[0]), -1), out=part2)
                if not started:
                    merged = torch.addcmul(flat_base, part1, part2, out=merged)
                else:
                    merged.addcmul_(part1, part2)
            else:
                delta, bias = compute_delta(module, base, multiplier)
                if not started:
                    merged = torch.add(flat_base, delta.reshape(rows, -1), out=merged)
                else:
                    merged.add_(delta.reshape(rows, -1))
            if bias is None and "diff_b" in t:  # a bias delta stored beside plain LoRA/LoHa factors
                bias = get("diff_b").reshape(-1) * multiplier
            if bias is not None:
                bias_total = bias if bias_total is None else bias_total.add_(bias)
            started = True
        return merged.reshape(base.shape), bias_total

    def _merge_one(self, backup: _Backup, items: Sequence[tuple[NetworkModule, float]]) -> None:
        import torch

        signature = _signature(items)
        if signature == backup.signature:
            return  # this layer's set and multipliers did not change: its merged weight is current
        module = backup.target.module
        param = module.weight
        anchor = tuple(network_module for network_module, _ in items)
        if backup.swapped:
            idle = self.cache.pop(_idle_key(backup, signature))
            if idle is not None:  # this set was merged before and switched off: put it back
                self._stash_live(backup)
                module.weight, idle_bias = idle
                backup.signature, backup.anchor, backup.bias_total = signature, anchor, idle_bias
                self._set_bias(backup, idle_bias)
                return
        base = dequantized(backup.weight, torch.float32, param.device)
        live = _reusable_output(backup, param)
        count = len(backup.signature)
        if live is not None and 0 < count < len(signature) and signature[:count] == backup.signature:
            # the live merge is this set's beginning (a LoRA was added after the others): add the rest
            merged, bias_total = self._merged(
                base, items[count:], None, merged_so_far=(live, backup.bias_total)
            )
        else:
            merged, bias_total = self._merged(base, items, live)
        if backup.swapped:
            if merged.data_ptr() != param.data_ptr():
                dtype = compute_dtype(module) if is_quantized(backup.weight) else backup.weight.dtype
                module.weight = torch.nn.Parameter(merged.to(dtype), requires_grad=False)
        else:
            param.copy_(merged)  # copy_ casts to the layer dtype in the same pass
        backup.signature, backup.anchor, backup.bias_total = signature, anchor, bias_total
        self._set_bias(backup, bias_total)

    def _stash_live(self, backup: _Backup) -> None:
        """Keep the layer's current merged weight as idle in the cache, to be put back if its set
        returns (CPU layers only: there the merged weight is a tensor of its own)."""
        module = backup.target.module
        if not backup.swapped or not backup.signature or module.weight is backup.weight:
            return
        self.cache.put(
            _idle_key(backup, backup.signature),
            (module.weight, backup.bias_total),
            tensor_bytes(module.weight, backup.bias_total),
            anchor=(backup.anchor, module, backup.weight),
        )

    @staticmethod
    def _set_bias(backup: _Backup, bias_total: Any) -> None:
        """Set the layer's bias to original + ``bias_total`` (the original when None)."""
        import torch

        module = backup.target.module
        param = module.weight
        if bias_total is None:
            if backup.bias is not None:
                module.bias.copy_(backup.bias)
            elif backup.bias_created:
                module.bias = None
                backup.bias_created = False
            return
        if backup.bias is None:
            if not backup.bias_created:
                module.bias = torch.nn.Parameter(
                    torch.zeros(param.shape[0], device=param.device, dtype=param.dtype), requires_grad=False
                )
                backup.bias_created = True
            module.bias.copy_(bias_total.to(param.dtype))
        else:
            original = backup.bias.to(device=param.device, dtype=torch.float32)
            module.bias.copy_((original + bias_total).to(module.bias.dtype))

    def _restore_one(self, backup: _Backup, *, keep: bool) -> None:
        """Put the layer's original weight and bias back; with ``keep``, its merged weight stays idle
        in the cache."""
        module = backup.target.module
        if keep:
            self._stash_live(backup)
        if backup.swapped:
            module.weight = backup.weight
        else:
            module.weight.copy_(backup.weight)
        if backup.bias is not None:
            module.bias.copy_(backup.bias)
        elif backup.bias_created:
            module.bias = None
        backup.signature, backup.anchor, backup.bias_total = (), (), None
