"""LoRAs that train only a text encoder: one width is not enough when the names or metadata say more.

kohya's sd-scripts name the first of two or three text encoders (CLIP-L) ``lora_te1_``: its SDXL, Flux.1
and SD3 networks do, while SD1/SD2 LoRAs say ``lora_te_``. A Flux LoRA that trained only CLIP-L (the
tester's ``flux_te1_only``, ``ss_network_module=networks.lora_flux``) was called SD1 from its 768 width
alone, and the board then marked it as not fitting the Flux checkpoint it was made for. Files are written
as real safetensors and read back with the library's reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats.reader import read_header
from core.identify import Identification, identify
from core.taxonomy import Architecture, AssetKind
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

_PARTS = ("q_proj", "k_proj", "v_proj", "out_proj")


def _clip_lora(prefix: str, width: int = 768, layers: int = 12) -> dict[str, TensorSpec]:
    """kohya's module names for a CLIP text encoder's attention, as sd-scripts writes them."""
    specs: dict[str, TensorSpec] = {}
    for layer in range(layers):
        for part in _PARTS:
            module = f"{prefix}text_model_encoder_layers_{layer}_self_attn_{part}"
            specs[f"{module}.lora_down.weight"] = ("BF16", (16, width))
            specs[f"{module}.lora_up.weight"] = ("BF16", (width, 16))
            specs[f"{module}.alpha"] = ("BF16", ())
    return specs


def _identify(tmp_path: Path, specs: dict[str, TensorSpec], **metadata: str) -> Identification:
    path = write_safetensors(tmp_path / "lora.safetensors", specs, metadata=metadata or None)
    return identify(read_header(path))


def _text(result: Identification) -> str:
    return "\n".join(result.reasons)


def test_a_flux_lora_of_clip_l_only_is_flux_by_its_network_module(tmp_path: Path) -> None:
    result = _identify(tmp_path, _clip_lora("lora_te1_"), ss_network_module="networks.lora_flux")
    assert result.kind is AssetKind.LORA
    assert result.architecture is Architecture.FLUX1, _text(result)
    assert "SD1 LoRAs write lora_te_" in _text(result)
    assert "metadata ss_network_module=networks.lora_flux => flux1" in _text(result)


@pytest.mark.parametrize(
    ("metadata", "arch"),
    [
        ({"modelspec.architecture": "flux-1-dev/lora"}, Architecture.FLUX1),
        ({"ss_base_model_version": "flux1"}, Architecture.FLUX1),
        ({"ss_base_model_version": "sd3"}, Architecture.SD3),
        ({"ss_network_module": "networks.lora_sd3"}, Architecture.SD3),
        ({"ss_base_model_version": "sdxl_base_v1-0"}, Architecture.SDXL),
        ({}, Architecture.SDXL),
    ],
)
def test_the_metadata_decides_among_the_families_lora_te1_allows(
    tmp_path: Path, metadata: dict[str, str], arch: Architecture
) -> None:
    result = _identify(tmp_path, _clip_lora("lora_te1_"), **metadata)
    assert result.architecture is arch, _text(result)


def test_metadata_naming_sd1_does_not_make_a_lora_te1_file_sd1(tmp_path: Path) -> None:
    result = _identify(tmp_path, _clip_lora("lora_te1_"), ss_base_model_version="sd_v1")
    assert result.architecture is Architecture.SDXL, _text(result)
    assert "metadata ss_base_model_version=sd_v1 says sd1; the tensors decide sdxl" in _text(result)


def test_an_sd1_lora_of_its_text_encoder_only_is_still_sd1(tmp_path: Path) -> None:
    result = _identify(tmp_path, _clip_lora("lora_te_"))
    assert result.architecture is Architecture.SD1, _text(result)
    assert "text encoder width 768 => sd1" in _text(result)


def test_an_sd1_lora_named_flux_by_its_metadata_stays_sd1(tmp_path: Path) -> None:
    """``lora_te_`` is SD1's own naming: the metadata may disagree, the tensors decide."""
    result = _identify(tmp_path, _clip_lora("lora_te_"), ss_network_module="networks.lora_flux")
    assert result.architecture is Architecture.SD1, _text(result)
    assert "says flux1; the tensors decide sd1" in _text(result)


def test_sdxl_lora_of_both_encoders_is_sdxl_even_with_flux_metadata(tmp_path: Path) -> None:
    specs = {**_clip_lora("lora_te1_"), **_clip_lora("lora_te2_", width=1280, layers=2)}
    result = _identify(tmp_path, specs, ss_network_module="networks.lora_flux")
    assert result.architecture is Architecture.SDXL, _text(result)
