"""Prompt edits: appending without duplicates and removing whole tokens."""

from __future__ import annotations

from desktop.compose.prompt_text import append_terms, contains_term, remove_term


def test_append_adds_only_missing_terms_comma_separated() -> None:
    assert append_terms("", ["pixel art"]) == "pixel art"
    assert append_terms("a cat", ["pixel art", "pixelsprite"]) == "a cat, pixel art, pixelsprite"
    assert append_terms("a cat, pixel art", ["pixel art", " sprite "]) == "a cat, pixel art, sprite"
    assert append_terms("a cat,", ["x"]) == "a cat, x"


def test_terms_match_whole_tokens_only() -> None:
    assert contains_term("bad-hands-5, cat", "bad-hands-5")
    assert not contains_term("bad-hands-50, cat", "bad-hands-5")
    assert append_terms("bad-hands-50", ["bad-hands-5"]) == "bad-hands-50, bad-hands-5"


def test_remove_closes_the_gap() -> None:
    assert remove_term("a cat, easynegative, blurry", "easynegative") == "a cat, blurry"
    assert remove_term("easynegative, blurry", "easynegative") == "blurry"
    assert remove_term("blurry, easynegative", "easynegative") == "blurry"
    assert remove_term("easynegative2, blurry", "easynegative") == "easynegative2, blurry"
