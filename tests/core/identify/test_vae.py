"""Autoencoders: naming, prefixes, training leftovers, and the latent-channel families."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import has_reason, identify_case, reasons_text
from tests.factory import models
from tests.factory.models import ModelCase

CASES: dict[str, tuple[ModelCase, Architecture, str]] = {
    "bare LDM": (
        models.vae(),
        Architecture.UNKNOWN,
        "4 latent channels: SD1, SD2 and SDXL VAEs have identical",
    ),
    "first_stage_model. prefixed": (
        models.vae("first_stage_model."),
        Architecture.UNKNOWN,
        "VAE-only file with the first_stage_model. prefix",
    ),
    "vae. prefixed": (models.vae("vae."), Architecture.UNKNOWN, "VAE-only file with the vae. prefix"),
    "sd1 key space": (models.vae(space="sd1-ldm"), Architecture.UNKNOWN, "identical shapes"),
    "lightning ckpt with loss.*": (
        models.vae(leftovers=True),
        Architecture.UNKNOWN,
        "ignoring 3 training leftovers",
    ),
    "diffusers naming": (models.diffusers_vae(), Architecture.UNKNOWN, "diffusers naming"),
    "16 channels, bare": (
        models.vae(latent=16),
        Architecture.OTHER,
        "nothing in the header tells SD3 from Flux.1",
    ),
    "16 channels, vae. (ComfyUI Flux)": (models.vae("vae.", latent=16), Architecture.FLUX1, "vae. prefix"),
    "16 channels, first_stage_model. (SD3)": (
        models.vae("first_stage_model.", latent=16),
        Architecture.SD3,
        "first_stage_model. prefix",
    ),
    "32 channels (Flux.2)": (models.vae(latent=32), Architecture.FLUX2, "32 latent channels => flux2"),
}


@pytest.mark.parametrize("name", CASES)
def test_vae_layouts(name: str) -> None:
    case, arch, reason = CASES[name]
    result = identify_case(case)
    assert result.kind is AssetKind.VAE, result.refusals
    assert result.architecture is arch, reasons_text(result)
    assert has_reason(result, reason), reasons_text(result)
    assert result.network is None


def test_latent_channels_and_naming_details() -> None:
    assert identify_case(models.vae(latent=16)).metadata["latent_channels"] == 16
    assert identify_case(models.diffusers_vae()).metadata["vae_naming"] == "diffusers"
    assert identify_case(models.vae()).metadata["vae_naming"] == "ldm"


@pytest.mark.parametrize(
    ("architecture", "expected"),
    [
        ("stable-diffusion-xl-v1-base/vae", Architecture.SDXL),
        ("stable-diffusion-v1/vae", Architecture.SD1),
        ("flux-1-dev/vae", Architecture.UNKNOWN),  # a Flux claim on a 4-channel VAE is ignored
    ],
)
def test_metadata_names_a_4_channel_vae(architecture: str, expected: Architecture) -> None:
    result = identify_case(models.vae().with_metadata(**{"modelspec.architecture": architecture}))
    assert result.architecture is expected


def test_metadata_splits_16_channels() -> None:
    case = models.vae(latent=16).with_metadata(**{"modelspec.architecture": "stable-diffusion-3-medium/vae"})
    assert identify_case(case).architecture is Architecture.SD3


def test_encoder_only_reads_latents_from_conv_out() -> None:
    case = models.vae()
    specs = {name: spec for name, spec in case.specs.items() if not name.startswith("decoder.")}
    result = identify_case(replace(case, specs=specs))
    assert result.kind is AssetKind.VAE
    assert result.metadata["latent_channels"] == 4


def test_checkpoint_is_not_taken_for_its_vae() -> None:
    assert identify_case(models.sd1_checkpoint()).kind is AssetKind.CHECKPOINT


def test_autoencoder_inside_an_unknown_model_is_refused() -> None:
    case = models.vae()
    specs = {**case.specs, **{f"head.{i}.weight": ("F32", (4, 4)) for i in range(100)}}
    result = identify_case(ModelCase("vae-plus-head", specs))
    assert result.kind is AssetKind.UNKNOWN
    assert any(r.startswith("vae: 100 of 348 tensors lie outside an autoencoder") for r in result.refusals)
