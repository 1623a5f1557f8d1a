"""A1111 hypernetworks (flattened pickles): family from the text-context width pair."""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind, FileFormat
from tests.core.identify.support import has_reason, identify_case
from tests.factory import models
from tests.factory.models import ModelCase


@pytest.mark.parametrize(
    ("widths", "arch"),
    [
        ((320, 640, 768, 1280), Architecture.SD1),
        ((768,), Architecture.SD1),
        ((320, 640, 1024, 1280), Architecture.SD2),
        ((320, 640, 1280), Architecture.UNKNOWN),
        ((768, 1024), Architecture.UNKNOWN),
    ],
)
def test_family_from_the_context_pair(widths: tuple[int, ...], arch: Architecture) -> None:
    result = identify_case(models.hypernetwork(widths))
    assert result.kind is AssetKind.HYPERNETWORK
    assert result.architecture is arch
    assert result.metadata["widths"] == sorted(widths)


def test_settings_go_to_metadata() -> None:
    result = identify_case(models.hypernetwork(layer_structure=(1, 1.5, 1.5, 1)))
    assert result.format is FileFormat.PT
    assert result.metadata["layer_structure"] == [1, 1.5, 1.5, 1]
    assert result.metadata["activation_func"] == "relu"
    assert result.metadata["name"] == "anime-hn"
    assert "sd_checkpoint" not in result.metadata
    assert has_reason(result, "has a 768 pair (text-context width) => sd1")
    assert has_reason(result, "layer_structure/activation_func settings present")


def test_integer_keys_mixed_with_other_names_are_refused() -> None:
    case = models.hypernetwork()
    specs = {**case.specs, "model.something.weight": ("F32", (4, 4))}
    result = identify_case(ModelCase("mixed", specs))
    assert result.kind is not AssetKind.HYPERNETWORK
    assert any(r.startswith("hypernetwork: integer-keyed layers mixed") for r in result.refusals)


def test_integer_keys_without_linear_layers_are_refused() -> None:
    result = identify_case(ModelCase("ints", {"0.weight": ("F32", (4, 4)), "1.weight": ("F32", (4, 4))}))
    assert result.kind is AssetKind.UNKNOWN
    assert any("hold no linear.* layers" in r for r in result.refusals)
