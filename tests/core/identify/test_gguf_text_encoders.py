"""Text encoders stored as GGUF (llama.cpp names) are text encoders of their network, not unknown files.

city96's ``t5-v1_1-xxl-encoder-Q8_0.gguf`` sits beside ``flux1-dev-Q8_0.gguf`` in many ComfyUI folders;
it was ``unknown`` ("none of Atelier's checks found its keys") and, chosen as a text encoder, "a model
file of unknown kind". Identified, the render refuses it by name (Atelier renders text encoders from
``.safetensors`` files). The files are written with the released models' shapes, sparse.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.formats.reader import read_header
from core.identify import identify
from core.taxonomy import Architecture, AssetKind, FileFormat
from tests.factory.files import write_gguf
from tests.factory.gguf_encoders import (
    t5_encoder_tensors,
    write_llama31_8b_gguf,
    write_qwen3_4b_gguf,
    write_qwen25_vl_7b_gguf,
    write_t5_xxl_gguf,
    write_umt5_xxl_gguf,
)


@pytest.mark.parametrize(
    ("write", "encoder", "arch", "said"),
    [
        (write_t5_xxl_gguf, "t5xxl", Architecture.UNKNOWN, "T5-XXL text encoder"),
        (write_umt5_xxl_gguf, "umt5_xxl", Architecture.WAN, "UMT5-XXL text encoder"),
        (write_qwen3_4b_gguf, "qwen3_4b", Architecture.UNKNOWN, "Qwen3 4B text encoder"),
        (write_qwen25_vl_7b_gguf, "qwen25_vl_7b", Architecture.QWEN_IMAGE, "Qwen2.5-VL 7B text encoder"),
        (write_llama31_8b_gguf, "llama31_8b", Architecture.UNKNOWN, "Llama 3.1 8B text encoder"),
    ],
)
def test_a_gguf_text_encoder_is_named_from_its_metadata_and_layers(
    tmp_path: Path, write: Callable[[Path], Path], encoder: str, arch: Architecture, said: str
) -> None:
    result = identify(read_header(write(tmp_path)))
    assert result.kind is AssetKind.TEXT_ENCODER, result.reasons
    assert result.format is FileFormat.GGUF
    assert result.architecture is arch, result.reasons
    assert result.metadata["encoder"] == encoder
    assert "GGUF general.architecture=" in result.reasons[0]
    assert said in result.reasons[0]


def test_the_t5_gguf_names_the_families_that_use_it(tmp_path: Path) -> None:
    result = identify(read_header(write_t5_xxl_gguf(tmp_path)))
    assert "flux1" in result.metadata["used_by"]
    assert "sd3" in result.metadata["used_by"]


def test_a_gguf_transformer_is_not_taken_for_a_text_encoder(tmp_path: Path) -> None:
    """An LLM's names under a diffusion model's ``general.architecture`` are no encoder of a known kind."""
    path = write_gguf(tmp_path / "odd.gguf", t5_encoder_tensors(blocks=2), {"general.architecture": "flux"})
    assert identify(read_header(path)).kind is not AssetKind.TEXT_ENCODER
