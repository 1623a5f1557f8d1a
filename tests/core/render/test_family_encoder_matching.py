"""Separate text-encoder files go to the slot of the encoder they hold, whatever their names or order:
a lone CLIP-G file (replacing only an SD3.5 checkpoint's bundled CLIP-G) fills clip_g, not clip_l."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.render.families import FAMILIES
from core.render.family_loader import FamilyLoadError, match_encoder_files
from core.taxonomy import Architecture

SD3 = FAMILIES[Architecture.SD3]


def _clip_file(path: Path, width: int) -> Path:
    """A one-layer CLIP text encoder header of ``width`` (zero-filled, a 16-token vocabulary keeps it
    small): matching reads only names and shapes."""
    import torch
    from safetensors.torch import save_file

    def zeros(*shape: int) -> torch.Tensor:
        return torch.zeros(shape, dtype=torch.float16)

    layer = "text_model.encoder.layers.0."
    tensors = {
        "text_model.embeddings.token_embedding.weight": zeros(16, width),
        "text_model.embeddings.position_embedding.weight": zeros(77, width),
        f"{layer}self_attn.q_proj.weight": zeros(width, width),
        f"{layer}mlp.fc1.weight": zeros(8, width),
        "text_model.final_layer_norm.weight": zeros(width),
    }
    save_file(tensors, str(path))
    return path


def test_a_lone_clip_g_file_fills_the_clip_g_slot(tmp_path: Path) -> None:
    clip_g = _clip_file(tmp_path / "a_text_encoder.safetensors", 1280)
    assert match_encoder_files(SD3, [clip_g]) == {"clip_g": clip_g}


def test_a_lone_clip_l_file_fills_the_clip_l_slot(tmp_path: Path) -> None:
    clip_l = _clip_file(tmp_path / "z_text_encoder.safetensors", 768)
    assert match_encoder_files(SD3, [clip_l]) == {"clip_l": clip_l}


def test_both_clip_files_in_either_order(tmp_path: Path) -> None:
    clip_l = _clip_file(tmp_path / "one.safetensors", 768)
    clip_g = _clip_file(tmp_path / "two.safetensors", 1280)
    expected = {"clip_l": clip_l, "clip_g": clip_g}
    assert match_encoder_files(SD3, [clip_g, clip_l]) == expected
    assert match_encoder_files(SD3, [clip_l, clip_g]) == expected


def test_encoders_of_other_widths_fill_the_slots_narrowest_first(tmp_path: Path) -> None:
    narrow = _clip_file(tmp_path / "g.safetensors", 32)
    wide = _clip_file(tmp_path / "l.safetensors", 48)
    assert match_encoder_files(SD3, [wide, narrow]) == {"clip_l": narrow, "clip_g": wide}


@pytest.mark.parametrize("second_width", [1280, 1200])
def test_two_files_for_one_slot_are_refused_naming_both(tmp_path: Path, second_width: int) -> None:
    first = _clip_file(tmp_path / "clip_g_a.safetensors", 1280)
    second = _clip_file(tmp_path / "clip_g_b.safetensors", second_width)
    if second_width == 1200:  # nearest to CLIP-G's width, and CLIP-L's slot is no better a guess
        third = _clip_file(tmp_path / "clip_l.safetensors", 768)
        with pytest.raises(FamilyLoadError, match=re.escape("clip_g_b.safetensors")):
            match_encoder_files(SD3, [first, second, third])
        return
    with pytest.raises(FamilyLoadError, match=re.escape("clip_g_a.safetensors and clip_g_b.safetensors")):
        match_encoder_files(SD3, [first, second])
