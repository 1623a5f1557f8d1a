"""A Civitai base-model label completes a LoRA's family where its tensors leave it open.

The tensors decide (``lora_base``); a label ("Qwen", "Flux.1 D", from a ``.civitai.info`` sidecar) comes
from whoever uploaded the file and is taken only where it agrees with them: for a LoRA the tensors cannot
place at all (``unknown``: nothing measurable), or one whose layer names are a family's but whose widths
named none (``other``, with those families in ``families_named``), when the label names one of those.
Anything else keeps its identification, and a label that disagrees is shown beside it as a conflict
(``core.sources.site_words.base_model_conflict``), never taken.
"""

from __future__ import annotations

from dataclasses import replace

from core.identify.matchers.lora import NAMED_FAMILIES
from core.identify.result import Identification
from core.identify.vocabulary import architecture_of_base_model
from core.taxonomy import Architecture, AssetKind


def with_base_model_label(identification: Identification, label: str | None) -> Identification:
    """``identification`` with the family ``label`` names filled in where the tensors allow it, with the
    reason said; otherwise ``identification`` itself."""
    if identification.kind is not AssetKind.LORA or not label:
        return identification
    current = identification.architecture
    if current not in (Architecture.OTHER, Architecture.UNKNOWN):
        return identification
    claimed = architecture_of_base_model(label)
    if claimed is None:
        return identification
    named = identification.metadata.get(NAMED_FAMILIES) or []
    if named and claimed.value in named:
        why = f"Civitai base model {label!r} => {claimed.value}, one of the families its layer names allow"
    elif not named and current is Architecture.UNKNOWN:
        why = f"Civitai base model {label!r} => {claimed.value} (the tensors cannot tell)"
    else:
        return identification
    return replace(identification, architecture=claimed, reasons=(*identification.reasons, why))
