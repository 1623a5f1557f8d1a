"""LoRAs over every layer of REAL Flux.1, SD3, Chroma, Qwen-Image and Z-Image checkpoints reach a
module of the full-size diffusers transformer, with the right shape.

The layer names and shapes come from real key lists (``tests/data/keyspaces``: full lists for
Flux.1 dev and SD3 medium, signature lists for the others); a LoRA pair is made for every 2-D+ weight
of the checkpoint's transformer in kohya (``lora_unet_double_blocks_0_img_attn_qkv``) and ai-toolkit /
ComfyUI (``diffusion_model.double_blocks.0.img_attn.qkv.lora_A``) naming, with meta tensors, and the
full-size transformers are built on the meta device (no memory). Every converted layer must exist and
fit (rows and element count, so e.g. Flux's ``linear1`` splits into 3·3072 + 12288 rows), and for the
full lists every Linear/Conv2d of the diffusers model must be reached.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from core.render.lora import delta_shape, network_from_tensors
from core.render.lora_keys import target_modules
from tests.factory import family_loras
from tests.factory.keyspaces import keyspace, keyspace_components


def _flux() -> Any:
    from diffusers import FluxTransformer2DModel

    return FluxTransformer2DModel(guidance_embeds=True)


def _chroma() -> Any:
    from diffusers import ChromaTransformer2DModel

    return ChromaTransformer2DModel()


def _sd3_medium() -> Any:
    from diffusers import SD3Transformer2DModel

    return SD3Transformer2DModel(
        sample_size=128,
        patch_size=2,
        in_channels=16,
        num_layers=24,
        attention_head_dim=64,
        num_attention_heads=24,
        joint_attention_dim=4096,
        caption_projection_dim=1536,
        pooled_projection_dim=2048,
        out_channels=16,
        pos_embed_max_size=192,
    )


def _qwen() -> Any:
    from diffusers import QwenImageTransformer2DModel

    return QwenImageTransformer2DModel()


def _zimage() -> Any:
    from diffusers import ZImageTransformer2DModel

    return ZImageTransformer2DModel()


# key list -> (full-size transformer, whether the list holds every tensor)
CASES: dict[str, tuple[Callable[[], Any], bool]] = {
    "flux-flux": (_flux, True),
    "sd3-comfyui": (_sd3_medium, True),
    "chroma-comfyui": (_chroma, False),
    "qwen_image-comfyui": (_qwen, False),
    "z_image-comfyui": (_zimage, False),
}


def _layer_shapes(space: str) -> dict[str, tuple[int, ...]]:
    """Original module name -> weight shape of every 2-D+ weight of the checkpoint's transformer."""
    component = next(c for c in keyspace_components(space) if c in {"diffuser", "transformer"})
    shapes = {}
    for key, (_dtype, shape) in keyspace(space, components=(component,)).items():
        if key.endswith(".weight") and len(shape) >= 2:
            shapes[key.removeprefix("model.diffusion_model.").removesuffix(".weight")] = tuple(shape)
    return shapes


def _lora(shapes: dict[str, tuple[int, ...]], dialect: str) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    for name, shape in shapes.items():
        down = torch.empty(4, *shape[1:], device="meta")
        up = torch.empty(shape[0], 4, *[1] * (len(shape) - 2), device="meta")
        if dialect == "kohya":
            flat = "lora_unet_" + name.replace(".", "_")
            tensors |= {f"{flat}.lora_down.weight": down, f"{flat}.lora_up.weight": up}
        else:
            tensors |= {
                f"diffusion_model.{name}.lora_A.weight": down,
                f"diffusion_model.{name}.lora_B.weight": up,
            }
    return tensors


@pytest.fixture(scope="module")
def transformers() -> dict[str, Any]:
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        return {space: build() for space, (build, _full) in CASES.items()}


@pytest.mark.parametrize("dialect", ["kohya", "comfy"])
@pytest.mark.parametrize("space", list(CASES))
def test_every_real_layer_reaches_a_module_of_the_right_shape(
    transformers: dict[str, Any], space: str, dialect: str
) -> None:
    model = transformers[space]
    table = target_modules(SimpleNamespace(transformer=model))
    network = network_from_tensors(space, _lora(_layer_shapes(space), dialect))
    assert network.ignored_keys == ()
    missing = [alias for alias in network.modules if alias not in table]
    assert missing == []
    for alias, module in network.modules.items():
        shape = table[alias].weight_shape
        assert delta_shape(module) == (shape[0], math.prod(shape)), alias
    if CASES[space][1]:
        reached = {table[alias].path for alias in network.modules}
        layers = {
            path for path, m in model.named_modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)
        }
        assert layers - reached == set()


# identification's LoRA fixtures (tests/factory/family_loras.py: real module names and widths per
# family, in the dialects it tells apart) -> the key list whose full-size transformer they adapt
IDENTIFIED = {"chroma": "chroma-comfyui", "qwen_image": "qwen_image-comfyui", "z_image": "z_image-comfyui"}


@pytest.mark.parametrize("dialect", family_loras.DIALECTS)
@pytest.mark.parametrize("family", list(IDENTIFIED))
def test_loras_identification_names_reach_the_full_size_transformer(
    transformers: dict[str, Any], family: str, dialect: str
) -> None:
    """The LoRAs identification calls Chroma, Qwen-Image or Z-Image (kohya, ai-toolkit, PEFT,
    OneTrainer, LyCORIS LoKr) apply to that family's full-size diffusers transformer, every layer."""
    case = family_loras.family_lora(family, dialect)
    tensors = {
        key: torch.ones(()) if not shape else torch.empty(shape, dtype=torch.bfloat16, device="meta")
        for key, (_dtype, shape) in case.specs.items()
    }
    table = target_modules(SimpleNamespace(transformer=transformers[IDENTIFIED[family]]))
    network = network_from_tensors(case.name, tensors)
    assert network.ignored_keys == ()
    assert [alias for alias in network.modules if alias not in table] == []
    for alias, module in network.modules.items():
        shape = table[alias].weight_shape
        assert delta_shape(module) == (shape[0], math.prod(shape)), alias
