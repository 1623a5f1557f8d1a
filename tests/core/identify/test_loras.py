"""LoRA family: every network type, every trainer's dialect, and the base-model rules."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from core.identify import identify
from core.identify.lora_scan import may_be_lora
from core.taxonomy import Architecture, AssetKind, NetworkType, Precision
from tests.core.identify.support import has_reason, identify_case, reasons_text
from tests.factory import models
from tests.factory.models import ModelCase

KOHYA: dict[str, tuple[Callable[[], ModelCase], Architecture, str]] = {
    "sd1 unet+te": (lambda: models.kohya_lora("sd1"), Architecture.SD1, "attn2.to_k in-features 768 => sd1"),
    "sd1 unet only": (lambda: models.kohya_lora("sd1", text=False), Architecture.SD1, "768 => sd1"),
    "sd1 te only": (lambda: models.kohya_lora("sd1", unet=False), Architecture.SD1, "text encoder width 768"),
    "sd2 unet+te": (lambda: models.kohya_lora("sd2"), Architecture.SD2, "attn2.to_k in-features 1024 => sd2"),
    "sd2 te only": (
        lambda: models.kohya_lora("sd2", unet=False),
        Architecture.SD2,
        "text encoder width 1024",
    ),
    "sdxl unet+te": (
        lambda: models.kohya_lora("sdxl"),
        Architecture.SDXL,
        "attn2.to_k in-features 2048 => sdxl",
    ),
    "sdxl unet only": (lambda: models.kohya_lora("sdxl", text=False), Architecture.SDXL, "2048 => sdxl"),
    "sdxl te only": (
        lambda: models.kohya_lora("sdxl", unet=False),
        Architecture.SDXL,
        "text encoder widths 768 + 1280 = 2048 => sdxl",
    ),
}


@pytest.mark.parametrize("name", KOHYA)
def test_kohya_base_model(name: str) -> None:
    build, arch, reason = KOHYA[name]
    result = identify_case(build())
    assert result.kind is AssetKind.LORA
    assert result.architecture is arch, reasons_text(result)
    assert result.network is NetworkType.LORA
    assert has_reason(result, reason), reasons_text(result)
    assert result.metadata["lora_format"] == "kohya"
    assert result.metadata["rank"] == 8
    assert result.variant is None
    assert result.prediction is None


NETWORKS: dict[str, tuple[str, str, NetworkType, str]] = {
    "locon": ("sd1", "locon", NetworkType.LOCON, "low-rank 3x3 convolutions => locon"),
    "loha": ("sd1", "loha", NetworkType.LOHA, "of them loha"),
    "lokr": ("sdxl", "lokr", NetworkType.LOKR, "of them lokr"),
    "dora": ("sd1", "dora", NetworkType.DORA, "dora_scale"),
    "ia3": ("sd1", "ia3", NetworkType.IA3, "of them ia3"),
    "full": ("sd1", "full", NetworkType.FULL, "of them full"),
    "glora": ("sd1", "glora", NetworkType.GLORA, "of them glora"),
    "oft": ("sd1", "oft", NetworkType.OFT, "of them oft"),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_lycoris_network_types(name: str) -> None:
    arch, network, expected, reason = NETWORKS[name]
    result = identify_case(models.kohya_lora(arch, network))
    assert result.kind is AssetKind.LORA
    assert result.network is expected, reasons_text(result)
    assert has_reason(result, reason), reasons_text(result)
    assert result.architecture is (Architecture.SDXL if arch == "sdxl" else Architecture.SD1), reasons_text(
        result
    )


def test_kohya_sd1_one_by_one_convolutions_stay_lora() -> None:
    """kohya's SD1 LoRA adapts proj_in/proj_out, 1x1 convolutions: that is plain LoRA, not LoCon."""
    case = models.kohya_lora("sd1")
    assert any(len(shape) == 4 for _, shape in case.specs.values())
    assert identify_case(case).network is NetworkType.LORA


def test_cp_decomposed_locon() -> None:
    case = models.kohya_lora("sd1")
    specs = dict(case.specs)
    specs["lora_unet_down_blocks_0_resnets_0_conv1.lora_mid.weight"] = ("F16", (8, 8, 3, 3))
    result = identify_case(replace(case, specs=specs))
    assert result.network is NetworkType.LOCON
    assert has_reason(result, "lora_mid (CP) tensors")


DIALECTS: dict[str, tuple[Callable[[], ModelCase], Architecture, NetworkType, str]] = {
    "onetrainer sdxl (diffusers paths)": (
        lambda: models.onetrainer_lora("sdxl"),
        Architecture.SDXL,
        NetworkType.LORA,
        "kohya",
    ),
    "onetrainer sd1 dora (lora_te1_)": (
        lambda: models.onetrainer_lora("sd1", dora=True),
        Architecture.SD1,
        NetworkType.DORA,
        "kohya",
    ),
    "peft sdxl": (lambda: models.peft_lora("sdxl"), Architecture.SDXL, NetworkType.LORA, "peft"),
    "peft sd1": (lambda: models.peft_lora("sd1"), Architecture.SD1, NetworkType.LORA, "peft"),
    "peft sd1 dora": (lambda: models.peft_lora("sd1", dora=True), Architecture.SD1, NetworkType.DORA, "peft"),
    "diffusers attention processors": (
        models.legacy_attn_procs_lora,
        Architecture.SD1,
        NetworkType.LORA,
        "diffusers_attn_procs",
    ),
    "flux kohya": (lambda: models.flux_lora("kohya"), Architecture.FLUX1, NetworkType.LORA, "kohya"),
    "flux ai-toolkit (BFL names)": (
        lambda: models.flux_lora("ai_toolkit"),
        Architecture.FLUX1,
        NetworkType.LORA,
        "ai_toolkit",
    ),
    "flux diffusers / ai-toolkit (transformer.)": (
        lambda: models.flux_lora("diffusers"),
        Architecture.FLUX1,
        NetworkType.LORA,
        "peft",
    ),
    "flux onetrainer": (
        lambda: models.flux_lora("onetrainer"),
        Architecture.FLUX1,
        NetworkType.LORA,
        "onetrainer",
    ),
    "flux xlabs": (lambda: models.flux_lora("xlabs"), Architecture.FLUX1, NetworkType.LORA, "xlabs"),
    "flux2 klein (SwiGLU single blocks)": (
        models.flux2_klein_lora,
        Architecture.FLUX2,
        NetworkType.LORA,
        "kohya",
    ),
    "flux2 dev width": (
        lambda: models.flux_lora("kohya", hidden=6144),
        Architecture.FLUX2,
        NetworkType.LORA,
        "kohya",
    ),
}


@pytest.mark.parametrize("name", DIALECTS)
def test_dialects(name: str) -> None:
    build, arch, network, dialect = DIALECTS[name]
    result = identify_case(build())
    assert result.kind is AssetKind.LORA, result.refusals
    assert result.architecture is arch, reasons_text(result)
    assert result.network is network, reasons_text(result)
    assert result.metadata["lora_format"] == dialect


def test_flux_reasons() -> None:
    result = identify_case(models.flux_lora("kohya"))
    assert has_reason(result, "hidden size 3072 => flux1")
    assert has_reason(result, "linear1 out-features 21504 confirms flux1")
    klein = identify_case(models.flux2_klein_lora())
    assert has_reason(klein, "27648 (SwiGLU MLP) => flux2")


def test_sdxl_unet_lora_without_cross_attention_uses_block_depth() -> None:
    result = identify_case(models.sdxl_unet_lora_without_cross_attention())
    assert result.architecture is Architecture.SDXL
    assert has_reason(result, "transformer_blocks index >= 2")


def test_sgm_paths_mean_sdxl_without_shapes_to_measure() -> None:
    case = models.kohya_lora("sdxl", "ia3", text=False)
    result = identify_case(case)
    assert result.architecture is Architecture.SDXL
    assert has_reason(result, "SGM paths")


def test_ia3_and_oft_measure_text_encoder_outputs() -> None:
    assert identify_case(models.kohya_lora("sd1", "ia3")).architecture is Architecture.SD1
    assert identify_case(models.kohya_lora("sd2", "oft")).architecture is Architecture.SD2


SDXL_META = {
    "ss_base_model_version": "sdxl_base_v1-0",
    "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
}


def test_metadata_agreement_is_recorded() -> None:
    result = identify_case(models.kohya_lora("sdxl", metadata=SDXL_META))
    assert result.architecture is Architecture.SDXL
    assert has_reason(result, "metadata agrees (modelspec.architecture=stable-diffusion-xl-v1-base/lora)")


def test_tensors_beat_conflicting_metadata() -> None:
    result = identify_case(models.kohya_lora("sd1", metadata=SDXL_META))
    assert result.architecture is Architecture.SD1
    assert has_reason(result, "says sdxl; the tensors decide sd1")


def test_metadata_fills_the_gap_when_tensors_cannot_tell() -> None:
    case = models.kohya_lora("sd1", "ia3", text=False)
    assert identify_case(case).architecture is Architecture.UNKNOWN
    result = identify_case(replace(case, metadata={"ss_v2": "True"}))
    assert result.architecture is Architecture.SD2
    assert has_reason(result, "metadata ss_v2=True => sd2 (the tensors cannot tell)")


def test_metadata_summary_and_triggers() -> None:
    metadata = {
        **SDXL_META,
        "ss_output_name": "my_style",
        "ss_network_module": "networks.lora",
        "ss_network_dim": "8",
        "ss_network_alpha": "4.0",
        "ss_tag_frequency": '{"10_style": {"1girl": 12, "smile": 3}}',
        "modelspec.trigger_phrase": "mystyle, painterly",
    }
    result = identify_case(models.kohya_lora("sdxl", metadata=metadata))
    assert result.trigger_words == ("mystyle", "painterly")
    assert result.metadata["title"] == "my_style"
    assert result.metadata["network_dim"] == 8
    assert result.metadata["training_tags"] == {"1girl": 12, "smile": 3}
    assert result.metadata["modules"] == 974


def test_training_tags_are_not_triggers() -> None:
    case = models.kohya_lora("sd1", metadata={"ss_tag_frequency": '{"1_x": {"tok": 5}}'})
    assert identify_case(case).trigger_words == ()


def test_precision_of_loras() -> None:
    assert identify_case(models.kohya_lora("sd1")).precision is Precision.FP16
    assert identify_case(models.flux_lora("kohya")).precision is Precision.BF16


def test_large_non_lora_files_skip_the_scan() -> None:
    for big in (models.sdxl_checkpoint(), models.flux_checkpoint(), models.sd3_checkpoint()):
        assert not may_be_lora(models.to_header(big).tensors), big.name
    for case in (models.kohya_lora("sdxl"), models.peft_lora("sdxl"), models.kohya_lora("sdxl", "ia3")):
        assert may_be_lora(models.to_header(case).tensors), case.name


def test_identification_of_a_full_sdxl_lora_is_fast() -> None:
    """Generous bound (the target is well under 1 ms): it catches accidental quadratic rules, not noise."""
    header = models.to_header(models.kohya_lora("sdxl"))
    identify(header)
    timings = []
    for _ in range(15):
        start = time.perf_counter()
        identify(header)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.02
