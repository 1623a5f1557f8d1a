"""Main models: every family, variant and naming, from the real key spaces where they exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest

from core.taxonomy import Architecture, AssetKind, FileFormat, Precision, Prediction, Variant
from tests.core.identify.support import has_reason, identify_case, reasons_text
from tests.factory import models
from tests.factory.models import ModelCase


@dataclass(frozen=True)
class Expect:
    arch: Architecture
    variant: Variant | None = Variant.NORMAL
    prediction: Prediction | None = None
    reason: str = ""
    details: tuple[tuple[str, object], ...] = ()


CASES: dict[str, tuple[Callable[[], ModelCase], Expect]] = {
    "sd1": (models.sd1_checkpoint, Expect(Architecture.SD1, reason="attn2.to_k in-features 768 => sd1")),
    "sd1 old CLIP names": (
        lambda: models.sd1_checkpoint(old_clip_names=True),
        Expect(Architecture.SD1, reason="old naming (no text_model.)"),
    ),
    "sd1 inpaint": (
        lambda: models.sd1_checkpoint(in_channels=9),
        Expect(
            Architecture.SD1,
            Variant.INPAINT,
            reason="input_blocks.0.0.weight has 9 input channels => inpaint",
        ),
    ),
    "sd1 instruct-pix2pix": (
        lambda: models.sd1_checkpoint(in_channels=8),
        Expect(Architecture.SD1, Variant.PIX2PIX, reason="8 input channels => pix2pix"),
    ),
    "sd2": (models.sd2_checkpoint, Expect(Architecture.SD2, reason="proj_in is a linear layer")),
    "sd2 depth": (
        lambda: models.sd2_checkpoint(in_channels=5),
        Expect(Architecture.SD2, Variant.DEPTH, reason="5 input channels => depth"),
    ),
    "sdxl": (models.sdxl_checkpoint, Expect(Architecture.SDXL, reason="attn2.to_k in-features 2048 => sdxl")),
    "sdxl inpaint": (
        lambda: models.sdxl_checkpoint(in_channels=9),
        Expect(Architecture.SDXL, Variant.INPAINT),
    ),
    "sdxl v-pred markers": (
        lambda: models.sdxl_checkpoint(v_pred=True),
        Expect(Architecture.SDXL, prediction=Prediction.V, reason="v_pred marker key => v"),
    ),
    "playground v2.5": (
        lambda: models.sdxl_checkpoint(edm=True),
        Expect(Architecture.SDXL, reason="Playground v2.5", details=(("edm", "playground-v2.5"),)),
    ),
    "sdxl refiner": (
        models.sdxl_refiner_checkpoint,
        Expect(Architecture.SDXL_REFINER, reason="attn2.to_k in-features 1280 => sdxl_refiner"),
    ),
    "sdxl unet only, LDM names": (
        models.sdxl_unet_only_ldm,
        Expect(Architecture.SDXL, reason="unet only", details=(("components", ["unet"]),)),
    ),
    "sdxl unet only, diffusers names": (
        models.sdxl_unet_only_diffusers,
        Expect(Architecture.SDXL, reason="unet only"),
    ),
    "sd3 medium": (
        models.sd3_checkpoint,
        Expect(Architecture.SD3, variant=None, details=(("sd3_variant", "sd3-medium"),)),
    ),
    "flux1 dev, bare": (
        models.flux_checkpoint,
        Expect(Architecture.FLUX1, reason="guidance_in present", details=(("flux_variant", "dev"),)),
    ),
    "flux1 schnell, bare": (
        lambda: models.flux_checkpoint(dev=False),
        Expect(Architecture.FLUX1, reason="no guidance_in", details=(("flux_variant", "schnell"),)),
    ),
    "flux1 dev, model.diffusion_model. + TE + VAE": (
        lambda: models.flux_checkpoint(bare=False),
        Expect(
            Architecture.FLUX1, reason="transformer + vae + text encoder", details=(("flux_variant", "dev"),)
        ),
    ),
    "flux1 schnell, prefixed": (
        lambda: models.flux_checkpoint(dev=False, bare=False),
        Expect(Architecture.FLUX1, details=(("flux_variant", "schnell"),)),
    ),
    "flux1 fill": (
        lambda: models.flux_checkpoint(img_in=384),
        Expect(Architecture.FLUX1, Variant.INPAINT, reason="Flux.1 Fill"),
    ),
    "flux1 depth/canny": (
        lambda: models.flux_checkpoint(img_in=128),
        Expect(Architecture.FLUX1, None, reason="Depth or Canny"),
    ),
    "flux2 dev": (
        models.flux2_checkpoint,
        Expect(Architecture.FLUX2, reason="txt_in in-features 15360", details=(("flux_variant", "dev"),)),
    ),
    "flux2 klein 4b": (
        lambda: models.flux2_checkpoint(context_dim=7680),
        Expect(Architecture.FLUX2, details=(("flux_variant", "klein-4b"),)),
    ),
    "flux2 klein 9b": (
        lambda: models.flux2_checkpoint(context_dim=12288, hidden=4096),
        Expect(Architecture.FLUX2, details=(("flux_variant", "klein-9b"),)),
    ),
    "flux-like with an unknown text width": (
        lambda: models.flux2_checkpoint(context_dim=5000),
        Expect(Architecture.OTHER, None, reason="matches neither Flux.1"),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_checkpoint_families(name: str) -> None:
    build, expect = CASES[name]
    result = identify_case(build())
    assert result.kind is AssetKind.CHECKPOINT, reasons_text(result)
    assert result.architecture is expect.arch, reasons_text(result)
    assert result.variant is expect.variant, reasons_text(result)
    assert result.prediction is expect.prediction, reasons_text(result)
    if expect.reason:
        assert has_reason(result, expect.reason), reasons_text(result)
    for key, value in expect.details:
        assert result.metadata[key] == value
    assert result.network is None


def test_bundled_components_are_reported() -> None:
    result = identify_case(models.sd1_checkpoint())
    assert result.metadata["components"] == ["unet", "vae", "text encoder"]
    assert has_reason(result, "unet + vae + text encoder")
    assert has_reason(result, "CLIP-L text encoder (cond_stage_model.transformer.text_model.*)")


def test_sd2_names_its_openclip_encoder() -> None:
    assert has_reason(identify_case(models.sd2_checkpoint()), "OpenCLIP ViT-H text encoder")


def test_precision_follows_the_weights() -> None:
    assert identify_case(models.sd1_checkpoint()).precision is Precision.FP32
    assert identify_case(models.sd1_checkpoint(dtype="F16")).precision is Precision.FP16
    assert identify_case(models.flux_checkpoint()).precision is Precision.BF16


def test_unet_decides_when_the_text_encoder_disagrees() -> None:
    case = models.sd1_checkpoint()
    specs = dict(case.specs)
    specs["cond_stage_model.model.token_embedding.weight"] = ("F32", (49408, 1024))
    for name in [n for n in specs if n.startswith("cond_stage_model.transformer.")]:
        del specs[name]
    result = identify_case(replace(case, specs=specs))
    assert result.architecture is Architecture.SD1
    assert has_reason(result, "suggests sd2; the UNet decides")


# ---------------------------------------------------------------- SD2 prediction (the one value read)

SD2 = models.sd2_checkpoint()


def _with_probe(case: ModelCase, std: float) -> ModelCase:
    values = models.sd2_probe_values(std) if std else np.zeros(320, dtype=np.float32)
    return replace(case, values={models.SD2_PROBE: values})


@pytest.mark.parametrize(("std", "expected"), [(0.12, Prediction.V), (0.05, Prediction.EPS)])
def test_sd2_prediction_from_the_probe_tensor(std: float, expected: Prediction) -> None:
    case = _with_probe(SD2, std)
    result = identify_case(case, models.tensor_reader(case))
    assert result.prediction is expected
    assert has_reason(result, f"= {std:.4f}")


def test_zero_filled_sd2_is_undecidable_not_eps() -> None:
    """A zero-filled copy must not claim eps: std 0 says nothing, so it is left open."""
    case = _with_probe(SD2, 0.0)
    result = identify_case(case, models.tensor_reader(case))
    assert result.prediction is None
    assert has_reason(result, "constant (zero-filled?)")


def test_zero_filled_sd2_identifies_like_the_real_file_through_metadata() -> None:
    """The real 768-v file (probe std > 0.09) and its zero-filled copy agree via the same metadata."""
    metadata = {"modelspec.architecture": "stable-diffusion-v2-768-v", "modelspec.prediction_type": "v"}
    real = _with_probe(SD2, 0.12).with_metadata(**metadata)
    zero = _with_probe(SD2, 0.0).with_metadata(**metadata)
    real_result = identify_case(real, models.tensor_reader(real))
    zero_result = identify_case(zero, models.tensor_reader(zero))
    assert real_result.prediction is zero_result.prediction is Prediction.V
    assert (real_result.kind, real_result.architecture, real_result.variant) == (
        zero_result.kind,
        zero_result.architecture,
        zero_result.variant,
    )


def test_sd2_architecture_suffix_means_v() -> None:
    case = SD2.with_metadata(**{"modelspec.architecture": "stable-diffusion-v2-768-v"})
    result = identify_case(case)
    assert result.prediction is Prediction.V
    assert has_reason(result, "modelspec.architecture=stable-diffusion-v2-768-v => v")


@pytest.mark.parametrize(("step", "expected"), [(110000, Prediction.V), (220000, Prediction.EPS), (5, None)])
def test_sd2_ckpt_global_step(step: int, expected: Prediction | None) -> None:
    case = replace(SD2, format=FileFormat.CKPT, extras={"global_step": step})
    assert identify_case(case).prediction is expected


def test_tensor_beats_disagreeing_metadata() -> None:
    case = _with_probe(SD2, 0.12).with_metadata(**{"modelspec.prediction_type": "epsilon"})
    result = identify_case(case, models.tensor_reader(case))
    assert result.prediction is Prediction.V
    assert has_reason(result, "disagrees; the tensor decides")


def test_failing_reader_does_not_lose_the_identification() -> None:
    def broken(name: str) -> np.ndarray:
        raise OSError("gone")

    result = identify_case(SD2, broken)
    assert result.architecture is Architecture.SD2
    assert result.prediction is None
    assert has_reason(result, "could not read")


def test_sd1_prediction_only_from_metadata() -> None:
    assert identify_case(models.sd1_checkpoint()).prediction is None
    case = models.sd1_checkpoint().with_metadata(**{"modelspec.prediction_type": "v"})
    result = identify_case(case)
    assert result.prediction is Prediction.V
    assert has_reason(result, "metadata modelspec.prediction_type => v")


# ------------------------------------------------------------------------------------ diffusers folders

FOLDERS: dict[str, tuple[ModelCase, AssetKind, Architecture, Variant | None, Prediction | None]] = {
    "sd1 pipeline": (
        models.diffusers_pipeline(
            unet={"cross_attention_dim": 768, "in_channels": 4}, scheduler={"prediction_type": "epsilon"}
        ),
        AssetKind.CHECKPOINT,
        Architecture.SD1,
        Variant.NORMAL,
        Prediction.EPS,
    ),
    "sd2 768-v pipeline": (
        models.diffusers_pipeline(
            unet={"cross_attention_dim": 1024, "in_channels": 4},
            scheduler={"prediction_type": "v_prediction"},
        ),
        AssetKind.CHECKPOINT,
        Architecture.SD2,
        Variant.NORMAL,
        Prediction.V,
    ),
    "sdxl inpaint pipeline": (
        models.diffusers_pipeline(
            "StableDiffusionXLInpaintPipeline",
            unet={"cross_attention_dim": 2048, "in_channels": 9},
            fp16=True,
        ),
        AssetKind.CHECKPOINT,
        Architecture.SDXL,
        Variant.INPAINT,
        None,
    ),
    "sdxl refiner pipeline": (
        models.diffusers_pipeline(
            "StableDiffusionXLImg2ImgPipeline", unet={"cross_attention_dim": 1280, "in_channels": 4}
        ),
        AssetKind.CHECKPOINT,
        Architecture.SDXL_REFINER,
        Variant.NORMAL,
        None,
    ),
    "flux dev pipeline": (
        models.diffusers_pipeline(
            "FluxPipeline",
            transformer={"_class_name": "FluxTransformer2DModel", "guidance_embeds": True, "in_channels": 64},
        ),
        AssetKind.CHECKPOINT,
        Architecture.FLUX1,
        Variant.NORMAL,
        None,
    ),
    "sd3 pipeline": (
        models.diffusers_pipeline(
            "StableDiffusion3Pipeline", transformer={"_class_name": "SD3Transformer2DModel"}
        ),
        AssetKind.CHECKPOINT,
        Architecture.SD3,
        None,
        None,
    ),
    "flux2 pipeline": (
        models.diffusers_pipeline(
            "Flux2Pipeline",
            transformer={"_class_name": "Flux2Transformer2DModel", "joint_attention_dim": 15360},
        ),
        AssetKind.CHECKPOINT,
        Architecture.FLUX2,
        None,
        None,
    ),
    "unet folder": (
        models.diffusers_component(
            {"_class_name": "UNet2DConditionModel", "cross_attention_dim": 2048, "in_channels": 4}
        ),
        AssetKind.CHECKPOINT,
        Architecture.SDXL,
        Variant.NORMAL,
        None,
    ),
    "sdxl vae folder": (
        models.diffusers_component(
            {"_class_name": "AutoencoderKL", "latent_channels": 4, "scaling_factor": 0.13025}
        ),
        AssetKind.VAE,
        Architecture.SDXL,
        None,
        None,
    ),
    "sd1/sd2 vae folder": (
        models.diffusers_component(
            {"_class_name": "AutoencoderKL", "latent_channels": 4, "scaling_factor": 0.18215}
        ),
        AssetKind.VAE,
        Architecture.UNKNOWN,
        None,
        None,
    ),
    "flux vae folder": (
        models.diffusers_component(
            {"_class_name": "AutoencoderKL", "latent_channels": 16, "scaling_factor": 0.3611}
        ),
        AssetKind.VAE,
        Architecture.FLUX1,
        None,
        None,
    ),
    "sd3 vae folder": (
        models.diffusers_component(
            {"_class_name": "AutoencoderKL", "latent_channels": 16, "scaling_factor": 1.5305}
        ),
        AssetKind.VAE,
        Architecture.SD3,
        None,
        None,
    ),
    "controlnet folder": (
        models.diffusers_component({"_class_name": "ControlNetModel", "cross_attention_dim": 768}),
        AssetKind.CONTROLNET,
        Architecture.SD1,
        None,
        None,
    ),
    "clip text folder": (
        models.diffusers_component({"_class_name": "CLIPTextModel"}),
        AssetKind.TEXT_ENCODER,
        Architecture.UNKNOWN,
        None,
        None,
    ),
}


@pytest.mark.parametrize("name", FOLDERS)
def test_diffusers_folders(name: str) -> None:
    case, kind, arch, variant, prediction = FOLDERS[name]
    result = identify_case(case)
    assert (result.kind, result.architecture, result.variant, result.prediction) == (
        kind,
        arch,
        variant,
        prediction,
    ), reasons_text(result)
    assert result.format is FileFormat.DIFFUSERS
    assert result.reasons


def test_diffusers_pipeline_details() -> None:
    result = identify_case(FOLDERS["sdxl inpaint pipeline"][0])
    assert result.metadata["repo_variant"] == "fp16"
    assert result.metadata["components"] == [
        "scheduler",
        "text_encoder",
        "unet",
        "vae",
    ]  # safety_checker absent
    flux = identify_case(FOLDERS["flux dev pipeline"][0])
    assert flux.metadata["flux_variant"] == "dev"


def test_unknown_diffusers_component_is_refused() -> None:
    result = identify_case(models.diffusers_component({"_class_name": "SomethingElse"}))
    assert result.kind is AssetKind.UNKNOWN
    assert any("SomethingElse" in refusal for refusal in result.refusals)
