"""A1111 hypernetworks: small MLPs keyed by the attention width they modify (reference C.6).

After flattening, a hypernetwork is ``{width}.{0|1}.linear.{i}.weight|bias`` (key and value modules per
width; very old files say ``linear1``/``linear2``) with ``layer_structure``/``activation_func`` extras.
Widths 320/640/1280 exist in SD1 and SD2 alike; the text-context width decides: 768 SD1, 1024 SD2.
"""

from __future__ import annotations

from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind

_CONTEXT_FAMILIES = {768: Architecture.SD1, 1024: Architecture.SD2}
_SETTINGS = (
    "layer_structure",
    "activation_func",
    "is_layer_norm",
    "weight_initialization",
    "use_dropout",
    "dropout_structure",
    "activate_output",
    "last_layer_dropout",
    "name",
    "step",
)


def match_hypernetwork(view: HeaderView) -> Match | Refusal:
    widths = sorted({int(part) for part in view.first_parts if _is_width(part)})
    if not widths:
        return Refusal("no integer-keyed (width) module pairs")
    if not any(".linear" in name for name in view.with_prefix(f"{widths[0]}.")):
        return Refusal(f"integer keys {widths} hold no linear.* layers")
    stray = sum(1 for part in view.first_parts if not _is_width(part))
    if stray:
        return Refusal(f"integer-keyed layers mixed with {stray} other top-level names")
    reasons = [f"linear layers keyed by attention widths {widths}"]
    context = [width for width in widths if width in _CONTEXT_FAMILIES]
    if len(context) == 1:
        arch = _CONTEXT_FAMILIES[context[0]]
        reasons.append(f"has a {context[0]} pair (text-context width) => {arch.value}")
    else:
        arch = Architecture.UNKNOWN
        reasons.append(
            "no 768 or 1024 pair: the family is undecidable" if not context else "both 768 and 1024 pairs"
        )
    if "layer_structure" in view.extras or "activation_func" in view.extras:
        reasons.append("layer_structure/activation_func settings present")
    details: dict[str, object] = {"widths": widths}
    for setting in _SETTINGS:
        value = view.extras.get(setting)
        if value is not None and _jsonable(value):
            details[setting] = list(value) if isinstance(value, tuple) else value
    return Match(AssetKind.HYPERNETWORK, arch, tuple(reasons), details=details)


def _is_width(part: str) -> bool:
    return part.isascii() and part.isdigit()


def _jsonable(value: object) -> bool:
    if isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(isinstance(item, str | int | float | bool) for item in value)
    return False
