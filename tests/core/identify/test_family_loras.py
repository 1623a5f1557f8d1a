"""LoRAs of every family of the vocabulary table, in every dialect: block names and width must agree."""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.family_loras import DIALECTS, FAMILY_MODULES, QWEN3_TEXT_MODULES, family_lora

EXPECTED = {family: Architecture(family) for family in FAMILY_MODULES}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("family", sorted(FAMILY_MODULES))
def test_family_lora_in_every_dialect(family: str, dialect: str) -> None:
    result = identify_case(family_lora(family, dialect))
    assert result.kind is AssetKind.LORA, result.refusals
    assert result.architecture is EXPECTED[family], reasons_text(result)


def test_anima_lora_with_its_1024_wide_text_encoder_is_not_sd2() -> None:
    """The reported case: Qwen3 0.6B is 1024 wide like SD2's OpenCLIP-H; the transformer part decides."""
    result = identify_case(family_lora("anima", "kohya", text_modules=QWEN3_TEXT_MODULES))
    assert result.architecture is Architecture.ANIMA, reasons_text(result)


def test_llm_text_encoder_alone_is_not_an_sd_family() -> None:
    result = identify_case(family_lora("anima", "kohya", modules=(), text_modules=QWEN3_TEXT_MODULES))
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    assert "one width alone decides nothing" in reasons_text(result)


def test_family_names_with_a_foreign_width_are_other_with_the_nearest_match() -> None:
    modules = tuple((name, 1000, 1000) for name, _, _ in FAMILY_MODULES["qwen_image"])
    result = identify_case(family_lora("qwen_image", "ai_toolkit", modules=modules))
    assert result.architecture is Architecture.OTHER
    assert "nearest match qwen_image" in reasons_text(result)


def test_width_shared_by_two_families_is_split_by_names() -> None:
    """3072 is Flux.1, Qwen-Image, AuraFlow, Hunyuan Video, Mochi and ERNIE: names decide among them."""
    found = {
        identify_case(family_lora(family, "kohya")).architecture
        for family in ("qwen_image", "auraflow", "hunyuan_video", "mochi", "ernie_image")
    }
    assert len(found) == 5
