"""The matcher registry: small candidates that either accept a header or say why not.

Each asset kind has one matcher (a plain function ``HeaderView -> Match | Refusal``). The registry runs
them from the highest priority down and the first that accepts wins; the priority encodes which evidence
is more specific (a LoRA may target a UNet, so LoRA keys must be recognised before UNet keys; a full
checkpoint contains a VAE, so the checkpoint matcher runs before the VAE matcher). Every refusal is kept,
so an ``unknown`` file can show the user why each kind was ruled out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind, NetworkType, Prediction, Variant


@dataclass(frozen=True, slots=True)
class Match:
    """A matcher's positive answer. ``details`` are JSON-able facts merged into the metadata."""

    kind: AssetKind
    architecture: Architecture
    reasons: tuple[str, ...]
    network: NetworkType | None = None
    variant: Variant | None = None
    prediction: Prediction | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a matcher declined, in words a user can read ("no lora_down/lora_A/hada/lokr keys")."""

    reason: str


MatchFunction = Callable[[HeaderView], Match | Refusal]


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    priority: int
    match: MatchFunction


@dataclass(frozen=True, slots=True)
class Outcome:
    """The winner (None when every matcher declined) and the refusals collected before it."""

    winner: Matcher | None
    match: Match | None
    refusals: tuple[str, ...]


class MatcherRegistry:
    """An ordered set of matchers; ``run`` asks them in priority order."""

    def __init__(self) -> None:
        self._matchers: list[Matcher] = []

    def register(self, name: str, priority: int, match: MatchFunction) -> None:
        if any(existing.name == name for existing in self._matchers):
            raise ValueError(f"a matcher named {name!r} is already registered")
        self._matchers.append(Matcher(name, priority, match))
        # Stable sort: equal priorities keep their registration order.
        self._matchers.sort(key=lambda matcher: -matcher.priority)

    @property
    def matchers(self) -> tuple[Matcher, ...]:
        return tuple(self._matchers)

    def run(self, view: HeaderView) -> Outcome:
        refusals: list[str] = []
        for matcher in self._matchers:
            try:
                result = matcher.match(view)
            except Exception as error:
                # Headers come from arbitrary files; a matcher tripping over a strange one must not cost the
                # file its identification by the others. The refusal names the error, so it is seen.
                result = Refusal(f"failed on this header ({error.__class__.__name__}: {error})")
            if isinstance(result, Match):
                return Outcome(matcher, result, tuple(refusals))
            refusals.append(f"{matcher.name}: {result.reason}")
        return Outcome(None, None, tuple(refusals))
