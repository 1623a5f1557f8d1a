"""GGUF transformers of the table's families (ComfyUI-GGUF layout) are identified like safetensors ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats.gguf import read_gguf_header
from core.formats.model_file import CorruptFileError
from core.identify import identify
from core.taxonomy import Architecture
from tests.factory.files import write_gguf
from tests.factory.keyspaces import keyspace


def _gguf_tensors(name: str) -> dict[str, tuple[str | int, tuple[int, ...]]]:
    """The key list quantised as city96's tool does: big matrices Q8_0, 1-D tensors F32."""
    out: dict[str, tuple[str | int, tuple[int, ...]]] = {}
    for key, (_, shape) in keyspace(name).items():
        quantised = len(shape) == 2 and shape[-1] % 32 == 0
        out[key] = ("Q8_0" if quantised else "F32", shape)
    return out


@pytest.mark.parametrize(
    ("name", "arch"),
    [
        ("qwen_image-comfyui", Architecture.QWEN_IMAGE),
        ("z_image-comfyui", Architecture.Z_IMAGE),
        ("chroma-comfyui", Architecture.CHROMA),
        ("hidream-original", Architecture.HIDREAM),
        ("lumina2-comfyui", Architecture.LUMINA2),
    ],
)
def test_gguf_transformer_is_identified(tmp_path: Path, name: str, arch: Architecture) -> None:
    path = write_gguf(tmp_path / f"{name}-Q8_0.gguf", _gguf_tensors(name), {"general.architecture": "x"})
    result = identify(read_gguf_header(path))
    assert result.architecture is arch, result.reasons


def _wan_flattened() -> dict[str, tuple[str | int, tuple[int, ...]]]:
    tensors = {k: v for k, v in _gguf_tensors("wan-t2v_1.3b").items() if k != "patch_embedding.weight"}
    tensors["patch_embedding.weight"] = ("F16", (1536, 64))  # 5-D [1536, 16, 1, 2, 2] stored flattened
    return tensors


def test_flattened_5d_tensor_gets_its_recorded_shape(tmp_path: Path) -> None:
    meta = {"comfy.gguf.orig_shape.patch_embedding.weight": [1536, 16, 1, 2, 2]}
    path = write_gguf(tmp_path / "wan.gguf", _wan_flattened(), meta)
    header = read_gguf_header(path)
    assert header.tensors["patch_embedding.weight"].shape == (1536, 16, 1, 2, 2)
    result = identify(header)
    assert result.architecture is Architecture.WAN
    assert result.metadata["in_channels"] == 16


def test_recorded_shape_must_hold_the_stored_elements(tmp_path: Path) -> None:
    meta = {"comfy.gguf.orig_shape.patch_embedding.weight": [1536, 16, 1, 2, 3]}
    path = write_gguf(tmp_path / "wan.gguf", _wan_flattened(), meta)
    with pytest.raises(CorruptFileError, match="elements"):
        read_gguf_header(path)
