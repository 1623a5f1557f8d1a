"""Civitai labels name a variant however a client spells them: "Z Image Turbo" is "ZImageTurbo"."""

from __future__ import annotations

import pytest

from core.render.families import family_of, family_preset
from core.taxonomy import Architecture


@pytest.mark.parametrize("label", ["ZImageTurbo", "Z Image Turbo", "zimageturbo", " ZImage Turbo "])
def test_a_spaced_or_lower_case_label_picks_its_variant(label: str) -> None:
    preset, note = family_preset(family_of(Architecture.Z_IMAGE), label)
    assert preset is not None
    assert preset.name == "Z-Image Turbo"
    assert note is None


def test_the_base_label_spelled_with_spaces_is_base() -> None:
    preset, note = family_preset(family_of(Architecture.Z_IMAGE), "Z Image Base")
    assert preset is not None
    assert "Base" in preset.name
    assert note is None


def test_an_unknown_label_still_says_which_defaults_were_assumed() -> None:
    _, note = family_preset(family_of(Architecture.Z_IMAGE), "Z Image Ultra")
    assert note is not None
    assert "variant not known" in note
