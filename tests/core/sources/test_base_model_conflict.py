"""Civitai base-model labels checked against the file's family: a label naming another family is one
line; labels of the file's own ecosystem (Pony on SDXL), shared LoRA families and labels no family claims
say nothing."""

from __future__ import annotations

import pytest

from core.sources.site_words import base_model_conflict
from core.taxonomy import Architecture


@pytest.mark.parametrize(
    ("label", "architecture", "expected"),
    [
        ("Flux.1 D", Architecture.SDXL, "Civitai says Flux.1 Dev; the file is SDXL"),
        ("SD 1.5", Architecture.SDXL, "Civitai says SD 1.5; the file is SDXL"),
        ("Pony", Architecture.SDXL, None),  # Pony is SDXL
        ("Illustrious", Architecture.SDXL, None),
        ("Chroma", Architecture.FLUX1, None),  # their LoRAs go on each other's checkpoints
        ("Other", Architecture.SDXL, None),  # no family claims it
        ("Flux.1 D", Architecture.OTHER, None),  # a file of no named family contradicts nothing
        (None, Architecture.SD1, None),
    ],
)
def test_base_model_conflict(label: str | None, architecture: Architecture, expected: str | None) -> None:
    assert base_model_conflict(label, architecture) == expected
