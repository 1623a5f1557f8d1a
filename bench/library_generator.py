"""Generate a realistic model library on disk for benchmarks: real layouts, sparse zero-filled data.

The mix follows what large user libraries hold (mostly LoRAs, then embeddings, some checkpoints and
VAEs) and every LoRA has the module set kohya's trainer really targets (attention and feed-forward
layers of the UNet's transformer blocks plus the text encoder's attention and MLP), so header sizes,
key counts and parse costs are those of real files.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

_UNET_TARGETS = ("attn1.to_", "attn2.to_", "ff.net.", "proj_in", "proj_out")
_TE_TARGETS = ("self_attn.", "mlp.fc")
_PREFIXES = {"unet": "lora_unet_", "te": "lora_te_", "te1": "lora_te1_", "te2": "lora_te2_"}


@cache
def kohya_lora_specs(family: str, rank: int = 16) -> dict[str, TensorSpec]:
    """A kohya LoRA over the real module names of ``sd1-kohya`` or ``sdxl-kohya``."""
    specs: dict[str, TensorSpec] = {}
    for name, (_dtype, shape) in keyspace(f"{family}-kohya").items():
        component, _, path = name.partition(".")
        prefix = _PREFIXES.get(component)
        if prefix is None or not path.endswith(".weight") or len(shape) not in (2, 4):
            continue
        targets = _UNET_TARGETS if component == "unet" else _TE_TARGETS
        if not any(t in path for t in targets):
            continue
        module = prefix + path[: -len(".weight")].replace(".", "_")
        specs[f"{module}.lora_down.weight"] = ("F16", (rank, shape[1]))
        specs[f"{module}.lora_up.weight"] = ("F16", (shape[0], rank))
        specs[f"{module}.alpha"] = ("F16", ())
    return specs


def _kohya_metadata(rng: random.Random, name: str, family: str) -> dict[str, str]:
    tags = {f"tag{rng.randrange(5000)}": rng.randrange(1, 300) for _ in range(rng.randrange(20, 120))}
    return {
        "ss_output_name": name,
        "ss_network_module": "networks.lora",
        "ss_network_dim": "16",
        "ss_network_alpha": "8",
        "ss_base_model_version": "sdxl_base_v1-0" if family == "sdxl" else "sd_v1",
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
            family = kind.split("-")[0]
            write_safetensors(path, kohya_lora_specs(family), metadata=_kohya_metadata(rng, name, family))
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
