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
    measured_rows,
    measured_spec,
    width_families,
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


def test_the_sd_unet_widths_are_the_rows_data() -> None:
    """SD1/SD2/SDXL/refiner share one UNet layout: the widths that tell them apart are rows of the table
    (``MeasuredSpec``), and the maps every matcher reads are built from those rows alone."""
    from core.identify.families import (
        ADM_FAMILIES,
        CONTEXT_DIM_FAMILIES,
        TEXT_ENCODER_FAMILIES,
        TOKEN_DIM_FAMILIES,
    )

    assert dict(CONTEXT_DIM_FAMILIES) == {
        768: Architecture.SD1,
        1024: Architecture.SD2,
        2048: Architecture.SDXL,
        1280: Architecture.SDXL_REFINER,
    }
    # Kolors: ChatGLM3's pooled 4096 + SDXL's 1536 of size conditioning.
    assert dict(ADM_FAMILIES) == {
        2816: Architecture.SDXL,
        2560: Architecture.SDXL_REFINER,
        5632: Architecture.KOLORS,
    }
    assert dict(TOKEN_DIM_FAMILIES) == {
        768: Architecture.SD1,
        1024: Architecture.SD2,
        1280: Architecture.SDXL,
    }
    assert dict(TEXT_ENCODER_FAMILIES) == {768: Architecture.SD1, 1024: Architecture.SD2}
    for width, arch in CONTEXT_DIM_FAMILIES.items():
        spec = measured_spec(arch)
        assert spec.rule == "sd_unet"
        assert width in spec.context_widths


def test_flux_and_sd3_values_are_the_rows_data() -> None:
    """Flux.1 and Flux.2 share their blocks; what ``txt_in`` reads and their LoRAs' widths are row data."""
    from core.identify.lora_base import _FLUX1_HIDDEN, _FLUX2_HIDDEN, _SD3_HIDDEN
    from core.identify.matchers.dit import _SD3_POS_EMBED, FLUX2_CONTEXT_DIMS, T5_XXL_WIDTH

    assert T5_XXL_WIDTH == 4096
    assert measured_spec(Architecture.FLUX1).context_widths == {4096: ""}
    assert FLUX2_CONTEXT_DIMS == {7680: "klein-4b", 12288: "klein-9b", 15360: "dev"}
    assert _FLUX1_HIDDEN == 3072
    assert _FLUX2_HIDDEN == {4096: "klein-9b", 6144: "dev"}
    assert measured_spec(Architecture.SD3).lora_widths == _SD3_HIDDEN
    assert _SD3_POS_EMBED == {36864: "sd3-medium", 147456: "sd3.5-medium"}


MEASURED_WIDTHS = ("context_widths", "adm_widths", "token_widths", "text_encoder_widths", "lora_widths")


def test_no_width_names_two_families_of_one_rule() -> None:
    """A width two rows of one rule claimed would make the family a matter of row order: refused."""
    for rule in ("sd_unet", "flux", "mmdit"):
        rows = measured_rows(rule)
        assert rows, rule
        for attribute in (
            "context_widths",
            "adm_widths",
            "token_widths",
            "text_encoder_widths",
            "lora_widths",
        ):
            claimed = [width for _, spec in rows for width in getattr(spec, attribute)]
            assert len(claimed) == len(set(claimed)), (rule, attribute)
            assert set(width_families(rule, attribute)) == set(claimed)


def test_measured_families_have_no_signature_of_their_own() -> None:
    """A measured row is told apart by its rule's measurement, never by a signature another row shares."""
    for row in ROWS:
        if row.measured is not None:
            assert row.checkpoint is None, row.architecture
