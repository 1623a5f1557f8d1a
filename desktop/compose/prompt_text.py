"""Small edits of prompt text: append terms without duplicating them, remove a whole token.

Kept free of Qt so the rules (what counts as "already in the prompt", how separators are tidied) are
plain functions; the board applies them to its text editors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _token(term: str) -> re.Pattern[str]:
    # Word characters and dashes continue a token ("bad-hands-5" is not found inside "bad-hands-50"),
    # the same rule the renderer uses to find embedding tokens.
    return re.compile(r"(?<![\w\-])" + re.escape(term) + r"(?![\w\-])")


def contains_term(text: str, term: str) -> bool:
    """Whether ``term`` appears in ``text`` as a whole token (case-sensitive, as A1111 matches)."""
    return bool(term) and _token(term).search(text) is not None


def append_terms(text: str, terms: Iterable[str]) -> str:
    """``text`` with each term not yet in it appended, comma-separated as prompts are written."""
    result = text.rstrip()
    for raw in terms:
        term = raw.strip()
        if not term or contains_term(result, term):
            continue
        if not result:
            result = term
        elif result.endswith(","):
            result = f"{result} {term}"
        else:
            result = f"{result}, {term}"
    return result


def remove_term(text: str, term: str) -> str:
    """``text`` without any whole-token occurrence of ``term``, closing the gap it leaves."""
    if not term:
        return text
    stripped = _token(term).sub("", text)
    stripped = re.sub(r",[ \t]*(?:,[ \t]*)+", ", ", stripped)
    stripped = re.sub(r"[ \t]{2,}", " ", stripped)
    stripped = re.sub(r"[ \t]+,", ",", stripped)
    return stripped.strip().strip(",").strip()
