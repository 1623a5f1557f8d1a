"""How much of a site's description Atelier keeps: one rule for every way an answer reaches the catalog.

A model's description on Civitai is user-written HTML; the longest real ones (a few images and tables)
are tens of KB. A hostile or broken site can send one of hundreds of MB inside an answer that is itself
under ``core.net.MAX_ANSWER_BYTES``; kept whole it would be stored once in the download queue and again
in the library (with its text rendering beside it). So a description longer than ``DESCRIPTION_LIMIT``
characters is cut there, with a mark saying how long it was, wherever one is stored: a download's queued
facts (``app.download_requests``) and every remote link the library records, from a download, a hash
lookup or a sidecar (``catalog.remote.link_values``). Cutting is idempotent: a description cut once (its
mark right after the limit) is kept as it is, so a download's facts are not cut a second time when the
library records them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Civitai's longest real descriptions (HTML with a few images and tables) are tens of KB; 64 Ki characters
# keeps them whole and bounds a hostile or broken one.
DESCRIPTION_LIMIT = 64 * 1024
_MARK = "\n… [cut by Atelier: the site's description has {length:,} characters]"
_MARKED = re.compile(r"\n… \[cut by Atelier: the site's description has [0-9,]+ characters\]\Z")


def bounded_description(text: str | None) -> str | None:
    """``text`` cut to ``DESCRIPTION_LIMIT`` characters, ending with a mark that says how long it was
    (a text already cut so is returned as it is)."""
    if text is None or len(text) <= DESCRIPTION_LIMIT:
        return text
    if _MARKED.match(text, DESCRIPTION_LIMIT):
        return text
    return text[:DESCRIPTION_LIMIT] + _MARK.format(length=len(text))


def bounded_payload(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A site's raw version payload with its descriptions bounded: the version's own and, where a sidecar
    copied it in, the model's (``model.description``). A shallow copy: the rest is as the site sent it."""
    payload = dict(raw)
    if isinstance(payload.get("description"), str):
        payload["description"] = bounded_description(payload["description"])
    model = payload.get("model")
    if isinstance(model, Mapping) and isinstance(model.get("description"), str):
        payload["model"] = {**model, "description": bounded_description(model["description"])}
    return payload
