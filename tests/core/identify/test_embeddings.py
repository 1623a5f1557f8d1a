"""Textual-inversion embeddings in every container layout, family from the token width."""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind, FileFormat
from tests.core.identify.support import has_reason, identify_case, reasons_text
from tests.factory import models
from tests.factory.models import ModelCase

CASES: dict[str, tuple[ModelCase, Architecture, int, str]] = {
    "a1111 .pt sd1": (models.a1111_embedding(768, 4), Architecture.SD1, 4, "a1111"),
    "a1111 .pt sd2": (models.a1111_embedding(1024, 6), Architecture.SD2, 6, "a1111"),
    "emb_params sd1": (models.emb_params_embedding(768, 8), Architecture.SD1, 8, "emb_params"),
    "emb_params sd2": (models.emb_params_embedding(1024, 2), Architecture.SD2, 2, "emb_params"),
    "sdxl clip_l + clip_g": (models.sdxl_embedding(3), Architecture.SDXL, 3, "sdxl"),
    "diffusers learned_embeds [768]": (models.diffusers_embedding((768,)), Architecture.SD1, 1, "diffusers"),
    "diffusers learned_embeds [2, 1024]": (
        models.diffusers_embedding((2, 1024)),
        Architecture.SD2,
        2,
        "diffusers",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_embedding_layouts(name: str) -> None:
    case, arch, vectors, form = CASES[name]
    result = identify_case(case)
    assert result.kind is AssetKind.EMBEDDING, result.refusals
    assert result.architecture is arch, reasons_text(result)
    assert result.metadata["vectors"] == vectors
    assert result.metadata["embedding_format"] == form


def test_a1111_extras_become_details() -> None:
    result = identify_case(models.a1111_embedding())
    assert result.format is FileFormat.PT
    assert result.metadata["tokens"] == ["*"]
    assert result.metadata["embedding_name"] == "my-style"
    assert result.metadata["trained_steps"] == 3000
    assert result.metadata["trained_on"] == "v1-5"
    assert has_reason(result, "token width 768 => sd1")


def test_clip_g_alone_is_sdxl() -> None:
    case = ModelCase("clip-g-only", {"clip_g": ("F16", (2, 1280))})
    assert identify_case(case).architecture is Architecture.SDXL


def test_diffusers_token_is_kept() -> None:
    assert identify_case(models.diffusers_embedding((768,), "<cat-toy>")).metadata["token"] == "<cat-toy>"


def test_unknown_width_is_an_embedding_of_unknown_family() -> None:
    result = identify_case(ModelCase("odd", {"emb_params": ("F32", (4, 4096))}))
    assert result.kind is AssetKind.EMBEDDING
    assert result.architecture is Architecture.UNKNOWN


@pytest.mark.parametrize("shape", [(4096,), (500, 768), (2, 2, 768)])
def test_single_tensors_that_are_not_embeddings(shape: tuple[int, ...]) -> None:
    result = identify_case(ModelCase("lonely", {"x": ("F32", shape)}))
    assert result.kind is AssetKind.UNKNOWN
    assert any(refusal.startswith("embedding: single tensor x") for refusal in result.refusals)


def test_trigger_words_only_from_modelspec() -> None:
    case = models.emb_params_embedding().with_metadata(**{"modelspec.trigger_phrase": "my-emb"})
    assert identify_case(case).trigger_words == ("my-emb",)
    assert identify_case(models.emb_params_embedding()).trigger_words == ()
