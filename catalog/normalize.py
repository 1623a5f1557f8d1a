"""Normalisation of user-typed labels and hashes, in one place so every write path agrees.

Tags and collections are compared case-insensitively ("Anime" and "anime" are one tag) but keep the
spelling first seen, because users care how their labels look. Hashes are compared upper-case, the way
Civitai prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_HEX = re.compile(r"[0-9A-F]+")
_ALGORITHM_PREFIX = re.compile(r"^(sha256|blake3|crc32|autov[123])[:=]", re.IGNORECASE)


def clean_label(value: str) -> str:
    """Strip and collapse inner whitespace: "  pixel   art " -> "pixel art"."""
    return " ".join(value.split())


def label_key(value: str) -> str:
    """The identity of a label: cleaned and case-folded (Unicode-aware, unlike SQLite's NOCASE)."""
    return clean_label(value).casefold()


def unique_labels(values: Iterable[str]) -> tuple[str, ...]:
    """Cleaned, non-empty, case-insensitively unique labels in their first spelling and order."""
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        cleaned = clean_label(value)
        key = cleaned.casefold()
        if cleaned and key not in seen:
            seen.add(key)
            result.append(cleaned)
    return tuple(result)


def clean_text(value: str | None) -> str | None:
    """None for empty or blank text, else the text without surrounding whitespace."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


@dataclass(frozen=True, slots=True)
class HashQuery:
    """Which hash columns a user-supplied hash may match, decided by its length."""

    value: str
    exact_columns: tuple[str, ...]
    prefix_columns: tuple[str, ...] = ()


def parse_hash_query(value: str) -> HashQuery | None:
    """Interpret a pasted hash; None when it cannot be one (wrong characters or length).

    Lengths: 64 = SHA256, BLAKE3 or a full AutoV3; 12 = the AutoV3 prefix Civitai shows; 10 = AutoV2;
    8 = AutoV1 or CRC32. A leading ``sha256:`` (InvokeAI style) is accepted.
    """
    text = _ALGORITHM_PREFIX.sub("", value.strip()).upper()
    if not text or not _HEX.fullmatch(text):
        return None
    if len(text) == 64:
        return HashQuery(text, ("sha256", "blake3", "autov3"))
    if len(text) == 12:
        return HashQuery(text, (), ("autov3",))
    if len(text) == 10:
        return HashQuery(text, ("autov2",))
    if len(text) == 8:
        return HashQuery(text, ("autov1", "crc32"))
    return None
