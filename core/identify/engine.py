"""``identify``: one header in, one ``Identification`` out, with the evidence.

The registry picks the kind and family; this module adds what is common to every kind: the container
format, the dominant precision, the summarised embedded metadata and the trigger words. Trigger words come
only from ``modelspec.trigger_phrase``: kohya's training tags describe the dataset, not what to type.
"""

from __future__ import annotations

from core.formats.model_file import ModelHeader
from core.identify.matchers import DEFAULT_REGISTRY
from core.identify.matchers.table import unknown_reasons
from core.identify.precision import PACKED_4BIT_PRECISIONS, dominant_precision
from core.identify.registry import MatcherRegistry
from core.identify.result import Identification
from core.identify.view import HeaderView, TensorReader
from core.taxonomy import Architecture, AssetKind

_PACKED_4BIT_REASONS = {
    precision: (
        f"linear weights are bitsandbytes {precision.value.upper()} (4-bit, packed two to a U8 byte with a "
        "quant_state beside each): their shapes are read from their biases"
    )
    for precision in PACKED_4BIT_PRECISIONS
}


def identify(
    header: ModelHeader,
    read_tensor: TensorReader | None = None,
    *,
    registry: MatcherRegistry = DEFAULT_REGISTRY,
) -> Identification:
    """Decide what ``header`` is from names, shapes, dtypes and metadata alone.

    ``read_tensor(name)`` returns one small tensor's values; it is used only for the SD2 v-prediction
    probe (see ``prediction.py``) and may be None, in which case that probe is skipped.
    """
    view = HeaderView(header, read_tensor)
    outcome = registry.run(view)
    embedded = view.embedded
    metadata = embedded.to_json()
    precision = dominant_precision(header.tensors, header.dtypes)
    match = outcome.match
    if match is None:
        return Identification(
            kind=AssetKind.UNKNOWN,
            architecture=Architecture.UNKNOWN,
            format=header.format,
            precision=precision,
            reasons=unknown_reasons(view, len(outcome.refusals)),
            refusals=outcome.refusals,
            trigger_words=embedded.trigger_phrases,
            metadata=metadata,
        )
    reasons = match.reasons
    if precision in _PACKED_4BIT_REASONS:
        reasons = (*reasons, _PACKED_4BIT_REASONS[precision])
    return Identification(
        kind=match.kind,
        architecture=match.architecture,
        format=header.format,
        network=match.network,
        variant=match.variant,
        prediction=match.prediction,
        precision=precision,
        reasons=reasons,
        refusals=outcome.refusals,
        trigger_words=embedded.trigger_phrases,
        metadata={**metadata, **match.details},
    )
