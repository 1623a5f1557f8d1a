"""Real Flux.1 and SD3.5 checkpoint layouts (every tensor name and shape of the published files, as meta
tensors: nothing real-sized is allocated) convert with the bundled configs, per component, with no
missing and no unexpected tensors, and the configs read off their shapes are the reference models'."""

from __future__ import annotations

from typing import Any

import pytest

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.families import FAMILIES
from core.render.family_loader import conversion_gaps
from core.render.family_shapes import flux_transformer, sd3_transformer
from core.taxonomy import Architecture
from tests.factory.keyspaces import keyspace


def _meta(name: str) -> dict[str, Any]:
    import torch

    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    return {
        key: torch.empty(shape, dtype=dtypes.get(dtype, torch.float32), device="meta")
        for key, (dtype, shape) in keyspace(name).items()
    }


@pytest.mark.parametrize(
    ("name", "architecture", "parts"),
    [
        ("flux-flux", Architecture.FLUX1, {"transformer", "vae", "clip_l", "t5xxl"}),
        ("sd3-comfyui", Architecture.SD3, {"transformer", "vae", "clip_l", "clip_g", "t5xxl"}),
    ],
)
def test_real_layout_converts_without_missing_or_unexpected_tensors(
    name: str, architecture: Architecture, parts: set[str]
) -> None:
    gaps = conversion_gaps(FAMILIES[architecture], _meta(name), RESOURCES_CONFIG_ROOT)
    assert set(gaps) == parts
    for component, gap in gaps.items():
        assert gap.missing == (), (component, gap.missing[:5])
        assert gap.unexpected == (), (component, gap.unexpected[:5])


def test_shapes_give_the_reference_configs() -> None:
    flux = {k.removeprefix("model.diffusion_model."): s for k, (_, s) in keyspace("flux-flux").items()}
    assert flux_transformer(flux) == {
        "in_channels": 64,
        "joint_attention_dim": 4096,
        "attention_head_dim": 128,
        "num_attention_heads": 24,
        "num_layers": 19,
        "num_single_layers": 38,
        "axes_dims_rope": [16, 56, 56],
        "pooled_projection_dim": 768,
        "guidance_embeds": True,
    }
    sd3 = {k.removeprefix("model.diffusion_model."): s for k, (_, s) in keyspace("sd3-comfyui").items()}
    config = sd3_transformer(sd3)
    assert config["num_attention_heads"] * config["attention_head_dim"] == config["caption_projection_dim"]
    assert config["joint_attention_dim"] == 4096


def test_every_family_row_has_its_bundled_configs() -> None:
    """Each family's config folders name its pipeline and transformer classes and hold every component
    it builds; tokenizer folders are CLIP's only (the rest come from the Hub)."""
    import json

    for family in FAMILIES.values():
        for folder_name in family.folders.values():
            folder = RESOURCES_CONFIG_ROOT / folder_name
            index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
            assert index["_class_name"] == family.pipeline_class
            assert index["transformer"] == ["diffusers", family.transformer_class]
            for component in ("transformer", "vae"):
                assert (folder / component / "config.json").is_file()
            assert (folder / "scheduler" / "scheduler_config.json").is_file()
            for slot in family.encoders:
                assert index[slot.component][1] == slot.model_class
                assert (folder / slot.component / "config.json").is_file()
                has_tokenizer = (folder / slot.tokenizer_component / "tokenizer_config.json").is_file()
                assert has_tokenizer == (slot.tokenizer is None), (folder_name, slot.name)
