"""Messages name architectures and kinds in words people use ("an SDXL checkpoint"), never enum ids."""

from __future__ import annotations

import pytest

from core.taxonomy import (
    ARCHITECTURE_NAMES,
    KIND_NOUNS,
    Architecture,
    AssetKind,
    describe_kind,
    describe_model,
)


@pytest.mark.parametrize(
    ("kind", "architecture", "phrase"),
    [
        (AssetKind.CHECKPOINT, Architecture.SDXL, "an SDXL checkpoint"),
        (AssetKind.LORA, Architecture.SD1, "an SD 1.x LoRA"),
        (AssetKind.EMBEDDING, Architecture.SD2, "an SD 2.x embedding"),
        (AssetKind.VAE, Architecture.FLUX1, "a FLUX.1 VAE"),
        (AssetKind.CHECKPOINT, Architecture.SD3, "an SD 3 checkpoint"),
        (AssetKind.CHECKPOINT, Architecture.SDXL_REFINER, "an SDXL Refiner checkpoint"),
        (AssetKind.CHECKPOINT, Architecture.OTHER, "a checkpoint of unknown architecture"),
        (AssetKind.UNKNOWN, Architecture.UNKNOWN, "a model of unknown architecture"),
        (AssetKind.IP_ADAPTER, None, "an IP-Adapter of unknown architecture"),
        (AssetKind.UPSCALER, Architecture.UNKNOWN, "an upscaler of unknown architecture"),
    ],
)
def test_describe_model(kind: AssetKind, architecture: Architecture | None, phrase: str) -> None:
    assert describe_model(kind, architecture) == phrase


def test_describe_kind() -> None:
    assert [describe_kind(k) for k in (AssetKind.VAE, AssetKind.EMBEDDING, AssetKind.LORA)] == [
        "a VAE",
        "an embedding",
        "a LoRA",
    ]


def test_every_value_has_words() -> None:
    assert set(ARCHITECTURE_NAMES) == set(Architecture)
    assert set(KIND_NOUNS) == set(AssetKind)
    for kind in AssetKind:
        for architecture in Architecture:
            phrase = describe_model(kind, architecture)
            ids = {value.value for value in Architecture} - {"unknown"}
            assert not ids & set(phrase.split()), phrase  # "sdxl", "other", "flux1" are ids, not words
