"""Diffusers folders on disk: a pipeline is the family its ``model_index.json`` class names, whatever its
widths; a component folder is what its ``config.json`` says (diffusers ``_class_name`` or transformers
``architectures``), read through the same reader the scanner and ``inspect`` use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.examine import walk_root
from core.formats.model_file import CorruptFileError
from core.formats.reader import read_header
from core.identify import Identification, identify
from core.taxonomy import Architecture, AssetKind, FileFormat, Prediction, Variant
from tests.factory.diffusers_configs import write_json, write_pipeline
from tests.factory.safetensors_writer import write_safetensors


def identify_path(path: Path) -> Identification:
    return identify(read_header(path))


def reasons(result: Identification) -> str:
    return "\n".join(result.reasons)


# -- pipelines: the class decides -----------------------------------------------------------------------


def test_tiny_stable_diffusion_pipeline_is_sd1_whatever_its_width(tmp_path: Path) -> None:
    root = write_pipeline(tmp_path / "tiny-sd", "StableDiffusionPipeline", unet={"cross_attention_dim": 32})

    result = identify_path(root)

    assert (result.kind, result.architecture) == (AssetKind.CHECKPOINT, Architecture.SD1), reasons(result)
    assert result.format is FileFormat.DIFFUSERS
    assert result.prediction is Prediction.EPS
    assert "cross_attention_dim 32 is not SD1's 768 or SD2's 1024" in reasons(result)
    assert result.metadata["pipeline"] == "StableDiffusionPipeline"


def test_sd2_is_told_from_sd1_by_width_and_keeps_its_prediction(tmp_path: Path) -> None:
    root = write_pipeline(
        tmp_path / "sd2",
        "StableDiffusionPipeline",
        unet={"cross_attention_dim": 1024, "in_channels": 4},
        prediction="v_prediction",
    )

    result = identify_path(root)

    assert (result.architecture, result.prediction, result.variant) == (
        Architecture.SD2,
        Prediction.V,
        Variant.NORMAL,
    )


def test_sdxl_width_under_an_sd_pipeline_stays_sd_family_with_the_conflict_recorded(tmp_path: Path) -> None:
    root = write_pipeline(tmp_path / "odd", "StableDiffusionPipeline", unet={"cross_attention_dim": 2048})

    result = identify_path(root)

    assert result.architecture is Architecture.SD1
    assert "(sdxl's width)" in reasons(result)


def test_tiny_sdxl_pipeline_is_sdxl(tmp_path: Path) -> None:
    root = write_pipeline(
        tmp_path / "tiny-xl",
        "StableDiffusionXLPipeline",
        unet={"cross_attention_dim": 64, "addition_embed_type": "text_time"},
        text_encoder_2=True,
    )

    result = identify_path(root)

    assert result.architecture is Architecture.SDXL, reasons(result)
    assert "StableDiffusionXLPipeline => SDXL family" in reasons(result)
    assert result.metadata["components"] == ["scheduler", "text_encoder", "text_encoder_2", "unet", "vae"]


def test_sdxl_img2img_with_only_the_second_text_encoder_is_the_refiner(tmp_path: Path) -> None:
    root = write_pipeline(
        tmp_path / "refiner",
        "StableDiffusionXLImg2ImgPipeline",
        unet={"cross_attention_dim": 64},
        text_encoder=False,
        text_encoder_2=True,
    )

    result = identify_path(root)

    assert result.architecture is Architecture.SDXL_REFINER, reasons(result)
    assert "text_encoder_2 only" in reasons(result)


def test_sdxl_img2img_with_both_text_encoders_is_sdxl(tmp_path: Path) -> None:
    root = write_pipeline(
        tmp_path / "img2img",
        "StableDiffusionXLImg2ImgPipeline",
        unet={"cross_attention_dim": 2048},
        text_encoder_2=True,
    )

    assert identify_path(root).architecture is Architecture.SDXL


@pytest.mark.parametrize(
    ("pipeline", "unet", "variant"),
    [
        ("StableDiffusionInpaintPipeline", {"cross_attention_dim": 32, "in_channels": 9}, Variant.INPAINT),
        ("StableDiffusionInpaintPipeline", {"cross_attention_dim": 32}, Variant.INPAINT),
        ("StableDiffusionInstructPix2PixPipeline", {"cross_attention_dim": 768}, Variant.PIX2PIX),
        ("StableDiffusionImg2ImgPipeline", {"cross_attention_dim": 768, "in_channels": 4}, Variant.NORMAL),
    ],
)
def test_task_pipelines_keep_their_family_and_name_the_variant(
    tmp_path: Path, pipeline: str, unet: dict[str, Any], variant: Variant
) -> None:
    result = identify_path(write_pipeline(tmp_path / "p", pipeline, unet=unet))

    assert (result.architecture, result.variant) == (Architecture.SD1, variant), reasons(result)


@pytest.mark.parametrize(
    ("pipeline", "transformer", "architecture"),
    [
        ("StableDiffusion3Pipeline", {"_class_name": "SD3Transformer2DModel"}, Architecture.SD3),
        ("FluxPipeline", {"_class_name": "FluxTransformer2DModel", "in_channels": 64}, Architecture.FLUX1),
        # A transformer class this version does not know: the pipeline class still names the family.
        ("FluxPipeline", {"_class_name": "FluxTransformer3DModel"}, Architecture.FLUX1),
    ],
)
def test_transformer_pipelines(
    tmp_path: Path, pipeline: str, transformer: dict[str, Any], architecture: Architecture
) -> None:
    result = identify_path(write_pipeline(tmp_path / "p", pipeline, transformer=transformer))

    assert result.architecture is architecture, reasons(result)


def test_an_unknown_pipeline_class_falls_back_to_the_widths(tmp_path: Path) -> None:
    known = write_pipeline(tmp_path / "a", "SomeCommunityPipeline", unet={"cross_attention_dim": 768})
    unknown = write_pipeline(tmp_path / "b", "SomeCommunityPipeline", unet={"cross_attention_dim": 32})

    assert identify_path(known).architecture is Architecture.SD1
    assert identify_path(unknown).architecture is Architecture.OTHER


# -- component folders: the config decides ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "kind", "architecture", "encoder"),
    [
        ({"_class_name": "AutoencoderKL", "scaling_factor": 0.13025}, AssetKind.VAE, Architecture.SDXL, None),
        ({"architectures": ["CLIPTextModel"], "hidden_size": 768}, AssetKind.TEXT_ENCODER, None, "clip_l"),
        (
            {"architectures": ["CLIPTextModelWithProjection"], "hidden_size": 1280},
            AssetKind.TEXT_ENCODER,
            None,
            "openclip_bigg",
        ),
        ({"architectures": ["T5EncoderModel"], "d_model": 4096}, AssetKind.TEXT_ENCODER, None, "t5xxl"),
        (
            {"architectures": ["CLIPVisionModelWithProjection"], "hidden_size": 1280},
            AssetKind.CLIP_VISION,
            None,
            "clip_vision_1280",
        ),
        (
            {
                "_class_name": "ControlNetModel",
                "cross_attention_dim": 2048,
                "addition_embed_type": "text_time",
            },
            AssetKind.CONTROLNET,
            Architecture.SDXL,
            None,
        ),
        (
            {
                "_class_name": "UNet2DConditionModel",
                "cross_attention_dim": 2048,
                "addition_embed_type": "text_time",
                "projection_class_embeddings_input_dim": 2816,
            },
            AssetKind.CHECKPOINT,
            Architecture.SDXL,
            None,
        ),
        ({"_class_name": "SD3Transformer2DModel"}, AssetKind.CHECKPOINT, Architecture.SD3, None),
        ({"_class_name": "FluxTransformer2DModel"}, AssetKind.CHECKPOINT, Architecture.FLUX1, None),
    ],
)
def test_a_component_folder_holding_only_its_config_is_identified(
    tmp_path: Path,
    config: dict[str, Any],
    kind: AssetKind,
    architecture: Architecture | None,
    encoder: str | None,
) -> None:
    write_json(tmp_path / "component" / "config.json", config)

    result = identify_path(tmp_path / "component")

    assert result.kind is kind, reasons(result)
    assert result.architecture is (architecture or Architecture.UNKNOWN)
    if encoder is not None:
        assert result.metadata["encoder"] == encoder


def test_a_text_encoder_folder_with_weights_is_one_asset_to_the_scanner(tmp_path: Path) -> None:
    folder = tmp_path / "root" / "clip-l"
    write_json(folder / "config.json", {"architectures": ["CLIPTextModel"], "hidden_size": 32})
    write_safetensors(
        folder / "model.safetensors", {"text_model.embeddings.token_embedding.weight": ("F16", (8, 32))}
    )

    found = list(walk_root(tmp_path / "root"))

    assert [(item.path, item.is_folder) for item in found] == [(folder, True)]
    result = identify_path(folder)
    assert result.kind is AssetKind.TEXT_ENCODER
    assert result.metadata["encoder"] == "clip_32"


def test_a_config_that_names_no_model_class_says_so(tmp_path: Path) -> None:
    write_json(tmp_path / "notes" / "config.json", {"learning_rate": 1e-4})

    with pytest.raises(CorruptFileError, match=r"config\.json names no model class"):
        read_header(tmp_path / "notes")
