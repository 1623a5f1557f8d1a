"""Tiny LoRA files in every dialect other UIs apply, for a tiny SD1 pipeline (``tiny_pipeline``).

Each generator returns a :class:`DialectFile`: the tensors to save, named as the dialect's trainer
names them, and per target layer the raw factors it wrote, so a test can compute the expected weight
with the dialect's own formula. Names and layouts:

* GLoRA (LyCORIS) in its old (``a1 (r,in) a2 (in,r) b1 (r,in) b2 (out,r)``) and new
  (``a1 (in,r) a2 (r,in) b1 (out,r) b2 (r,in)``) layouts, with ``alpha``;
* OFT: kohya (``oft_unet_`` prefix, ``oft_blocks`` + ``alpha`` constraint), LyCORIS diag-OFT
  (``oft_blocks`` with ``rescale``), old LyCORIS ``oft_diag`` (the rotations themselves);
* BOFT (LyCORIS butterfly, 4-D ``oft_blocks``);
* ComfyUI ``set_weight`` (full replacement) and ``diff_b`` bias deltas beside LoRA/LoHa factors or alone;
* key dialects: SimpleTuner ``lycoris_`` (LoKr), PEFT ``base_model.model.`` with ``.default``, the old
  PEFT script's ``unet.base_model.model.``, ComfyUI ``text_encoders.clip_l.transformer.``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

A0 = "down_blocks.0.attentions.0.transformer_blocks.0"
MID = "mid_block.attentions.0.transformer_blocks.0"
UNET_LINEARS = (f"{A0}.attn1.to_q", f"{A0}.attn2.to_k", f"{A0}.ff.net.2", f"{MID}.attn2.to_v")
# module paths in the loaded CLIPTextModel (transformers 5 has no ``text_model`` level; files still name it)
TEXT_LINEARS = ("encoder.layers.0.self_attn.q_proj", "encoder.layers.1.mlp.fc2")
CONV = "down_blocks.0.resnets.0.conv1"  # 32 -> 32, 3x3
GROUP_NORM = "down_blocks.0.attentions.0.norm"


@dataclass
class DialectLayer:
    """One target layer: its component ("unet"/"text_encoder"), module path and the factors written."""

    component: str
    path: str
    factors: dict[str, torch.Tensor]


@dataclass
class DialectFile:
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    layers: list[DialectLayer] = field(default_factory=list)

    def add(self, component: str, path: str, name: str, factors: dict[str, torch.Tensor]) -> None:
        """Store ``factors`` under ``name.<role>`` (roles already carry their own ``.weight``)."""
        self.tensors |= {f"{name}.{role}": tensor for role, tensor in factors.items()}
        self.layers.append(DialectLayer(component, path, factors))


def weight_of(pipe: Any, component: str, path: str) -> torch.Tensor:
    weight: torch.Tensor = getattr(pipe, component).get_submodule(path).weight.detach().float()
    return weight


def kohya_name(component: str, path: str, prefix: str = "lora") -> str:
    if component == "unet":
        return f"{prefix}_unet_{path.replace('.', '_')}"
    return f"lora_te_text_model_{path.replace('.', '_')}"


def _rand(g: torch.Generator, *shape: int, scale: float = 0.15) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * scale


def _targets() -> list[tuple[str, str]]:
    return [("unet", p) for p in UNET_LINEARS] + [("text_encoder", p) for p in TEXT_LINEARS]


def glora(pipe: Any, *, old: bool, seed: int = 31) -> DialectFile:
    """GLoRA on UNet/text linears (and, new layout, a 3x3 conv), rank 4, alpha 2."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    rank = 4
    targets = _targets() + ([] if old else [("unet", CONV)])
    for component, path in targets:
        shape = weight_of(pipe, component, path).shape
        rows, cols = shape[0], shape[1]
        if old:
            factors = {
                "a1.weight": _rand(g, rank, cols),
                "a2.weight": _rand(g, cols, rank),
                "b1.weight": _rand(g, rank, cols),
                "b2.weight": _rand(g, rows, rank),
            }
        else:
            factors = {
                "a1.weight": _rand(g, cols, rank),
                "a2.weight": _rand(g, rank, cols),
                "b1.weight": _rand(g, rows, rank),
                "b2.weight": _rand(g, rank, cols, *shape[2:]),
            }
        factors["alpha"] = torch.tensor(2.0)
        out.add(component, path, kohya_name(component, path), factors)
    return out


def _skew_blocks(g: torch.Generator, *shape: int) -> torch.Tensor:
    return _rand(g, *shape, scale=0.1)


def kohya_oft(pipe: Any, *, alpha: float = 1e-3, seed: int = 32) -> DialectFile:
    """kohya OFT (UNet only, ``oft_unet_``): 4 blocks per layer; alpha small enough that the
    constraint ``alpha·out_dim`` clamps the generator's norm on every layer."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    for path in [*UNET_LINEARS, CONV]:
        rows = weight_of(pipe, "unet", path).shape[0]
        factors = {"oft_blocks": _skew_blocks(g, 4, rows // 4, rows // 4), "alpha": torch.tensor(alpha)}
        out.add("unet", path, kohya_name("unet", path, prefix="oft"), factors)
    return out


def lycoris_oft(pipe: Any, *, seed: int = 33) -> DialectFile:
    """LyCORIS diag-OFT: block size 8, no constraint (alpha 0), a per-row ``rescale`` on half the layers."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    for i, (component, path) in enumerate([*_targets()[:5], ("unet", CONV)]):
        shape = weight_of(pipe, component, path).shape
        rows = shape[0]
        factors = {"oft_blocks": _skew_blocks(g, rows // 8, 8, 8), "alpha": torch.tensor(0.0)}
        if i % 2:
            factors["rescale"] = 1 + _rand(g, rows, *[1] * (len(shape) - 1), scale=0.2)
        out.add(component, path, kohya_name(component, path), factors)
    return out


def lycoris_oft_diag(pipe: Any, *, seed: int = 34) -> DialectFile:
    """Old LyCORIS OFT: ``oft_diag`` holds orthogonal blocks (here from a QR decomposition)."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    for component, path in _targets()[:3]:
        rows = weight_of(pipe, component, path).shape[0]
        blocks = torch.linalg.qr(_rand(g, rows // 4, 4, 4, scale=1.0)).Q
        out.add(component, path, kohya_name(component, path), {"oft_diag": blocks})
    return out


def boft(pipe: Any, *, seed: int = 35) -> DialectFile:
    """LyCORIS BOFT: 3 butterfly stages of blocks of 4 on 32- and 64-row layers, constraint alpha 1e-3."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    for component, path in [*_targets()[:3], ("unet", UNET_LINEARS[3]), ("unet", CONV)]:
        rows = weight_of(pipe, component, path).shape[0]
        factors = {"oft_blocks": _skew_blocks(g, 3, rows // 4, 4, 4), "alpha": torch.tensor(1e-3)}
        out.add(component, path, kohya_name(component, path), factors)
    return out


def set_weight(pipe: Any, *, seed: int = 36) -> DialectFile:
    """ComfyUI ``set_weight``: each layer's weight replaced outright (a conv and linears)."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    for component, path in [*_targets(), ("unet", CONV)]:
        shape = weight_of(pipe, component, path).shape
        out.add(component, path, kohya_name(component, path), {"set_weight": _rand(g, *shape)})
    return out


def diff_b_beside_factors(pipe: Any, *, seed: int = 37) -> DialectFile:
    """``diff_b`` beside a plain LoRA (kohya), a LoHa, a DoRA LoRA, and alone on a GroupNorm."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    rank = 4
    for i, (component, path) in enumerate(_targets()):
        shape = weight_of(pipe, component, path).shape
        rows, cols = shape
        if i % 3 == 1:
            factors = {
                "hada_w1_a": _rand(g, rows, rank),
                "hada_w1_b": _rand(g, rank, cols),
                "hada_w2_a": _rand(g, rows, rank),
                "hada_w2_b": _rand(g, rank, cols),
            }
        else:
            factors = {"lora_down.weight": _rand(g, rank, cols), "lora_up.weight": _rand(g, rows, rank)}
            if i % 3 == 2:
                weight = weight_of(pipe, component, path)
                factors["dora_scale"] = weight.norm(dim=0, keepdim=True) * 1.1
        factors |= {"alpha": torch.tensor(2.0), "diff_b": _rand(g, rows, scale=0.05)}
        out.add(component, path, kohya_name(component, path), factors)
    rows = weight_of(pipe, "unet", GROUP_NORM).shape[0]
    out.add("unet", GROUP_NORM, kohya_name("unet", GROUP_NORM), {"diff_b": _rand(g, rows, scale=0.05)})
    return out


def simpletuner_lycoris_lokr(pipe: Any, *, seed: int = 38) -> DialectFile:
    """SimpleTuner's LyCORIS LoKr: ``lycoris_`` + the diffusers path with dots flattened (UNet only)."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    for path in UNET_LINEARS:
        rows, cols = weight_of(pipe, "unet", path).shape
        factors = {"lokr_w1": _rand(g, 4, 4, scale=0.5), "lokr_w2": _rand(g, rows // 4, cols // 4, scale=0.3)}
        out.add("unet", path, f"lycoris_{path.replace('.', '_')}", factors)
    return out


def peft_named(pipe: Any, *, seed: int = 39) -> DialectFile:
    """PEFT names: ``base_model.model.<unet path>`` with ``.default``, ``unet.base_model.model.``, and the
    text encoder's ``base_model.model.text_model.…`` (rank 4, no alpha: scale 1)."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    rank = 4
    for i, (component, path) in enumerate(_targets()):
        rows, cols = weight_of(pipe, component, path).shape
        a, b = _rand(g, rank, cols), _rand(g, rows, rank)
        if component == "unet" and i % 2:
            out.add(
                component, path, f"unet.base_model.model.{path}", {"lora_A.weight": a, "lora_B.weight": b}
            )
        elif component == "unet":
            out.add(
                component,
                path,
                f"base_model.model.{path}",
                {"lora_A.default.weight": a, "lora_B.default.weight": b},
            )
        else:
            name = f"base_model.model.text_model.{path}"
            out.add(component, path, name, {"lora_A.weight": a, "lora_B.weight": b})
    return out


def comfy_text_encoders(pipe: Any, *, seed: int = 40) -> DialectFile:
    """ComfyUI's generic names: ``text_encoders.clip_l.transformer.<path>`` for the text encoder and
    ``diffusion_model.<LDM path>`` for the UNet, kohya ``lora_up``/``lora_down`` with alpha."""
    g = torch.Generator().manual_seed(seed)
    out = DialectFile()
    rank = 4
    for path in TEXT_LINEARS:
        rows, cols = weight_of(pipe, "text_encoder", path).shape
        factors = {
            "lora_down.weight": _rand(g, rank, cols),
            "lora_up.weight": _rand(g, rows, rank),
            "alpha": torch.tensor(8.0),
        }
        out.add("text_encoder", path, f"text_encoders.clip_l.transformer.text_model.{path}", factors)
    rows, cols = weight_of(pipe, "unet", UNET_LINEARS[0]).shape
    factors = {"lora_down.weight": _rand(g, rank, cols), "lora_up.weight": _rand(g, rows, rank)}
    out.add(
        "unet",
        UNET_LINEARS[0],
        "diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q",
        factors,
    )
    return out
