"""Generate a realistic model library on disk for benchmarks: real layouts, sparse zero-filled data.

The mix follows what large user libraries hold (mostly LoRAs, then embeddings, some checkpoints and
VAEs) and every LoRA has the module set kohya's trainer really targets (attention and feed-forward
layers of the UNet's transformer blocks, plus the text encoder's attention and MLP when it was trained,
plus the 3x3 convolutions for LoCon), so header sizes, key counts and parse costs are those of real
files. LoRAs vary the way a real library's do (``random_recipe``: rank, text encoder or not, LoCon,
dtype, a few LyCORIS LoHa/LoKr), so a large library holds dozens of distinct tensor tables, each shared
by many files whose metadata differs - not one table for every LoRA, nor one per file.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

_UNET_TARGETS = ("attn1.to_", "attn2.to_", "ff.net.", "proj_in", "proj_out")
_TE_TARGETS = ("self_attn.", "mlp.fc")
# LoCon also adapts the ResNet blocks' 3x3 convolutions and the down/up samplers.
_CONV_TARGETS = ("resnets.", "samplers.")
_PREFIXES = {"unet": "lora_unet_", "te": "lora_te_", "te1": "lora_te1_", "te2": "lora_te2_"}


@dataclass(frozen=True)
class LoraRecipe:
    """What decides a LoRA's tensor table: trainers write the same table for the same recipe."""

    family: str  # sd1 / sdxl
    rank: int = 16
    text_encoder: bool = True
    conv: bool = False  # LoCon: 3x3 convolutions too
    dtype: str = "F16"
    algo: str = "lora"  # lora / loha / lokr


# How real libraries vary (Civitai's LoRAs): ranks skew to 16/32, most train the text encoder too, some
# are LoCon, fp16 dominates, bf16 is common, fp32 rare; LyCORIS LoHa/LoKr are a few percent.
_RANKS = ((4, 4), (8, 10), (16, 30), (32, 30), (64, 16), (128, 10))
_DTYPES = (("F16", 65), ("BF16", 25), ("F32", 10))
_ALGOS = (("lora", 94), ("loha", 3), ("lokr", 3))


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def random_recipe(rng: random.Random, family: str) -> LoraRecipe:
    """A LoRA recipe drawn with the skew of a real library: a 10,000-file library has dozens of tables."""
    algo = _pick(rng, _ALGOS)
    return LoraRecipe(
        family=family,
        rank=_pick(rng, _RANKS) if algo != "lokr" else 8,
        text_encoder=rng.random() < 0.75,
        conv=algo == "lora" and rng.random() < 0.15,
        dtype=_pick(rng, _DTYPES),
        algo=algo,
    )


@cache
def kohya_lora_specs(family: str, rank: int = 16) -> dict[str, TensorSpec]:
    """A kohya LoRA over the real module names of ``sd1-kohya`` or ``sdxl-kohya``."""
    return lora_specs(LoraRecipe(family, rank))


@cache
def lora_specs(recipe: LoraRecipe) -> dict[str, TensorSpec]:
    """The tensors kohya's trainer (LyCORIS's for LoHa/LoKr) writes for ``recipe``."""
    specs: dict[str, TensorSpec] = {}
    dtype, rank = recipe.dtype, recipe.rank
    for name, (_dtype, shape) in keyspace(f"{recipe.family}-kohya").items():
        component, _, path = name.partition(".")
        prefix = _PREFIXES.get(component)
        if prefix is None or not path.endswith(".weight") or len(shape) not in (2, 4):
            continue
        if component != "unet" and not recipe.text_encoder:
            continue
        targets = _UNET_TARGETS if component == "unet" else _TE_TARGETS
        conv = len(shape) == 4 and shape[2] > 1
        if not (
            any(t in path for t in targets)
            or (recipe.conv and conv and any(t in path for t in _CONV_TARGETS))
        ):
            continue
        if conv and not recipe.conv:
            continue
        module = prefix + path[: -len(".weight")].replace(".", "_")
        out_dim, in_dim = shape[0], math.prod(shape[1:])
        if recipe.algo == "loha":
            specs[f"{module}.hada_w1_a"] = (dtype, (out_dim, rank))
            specs[f"{module}.hada_w1_b"] = (dtype, (rank, in_dim))
            specs[f"{module}.hada_w2_a"] = (dtype, (out_dim, rank))
            specs[f"{module}.hada_w2_b"] = (dtype, (rank, in_dim))
        elif recipe.algo == "lokr":
            out_factor, in_factor = _factor(out_dim), _factor(in_dim)
            specs[f"{module}.lokr_w1"] = (dtype, (out_factor, in_factor))
            specs[f"{module}.lokr_w2"] = (dtype, (out_dim // out_factor, in_dim // in_factor))
        elif conv:
            specs[f"{module}.lora_down.weight"] = (dtype, (rank, shape[1], shape[2], shape[3]))
            specs[f"{module}.lora_up.weight"] = (dtype, (shape[0], rank, 1, 1))
        else:
            down_shape = (rank, *shape[1:]) if len(shape) == 4 else (rank, shape[1])
            up_shape = (shape[0], rank, 1, 1) if len(shape) == 4 else (shape[0], rank)
            specs[f"{module}.lora_down.weight"] = (dtype, down_shape)
            specs[f"{module}.lora_up.weight"] = (dtype, up_shape)
        specs[f"{module}.alpha"] = (dtype, ())
    return specs


def _factor(dim: int) -> int:
    """LyCORIS's LoKr factorisation: the largest divisor of ``dim`` not above 16 (and its cofactor)."""
    return next(f for f in range(min(16, dim), 0, -1) if dim % f == 0)


def _kohya_metadata(rng: random.Random, name: str, recipe: LoraRecipe) -> dict[str, str]:
    tags = {f"tag{rng.randrange(5000)}": rng.randrange(1, 300) for _ in range(rng.randrange(20, 120))}
    lycoris = recipe.algo != "lora"
    return {
        "ss_output_name": name,
        "ss_network_module": "lycoris.kohya" if lycoris else "networks.lora",
        "ss_network_dim": str(recipe.rank),
        "ss_network_alpha": str(max(1, recipe.rank // 2)),
        **({"ss_network_args": json.dumps({"algo": recipe.algo})} if lycoris else {}),
        "ss_base_model_version": "sdxl_base_v1-0" if recipe.family == "sdxl" else "sd_v1",
        "ss_tag_frequency": json.dumps({"10_dataset": tags}),
    }


def generate_library(root: Path, count: int, *, seed: int = 0) -> list[Path]:
    """Write ``count`` model files under ``root`` in an A1111 layout and return their paths."""
    rng = random.Random(seed)
    (root / "webui.py").parent.mkdir(parents=True, exist_ok=True)
    (root / "webui.py").write_text("# marker of an A1111 install\n")
    paths: list[Path] = []
    for index, (folder, kind) in enumerate(_plan(count, rng)):
        name = f"{kind}-{index:05d}"
        path = root / folder / f"{name}.safetensors"
        if kind in ("sd1-lora", "sdxl-lora"):
            recipe = random_recipe(rng, kind.split("-")[0])
            write_safetensors(path, lora_specs(recipe), metadata=_kohya_metadata(rng, name, recipe))
        elif kind == "embedding":
            write_safetensors(path, {"emb_params": ("F32", (rng.randrange(1, 16), 768))})
        elif kind == "sdxl-embedding":
            vectors = rng.randrange(1, 8)
            write_safetensors(path, {"clip_l": ("F16", (vectors, 768)), "clip_g": ("F16", (vectors, 1280))})
        elif kind == "vae":
            write_safetensors(path, _vae_specs())
        else:
            write_safetensors(path, _checkpoint_specs(kind))
        paths.append(path)
    return paths


def _plan(count: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    mix = (
        ("models/Lora", "sd1-lora", 0.55),
        ("models/Lora/xl", "sdxl-lora", 0.20),
        ("embeddings", "embedding", 0.12),
        ("embeddings/xl", "sdxl-embedding", 0.04),
        ("models/Stable-diffusion", "sd1-ldm", 0.04),
        ("models/Stable-diffusion/xl", "sdxl-sgm", 0.02),
        ("models/VAE", "vae", 0.03),
    )
    for _ in range(count):
        pick = rng.random()
        chosen = mix[-1]
        for entry in mix:
            pick -= entry[2]
            if pick <= 0:
                chosen = entry
                break
        yield chosen[0], chosen[1]


@cache
def _checkpoint_specs(layout: str) -> dict[str, TensorSpec]:
    return keyspace(layout, dtype="F16")


@cache
def _vae_specs() -> dict[str, TensorSpec]:
    specs = keyspace("sd1-ldm", components=("vae",))
    return {name.removeprefix("first_stage_model."): spec for name, spec in specs.items()}
