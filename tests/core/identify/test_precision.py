"""Dominant precision: by element count, floats only, None when nothing says."""

from __future__ import annotations

import pytest

from core.formats.model_file import TensorInfo
from core.identify.precision import dominant_precision
from core.taxonomy import Precision


def _tensors(*specs: tuple[str, tuple[int, ...]]) -> dict[str, TensorInfo]:
    return {f"t{i}": TensorInfo(dtype=dtype, shape=shape) for i, (dtype, shape) in enumerate(specs)}


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ((("F32", (4, 4)),), Precision.FP32),
        ((("F16", (4, 4)), ("F16", (8,))), Precision.FP16),
        ((("BF16", (4, 4)),), Precision.BF16),
        ((("F8_E4M3", (64, 64)), ("BF16", (64,))), Precision.FP8),
        ((("F8_E5M2", (64, 64)),), Precision.FP8),
        # many small fp32 tensors lose to one big fp16 tensor: elements count, not tensors
        ((("F32", (10,)),) * 20 + (("F16", (100, 100)),), Precision.FP16),
        # integers (position_ids, markers) are not weights
        ((("I64", (1, 1_000_000)), ("F16", (10,))), Precision.FP16),
        ((("I64", (1, 77)),), None),
        # quantised GGUF blocks have no name in the vocabulary
        ((("Q4_0", (4096, 4096)), ("F32", (4096,))), None),
        ((("F64", (10,)),), None),
    ],
)
def test_dominant_precision(
    specs: tuple[tuple[str, tuple[int, ...]], ...], expected: Precision | None
) -> None:
    assert dominant_precision(_tensors(*specs)) is expected


def test_no_tensors() -> None:
    assert dominant_precision({}) is None


def test_scalars_count_as_one_element() -> None:
    assert dominant_precision(_tensors(("F32", ()), ("F32", ()), ("F16", ()))) is Precision.FP32
