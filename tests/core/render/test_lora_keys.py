"""Every LoRA naming dialect maps onto real-size SD1/SDXL modules with the right shapes.

The UNets and text encoders are built at real size on the meta device from the bundled diffusers
configs (no memory, no weights), and checked against the real key spaces in tests/data/keyspaces and
the real LoRA layouts of tests/factory/models.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.lora import delta_shape, network_from_tensors
from core.render.lora_keys import LoraTarget, split_key, target_modules
from tests.factory import models
from tests.factory.keyspaces import keyspace

pytestmark = pytest.mark.slow  # real-size meta UNets and five YAML key spaces (~6 s)


def _meta_pipe(arch: str) -> SimpleNamespace:
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    root = Path(RESOURCES_CONFIG_ROOT) / arch
    config = json.loads((root / "unet" / "config.json").read_text(encoding="utf-8"))
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(str(root / "text_encoder")))
        text_encoder_2 = None
        if arch == "sdxl":
            text_encoder_2 = CLIPTextModelWithProjection(
                CLIPTextConfig.from_pretrained(str(root / "text_encoder_2"))
            )
    return SimpleNamespace(unet=unet, text_encoder=text_encoder, text_encoder_2=text_encoder_2)


@pytest.fixture(scope="module")
def sd1_table() -> dict[str, LoraTarget]:
    return target_modules(_meta_pipe("sd1"))


@pytest.fixture(scope="module")
def sdxl_table() -> dict[str, LoraTarget]:
    return target_modules(_meta_pipe("sdxl"))


def _weights(space: str, component: str, prefix: str) -> dict[str, tuple[int, ...]]:
    """module path (prefix stripped) -> weight shape, for every ``.weight`` of one key-space component."""
    return {
        name[len(prefix) : -len(".weight")]: shape
        for name, (_, shape) in keyspace(space, components=(component,)).items()
        if name.startswith(prefix) and name.endswith(".weight")
    }


@pytest.mark.parametrize(
    ("space", "table_name"),
    [("sd1-ldm", "sd1_table"), ("sdxl-sgm", "sdxl_table")],
)
def test_every_ldm_unet_weight_maps_to_a_diffusers_module_of_the_same_shape(
    space: str, table_name: str, request: pytest.FixtureRequest
) -> None:
    table: dict[str, LoraTarget] = request.getfixturevalue(table_name)
    weights = _weights(space, "diffuser", "model.diffusion_model.")
    unet_modules = {id(t.module) for t in table.values() if t.component == "unet"}
    assert len(weights) == len(unet_modules) > 250
    for ldm, shape in weights.items():
        kohya = table[f"lora_unet_{ldm.replace('.', '_')}"]
        assert kohya.component == "unet"
        assert kohya.weight_shape == shape, ldm
        assert table[f"diffusion_model.{ldm}"] is kohya
    # distinct LDM names land on distinct modules: the two layouts correspond one to one
    assert {id(table[f"lora_unet_{ldm.replace('.', '_')}"].module) for ldm in weights} == unet_modules


def test_sgm_names_reach_the_expected_diffusers_modules(sdxl_table: dict[str, LoraTarget]) -> None:
    expected = {
        "input_blocks_0_0": "conv_in",
        "input_blocks_3_0_op": "down_blocks.0.downsamplers.0.conv",
        "input_blocks_4_1_transformer_blocks_0_attn1_to_q": (
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"
        ),
        "input_blocks_4_0_skip_connection": "down_blocks.1.resnets.0.conv_shortcut",
        "middle_block_1_transformer_blocks_9_ff_net_2": (
            "mid_block.attentions.0.transformer_blocks.9.ff.net.2"
        ),
        "middle_block_2_out_layers_3": "mid_block.resnets.1.conv2",
        "output_blocks_2_2_conv": "up_blocks.0.upsamplers.0.conv",
        "output_blocks_5_2_conv": "up_blocks.1.upsamplers.0.conv",
        "output_blocks_8_0_emb_layers_1": "up_blocks.2.resnets.2.time_emb_proj",
        "output_blocks_0_0_in_layers_2": "up_blocks.0.resnets.0.conv1",
        "time_embed_0": "time_embedding.linear_1",
        "time_embed_2": "time_embedding.linear_2",
        "label_emb_0_0": "add_embedding.linear_1",
        "label_emb_0_2": "add_embedding.linear_2",
        "out_2": "conv_out",
    }
    for kohya, path in expected.items():
        assert sdxl_table[f"lora_unet_{kohya}"].path == path


def test_sd1_output_upsampler_without_attention_is_slot_one(sd1_table: dict[str, LoraTarget]) -> None:
    assert sd1_table["lora_unet_output_blocks_2_1_conv"].path == "up_blocks.0.upsamplers.0.conv"
    assert sd1_table["lora_unet_output_blocks_5_2_conv"].path == "up_blocks.1.upsamplers.0.conv"


@pytest.mark.parametrize(
    ("space", "table_name"),
    [("sd1-kohya", "sd1_table"), ("sdxl-kohya_but_diffusers", "sdxl_table")],
)
def test_every_diffusers_unet_weight_maps_under_kohya_and_peft_names(
    space: str, table_name: str, request: pytest.FixtureRequest
) -> None:
    table: dict[str, LoraTarget] = request.getfixturevalue(table_name)
    weights = _weights(space, "diffuser", "unet.")
    assert len(weights) > 250
    for path, shape in weights.items():
        target = table[f"lora_unet_{path.replace('.', '_')}"]
        assert (target.path, target.weight_shape) == (path, shape)
        assert table[f"unet.{path}"] is target
        assert table[path] is target


@pytest.mark.parametrize(
    ("space", "component", "prefix", "kohya", "table_name", "attr"),
    [
        ("sd1-kohya", "clip_l", "te.text_model.", "lora_te_", "sd1_table", "text_encoder"),
        ("sd1-kohya", "clip_l", "te.text_model.", "lora_te1_", "sd1_table", "text_encoder"),
        ("sdxl-kohya", "clip_l", "te1.text_model.", "lora_te1_", "sdxl_table", "text_encoder"),
        ("sdxl-kohya", "clip_g", "te2.text_model.", "lora_te2_", "sdxl_table", "text_encoder_2"),
    ],
)
def test_text_encoder_weights_map_with_and_without_text_model(  # noqa: PLR0917
    space: str,
    component: str,
    prefix: str,
    kohya: str,
    table_name: str,
    attr: str,
    request: pytest.FixtureRequest,
) -> None:
    table: dict[str, LoraTarget] = request.getfixturevalue(table_name)
    weights = _weights(space, component, prefix)
    layers = {path: shape for path, shape in weights.items() if path.startswith("encoder.layers.")}
    assert len(layers) >= 88  # SDXL keeps 11 CLIP-L layers
    for path, shape in layers.items():
        flat = path.replace(".", "_")
        target = table[f"{kohya}text_model_{flat}"]
        assert target.component == attr
        assert target.weight_shape == shape
        assert target.path.removeprefix("text_model.") == path
        assert table[f"{kohya}{flat}"] is target
        assert table[f"{attr}.{path}"] is target
        assert table[f"{attr}.text_model.{path}"] is target


def test_sdxl_does_not_take_sd1_text_encoder_names(sdxl_table: dict[str, LoraTarget]) -> None:
    assert "lora_te_text_model_encoder_layers_0_self_attn_q_proj" not in sdxl_table
    assert "lora_te1_text_model_encoder_layers_0_self_attn_q_proj" in sdxl_table


def _meta_tensors(case: models.ModelCase) -> dict[str, Any]:
    return {name: torch.empty(shape, device="meta") for name, (_, shape) in case.specs.items()}


@pytest.mark.parametrize(
    ("case", "table_name", "kinds"),
    [
        (models.kohya_lora("sdxl", "locon"), "sdxl_table", {"lora"}),
        (models.kohya_lora("sdxl", "lokr"), "sdxl_table", {"lokr"}),
        (models.kohya_lora("sd1", "loha"), "sd1_table", {"loha"}),
        (models.kohya_lora("sd1", "full"), "sd1_table", {"full"}),
        (models.kohya_lora("sd1", "dora"), "sd1_table", {"lora+dora"}),
        (models.onetrainer_lora("sdxl"), "sdxl_table", {"lora"}),
        (models.onetrainer_lora("sd1", dora=True), "sd1_table", {"lora+dora"}),
        (models.peft_lora("sdxl", dora=True), "sdxl_table", {"lora+dora"}),
        (models.peft_lora("sd1"), "sd1_table", {"lora"}),
        (models.legacy_attn_procs_lora(), "sd1_table", {"lora"}),
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_factory_lora_files_fit_every_layer(
    case: models.ModelCase, table_name: str, kinds: set[str], request: pytest.FixtureRequest
) -> None:
    table: dict[str, LoraTarget] = request.getfixturevalue(table_name)
    network = network_from_tensors(case.name, _meta_tensors(case))
    assert set(network.kinds) == kinds
    assert not network.ignored_keys
    assert len(network.modules) > 50
    components = set()
    for alias, module in network.modules.items():
        target = table[alias]
        rows, count = delta_shape(module)
        assert rows == target.weight_shape[0], alias
        assert count == math.prod(target.weight_shape), alias
        components.add(target.component)
    assert "unet" in components


def test_split_key_understands_every_dialect() -> None:
    cases = {
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": (
            "lora_unet_down_blocks_0_attentions_0_proj_in",
            "lora_down",
        ),
        "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha": (
            "lora_te1_text_model_encoder_layers_0_mlp_fc1",
            "alpha",
        ),
        "unet.mid_block.attentions.0.proj_out.lora_A.weight": (
            "unet.mid_block.attentions.0.proj_out",
            "lora_A",
        ),
        "unet.conv_in.lora_magnitude_vector": ("unet.conv_in", "lora_magnitude_vector"),
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight": (
            "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0",
            "lora_up",
        ),
        "unet.up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora.down.weight": (
            "unet.up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
            "lora_down",
        ),
        "text_encoder.text_model.encoder.layers.3.self_attn.v_proj.lora_linear_layer.up.weight": (
            "text_encoder.text_model.encoder.layers.3.self_attn.v_proj",
            "lora_up",
        ),
        "lora_unet_input_blocks_4_0_in_layers_2.lokr_w2_b": (
            "lora_unet_input_blocks_4_0_in_layers_2",
            "lokr_w2_b",
        ),
        "lora_unet_out_2.hada_w1_a": ("lora_unet_out_2", "hada_w1_a"),
    }
    for key, expected in cases.items():
        assert split_key(key) == expected, key
    assert split_key("__metadata__") is None
