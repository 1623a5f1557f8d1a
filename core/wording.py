"""Counts in words, the one way every message says "1 file" and "2,000 files" (never "1 files" or
"file(s)"): the CLI and the window print the same sentences, so they share the rule."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` in the right number, with thousands separated ("1 file", "2,000 files");
    ``plural`` for nouns that do not just take an "s" ("1 entry", "3 entries")."""
    word = noun if count == 1 else (plural or f"{noun}s")
    return f"{count:,} {word}"
