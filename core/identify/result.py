"""The answer of identification: what a file is, and why.

Every decision carries a human-readable reason so the GUI can show "why is this a SDXL LoRA?" and, for
an ``unknown`` file, why each matcher refused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.positional_pickle import pickled_by_position
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    NetworkType,
    Precision,
    Prediction,
    Variant,
)


@pickled_by_position  # a scan's worker sends one back for every file it reads
@dataclass(frozen=True, slots=True)
class Identification:
    """Kind, architecture and details of one model file, with the evidence.

    ``reasons`` explain the decision of the matcher that won; ``refusals`` hold one line per matcher that
    declined (always filled for ``unknown``). ``metadata`` is the summarised embedded metadata (kohya
    ``ss_*`` / ``modelspec.*``: title, resolution, training tags...) as JSON-able values.
    """

    kind: AssetKind
    architecture: Architecture
    format: FileFormat
    network: NetworkType | None = None
    variant: Variant | None = None
    prediction: Prediction | None = None
    precision: Precision | None = None
    reasons: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    trigger_words: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape used by ``inspect --json`` and stored in the catalog."""
        return {
            "kind": self.kind.value,
            "architecture": self.architecture.value,
            "network": self.network.value if self.network else None,
            "variant": self.variant.value if self.variant else None,
            "prediction": self.prediction.value if self.prediction else None,
            "format": self.format.value,
            "precision": self.precision.value if self.precision else None,
            "reasons": list(self.reasons),
            "refusals": list(self.refusals),
            "trigger_words": list(self.trigger_words),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Identification:
        def opt(enum: Any, key: str) -> Any:
            value = data.get(key)
            return enum(value) if value else None

        return cls(
            kind=AssetKind(data["kind"]),
            architecture=Architecture(data["architecture"]),
            format=FileFormat(data["format"]),
            network=opt(NetworkType, "network"),
            variant=opt(Variant, "variant"),
            prediction=opt(Prediction, "prediction"),
            precision=opt(Precision, "precision"),
            reasons=tuple(data.get("reasons", ())),
            refusals=tuple(data.get("refusals", ())),
            trigger_words=tuple(data.get("trigger_words", ())),
            metadata=dict(data.get("metadata", {})),
        )
