"""The vocabulary table itself: every word other tools use maps to its family, every reference resolves."""

from __future__ import annotations

import pytest

from core.formats.embedded_metadata import read_embedded_metadata
from core.identify.vocabulary import (
    ENCODER_OF,
    ROWS,
    VAE_OF,
    architecture_of_base_model,
    architecture_of_diffusers_class,
)
from core.sources.site_words import CIVITAI_BASE_MODEL_LABELS
from core.taxonomy import ARCHITECTURE_NAMES, Architecture


@pytest.mark.parametrize(
    ("label", "arch"),
    [
        ("Pony", Architecture.SDXL),
        ("Illustrious", Architecture.SDXL),
        ("NoobAI", Architecture.SDXL),
        ("Flux.1 D", Architecture.FLUX1),
        ("Flux .1 D", Architecture.FLUX1),
        ("Flux.1 Krea", Architecture.FLUX1),
        ("Flux.1 Kontext", Architecture.FLUX1),
        ("Krea 2", Architecture.KREA2),
        ("Flux.2 Klein 4B", Architecture.FLUX2),
        ("Qwen", Architecture.QWEN_IMAGE),
        ("ZImageTurbo", Architecture.Z_IMAGE),
        ("ZImageBase", Architecture.Z_IMAGE),
        ("Wan Video 2.2 TI2V-5B", Architecture.WAN),
        ("Wan Video 14B i2v 720p", Architecture.WAN),
        ("HiDream", Architecture.HIDREAM),
        ("Chroma", Architecture.CHROMA),
        ("Aura Flow", Architecture.AURAFLOW),
        ("Pony V7", Architecture.AURAFLOW),
        ("Lumina", Architecture.LUMINA2),
        ("Anima", Architecture.ANIMA),
        ("Ernie", Architecture.ERNIE_IMAGE),
        ("Hunyuan Video", Architecture.HUNYUAN_VIDEO),
        ("LTXV", Architecture.LTX_VIDEO),
        ("LTXV2", Architecture.LTX2),
        ("Mochi", Architecture.MOCHI),
        ("SD 3.5 Large", Architecture.SD3),
        ("Stable Cascade", Architecture.STABLE_CASCADE),
    ],
)
def test_civitai_base_model_label(label: str, arch: Architecture) -> None:
    assert architecture_of_base_model(label) is arch


def test_the_window_has_a_word_for_every_label_of_the_table() -> None:
    claimed = {value for row in ROWS for value, _ in row.civitai}
    assert claimed <= CIVITAI_BASE_MODEL_LABELS.keys()
    assert CIVITAI_BASE_MODEL_LABELS["Pony"] == "Pony Diffusion"


def test_unknown_or_closed_labels_name_no_family() -> None:
    assert architecture_of_base_model("Nano Banana") is None
    assert architecture_of_base_model("") is None


def test_every_row_is_named_and_its_encoders_and_vae_exist() -> None:
    assert len({row.architecture for row in ROWS}) == len(ROWS)
    for row in ROWS:
        assert row.architecture in ARCHITECTURE_NAMES
        assert all(encoder in ENCODER_OF for encoder in row.text_encoders), row.architecture
        assert row.vae is None or row.vae in VAE_OF, row.architecture


@pytest.mark.parametrize(
    ("spec", "arch"),
    [
        ("anima-preview/lora", Architecture.ANIMA),
        ("z-image-turbo/lora", Architecture.Z_IMAGE),
        ("lumina-2/lora", Architecture.LUMINA2),
        ("stable-diffusion-xl-v1-refiner", Architecture.SDXL_REFINER),
        ("flux-1-dev/lora", Architecture.FLUX1),
        ("chroma", Architecture.CHROMA),
    ],
)
def test_modelspec_architecture_words(spec: str, arch: Architecture) -> None:
    hint = read_embedded_metadata({"modelspec.architecture": spec}).architecture_hint()
    assert hint is not None
    assert hint[0] is arch


def test_diffusers_class_prefixes_do_not_catch_neighbours() -> None:
    assert architecture_of_diffusers_class("AnimateDiffPipeline") is None
    assert architecture_of_diffusers_class("HunyuanVideo15Pipeline") is None
    assert architecture_of_diffusers_class("QwenImage21Pipeline") is Architecture.QWEN_IMAGE_2
