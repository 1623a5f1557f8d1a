"""Diffusers folders of the newer families: the pipeline or model class names the row of the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats.reader import read_header
from core.identify import identify
from core.taxonomy import Architecture, AssetKind
from tests.factory.diffusers_configs import write_json, write_pipeline


@pytest.mark.parametrize(
    ("pipeline", "transformer", "arch"),
    [
        ("QwenImagePipeline", "QwenImageTransformer2DModel", Architecture.QWEN_IMAGE),
        ("QwenImageEditPlusPipeline", "QwenImageTransformer2DModel", Architecture.QWEN_IMAGE),
        ("QwenImage21Pipeline", "QwenImage21Transformer2DModel", Architecture.QWEN_IMAGE_2),
        ("ZImagePipeline", "ZImageTransformer2DModel", Architecture.Z_IMAGE),
        ("ChromaPipeline", "ChromaTransformer2DModel", Architecture.CHROMA),
        ("Lumina2Pipeline", "Lumina2Transformer2DModel", Architecture.LUMINA2),
        ("HiDreamImagePipeline", "HiDreamImageTransformer2DModel", Architecture.HIDREAM),
        ("WanPipeline", "WanTransformer3DModel", Architecture.WAN),
        ("Krea2Pipeline", "Krea2Transformer2DModel", Architecture.KREA2),
        ("LTX2Pipeline", "LTX2VideoTransformer3DModel", Architecture.LTX2),
    ],
)
def test_pipeline_folder(tmp_path: Path, pipeline: str, transformer: str, arch: Architecture) -> None:
    root = write_pipeline(
        tmp_path / "model", pipeline, transformer={"_class_name": transformer, "num_layers": 2}
    )
    result = identify(read_header(root))
    assert (result.kind, result.architecture) == (AssetKind.CHECKPOINT, arch), result.reasons


def test_transformer_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "transformer"
    write_json(folder / "config.json", {"_class_name": "ZImageTransformer2DModel", "num_layers": 30})
    result = identify(read_header(folder))
    assert result.architecture is Architecture.Z_IMAGE
    assert result.metadata["num_layers"] == 30


def test_animatediff_is_not_anima(tmp_path: Path) -> None:
    root = write_pipeline(tmp_path / "m", "AnimateDiffPipeline", unet={"cross_attention_dim": 768})
    assert identify(read_header(root)).architecture is not Architecture.ANIMA
