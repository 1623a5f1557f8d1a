"""Parsing of real Hub payloads into records, and the pure file-selection helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.sources.hf_records import (
    HfFile,
    HfModelDetail,
    base_models_of,
    detail_from_payload,
    model_files,
    parse_gated,
    pipeline_components,
    sha256_or_none,
    summary_from_payload,
)
from core.taxonomy import FileFormat

DATA = Path(__file__).resolve().parents[2] / "data" / "huggingface"
TURBO_SHA256 = "2e58e3704b4c0831bf848e0507c9b5ff2cd8d007b8d0719dba3874156f631050"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def turbo() -> HfModelDetail:
    return detail_from_payload(payload("RepoHFMetadata1.json"))


def test_sdxl_turbo_detail(turbo: HfModelDetail) -> None:
    assert turbo.repo_id == "stabilityai/sdxl-turbo"
    assert turbo.sha == "f4b0486b498f84668e828044de1d0c8ba486e05b"
    assert turbo.is_diffusers_pipeline
    assert turbo.gated is False
    assert turbo.library_name == "diffusers"
    assert turbo.pipeline_tag == "text-to-image"
    assert turbo.downloads == 588989
    assert turbo.last_modified == datetime(2023, 12, 7, 18, 4, 49, tzinfo=UTC)
    assert turbo.card_data["license_name"] == "sai-nc-community"
    assert len(turbo.files) == 39
    single = turbo.file("sd_xl_turbo_1.0.safetensors")
    assert single == HfFile(
        path="sd_xl_turbo_1.0.safetensors",
        size=13875761366,
        sha256=TURBO_SHA256,
        is_lfs=True,
        blob_id="e35c7fd734789e0f9b3cf16839431216b86bef34",
    )
    readme = turbo.file("README.md")
    assert readme is not None
    assert readme.sha256 is None
    assert not readme.is_lfs
    assert turbo.raw["id"] == "stabilityai/sdxl-turbo"


def test_model_files_are_weights_only(turbo: HfModelDetail) -> None:
    paths = [f.path for f in model_files(turbo)]
    assert "sd_xl_turbo_1.0_fp16.safetensors" in paths
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in paths
    assert not any(p.endswith((".onnx", ".onnx_data", ".json", ".png")) for p in paths)
    assert len(paths) == 10


def test_precision_format_folder_variant() -> None:
    fp16 = HfFile("unet/diffusion_pytorch_model.fp16.safetensors", 1)
    assert (fp16.precision_hint, fp16.variant, fp16.folder, fp16.format) == (
        "fp16",
        "fp16",
        "unet",
        FileFormat.SAFETENSORS,
    )
    single = HfFile("sd_xl_turbo_1.0_fp16.safetensors", 1)
    assert single.precision_hint == "fp16"
    assert single.folder is None
    assert HfFile("model.bf16.gguf", 1).precision_hint == "bf16"
    assert HfFile("model.gguf", 1).format is FileFormat.GGUF
    assert HfFile("a/b.ckpt", 1).format is FileFormat.CKPT
    assert HfFile("a/b.pth", 1).format is FileFormat.PT
    assert HfFile("flux.sft", 1).format is FileFormat.SAFETENSORS
    assert HfFile("README.md", 1).format is None
    assert HfFile("x.safetensors", 1).precision_hint is None
    assert HfFile("unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors", 1).variant == "fp16"
    assert HfFile("unet/diffusion_pytorch_model-00001-of-00002.safetensors", 1).variant is None


@pytest.mark.parametrize(
    ("path", "weight"),
    [
        ("model.safetensors", True),
        ("lora.pt", True),
        ("pytorch_model.bin", True),
        ("optimizer.pt", False),
        ("checkpoint-500/optimizer.bin", False),
        ("scheduler.pt", False),
        ("training_args.bin", False),
        ("rng_state.pth", False),
        ("model.onnx", False),
        ("config.json", False),
    ],
)
def test_is_model_weight(path: str, weight: bool) -> None:
    assert HfFile(path, 1).is_model_weight is weight


def test_pipeline_components_prefer_non_variant_then_fp16(turbo: HfModelDetail) -> None:
    components = pipeline_components(turbo)
    assert {k: [f.path for f in v] for k, v in components.items()} == {
        "text_encoder": ["text_encoder/model.safetensors"],
        "text_encoder_2": ["text_encoder_2/model.safetensors"],
        "unet": ["unet/diffusion_pytorch_model.safetensors"],
        "vae": ["vae/diffusion_pytorch_model.safetensors"],
    }
    fp16 = pipeline_components(turbo, prefer_variant="fp16")
    assert fp16["unet"][0].path == "unet/diffusion_pytorch_model.fp16.safetensors"
    assert all(f.variant == "fp16" for files in fp16.values() for f in files)


def test_pipeline_components_fp16_only_and_safetensors_over_bin() -> None:
    detail = HfModelDetail(
        repo_id="org/pipe",
        is_diffusers_pipeline=True,
        files=(
            HfFile("model_index.json", 10),
            HfFile("unet/diffusion_pytorch_model.fp16.safetensors", 5),
            HfFile("vae/diffusion_pytorch_model.bin", 3),
            HfFile("vae/diffusion_pytorch_model.safetensors", 3),
        ),
    )
    components = pipeline_components(detail)
    assert [f.path for f in components["unet"]] == ["unet/diffusion_pytorch_model.fp16.safetensors"]
    assert [f.path for f in components["vae"]] == ["vae/diffusion_pytorch_model.safetensors"]


def test_nofp16_variant() -> None:
    detail = detail_from_payload(payload("RepoHFMetadata1_nofp16.json"))
    assert detail.is_diffusers_pipeline
    assert not any(f.precision_hint == "fp16" for f in detail.files)
    assert pipeline_components(detail, prefer_variant="fp16")["unet"][0].variant is None


def test_lora_repo() -> None:
    detail = detail_from_payload(payload("HFTestLoraMetadata.json"))
    assert not detail.is_diffusers_pipeline
    assert pipeline_components(detail) == {}
    assert detail.base_models == ("stabilityai/stable-diffusion-xl-base-1.0",)
    [weights] = model_files(detail)
    assert weights.sha256 == "f368050465cd473785298808c37abd17b98e5f532c144cc1be1f5e897092e67f"
    assert weights.size == 3184


def test_base_models_from_tags_and_card() -> None:
    tags = [
        "lora",
        "base_model:black-forest-labs/FLUX.1-dev",
        "base_model:adapter:black-forest-labs/FLUX.1-dev",
        "base_model:finetune:org/other",
    ]
    card = {"base_model": ["org/other", "org/third"]}
    assert base_models_of(tags, card) == ("black-forest-labs/FLUX.1-dev", "org/other", "org/third")


def test_summary_minimal_item_and_gated() -> None:
    summary = summary_from_payload({"id": "org/name"})
    assert summary.author == "org"
    assert summary.tags == ()
    assert summary.last_modified is None
    assert (parse_gated("auto"), parse_gated("manual"), parse_gated(False), parse_gated(True)) == (
        "auto",
        "manual",
        False,
        "manual",
    )


def test_sha256_or_none() -> None:
    assert sha256_or_none(TURBO_SHA256.upper()) == TURBO_SHA256
    assert sha256_or_none("e35c7fd734789e0f9b3cf16839431216b86bef34") is None
    assert sha256_or_none(None) is None
