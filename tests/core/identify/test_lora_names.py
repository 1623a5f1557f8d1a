"""The name half of LoRA identification (``named_architectures``), which the renderer reads for LoRAs of
widths no released model has, agrees with the full rule (names and width) the library's scanner uses, and
the table's shared facts (which families share LoRAs, which diffusers class is which family) hold."""

from __future__ import annotations

import pytest

from core.formats.model_file import TensorInfo
from core.identify.lora_base import UNET_FAMILIES, named_architectures, tensor_architecture
from core.identify.lora_scan import LoraScan, scan_lora
from core.identify.vocabulary import LORA_ROWS, ArchitectureRow, architecture_of_diffusers_class, loras_shared
from core.taxonomy import Architecture


def _scan(modules: dict[str, int]) -> LoraScan:
    """A rank-4 LoRA header adapting each module (name -> input width), in kohya naming."""
    tensors: dict[str, TensorInfo] = {}
    for module, width in modules.items():
        tensors[f"{module}.lora_down.weight"] = TensorInfo("F16", (4, width))
        tensors[f"{module}.lora_up.weight"] = TensorInfo("F16", (width, 4))
    return scan_lora(tensors)


@pytest.mark.parametrize("row", LORA_ROWS, ids=lambda row: row.architecture.value)
def test_every_table_family_is_named_by_its_markers_at_any_width(row: ArchitectureRow) -> None:
    assert row.lora is not None
    marker, width = row.lora.markers[0], next(iter(row.lora.widths))
    released = _scan({f"lora_unet_blocks_0_{marker}": width, f"lora_unet_blocks_1_{marker}": width})
    found, _ = tensor_architecture(released)
    assert found in named_architectures(released)
    tiny = _scan({f"lora_unet_blocks_0_{marker}": 24, f"lora_unet_blocks_1_{marker}": 24})
    assert tensor_architecture(tiny)[0] is Architecture.OTHER
    assert row.architecture in named_architectures(tiny)


def test_families_that_share_names_are_all_named_when_the_width_cannot_choose() -> None:
    qwen = {
        "lora_unet_transformer_blocks_0_img_mod_1": 48,
        "lora_unet_transformer_blocks_0_img_mlp_net_0_proj": 48,
    }
    assert named_architectures(_scan(qwen)) == (Architecture.QWEN_IMAGE_2, Architecture.QWEN_IMAGE)
    assert tensor_architecture(_scan(dict.fromkeys(qwen, 3072)))[0] is Architecture.QWEN_IMAGE


@pytest.mark.parametrize(
    ("modules", "families"),
    [
        ({"lora_unet_double_blocks_0_img_attn_qkv": 32}, (Architecture.FLUX1,)),
        (
            {"lora_unet_double_blocks_0_img_attn_qkv": 32, "lora_unet_double_stream_modulation_img_lin": 32},
            (Architecture.FLUX2,),
        ),
        (
            {
                "lora_unet_double_blocks_0_img_attn_qkv": 32,
                "lora_unet_distilled_guidance_layer_layers_0_in_layer": 32,
            },
            (Architecture.CHROMA,),
        ),
        ({"lora_unet_joint_blocks_0_x_block_attn_qkv": 32}, (Architecture.SD3,)),
        (
            {
                "transformer.transformer_blocks.0.attn2.to_q": 32,
                "transformer.transformer_blocks.0.attn.to_q": 32,
            },
            (Architecture.SD3,),
        ),
        ({"lora_unet_down_blocks_0_attentions_0_proj_in": 32}, UNET_FAMILIES),
        ({"transformer.transformer_blocks.0.attn.to_q": 32}, ()),
    ],
)
def test_the_older_name_rules_name_flux_sd3_and_the_unet(
    modules: dict[str, int], families: tuple[Architecture, ...]
) -> None:
    assert named_architectures(_scan(modules)) == families


def test_flux_and_chroma_share_loras_both_ways_and_nothing_else_does() -> None:
    assert loras_shared(Architecture.FLUX1, Architecture.CHROMA)
    assert loras_shared(Architecture.CHROMA, Architecture.FLUX1)
    assert loras_shared(Architecture.SD3, Architecture.SD3)
    assert not loras_shared(Architecture.FLUX1, Architecture.FLUX2)
    assert not loras_shared(Architecture.QWEN_IMAGE, Architecture.QWEN_IMAGE_2)
    assert not loras_shared(Architecture.SD1, Architecture.SDXL)


def test_the_transformer_classes_the_renderer_loads_are_table_families() -> None:
    classes = {
        "FluxTransformer2DModel": Architecture.FLUX1,
        "Flux2Transformer2DModel": Architecture.FLUX2,
        "ChromaTransformer2DModel": Architecture.CHROMA,
        "SD3Transformer2DModel": Architecture.SD3,
        "QwenImageTransformer2DModel": Architecture.QWEN_IMAGE,
        "ZImageTransformer2DModel": Architecture.Z_IMAGE,
    }
    assert {name: architecture_of_diffusers_class(name) for name in classes} == classes
    assert architecture_of_diffusers_class("FluxControlNetModel") is None
