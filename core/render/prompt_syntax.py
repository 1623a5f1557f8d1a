"""A1111 prompt syntax: ``<lora:name:w>``, ``<lyco:…>``, ``<hypernet:name:s>`` tags and embedding tokens.

Follows A1111's ``extra_networks`` parser so prompts copied from A1111 or Civitai mean the same thing
here: a tag is ``<type:arg:arg...>``, the name is the first argument (everything up to the first
``:``), ``key=value`` arguments are named, and for LoRAs the first number is the text-encoder weight and
the second the UNet weight (``<lora:name:te:unet>``; one number sets both).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe

# A1111 modules/extra_networks.py: re_extra_net = re.compile(r"<(\w+):([^>]+)>")
_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")
_LORA_TYPES = frozenset({"lora", "lyco"})
_HYPERNET_TYPES = frozenset({"hypernet"})


@dataclass(frozen=True, slots=True)
class ParsedPrompt:
    """A prompt split into its text (tags removed) and the networks its tags asked for.

    ``warnings`` name tags that could not be used (an unknown network type, a weight that is not a
    number); the text never keeps them, as A1111 strips every extra-network tag before encoding.
    """

    text: str
    loras: tuple[LoraUse, ...] = ()
    hypernetworks: tuple[HypernetworkUse, ...] = ()
    warnings: tuple[str, ...] = ()


def _number(value: str, tag: str, warnings: list[str], default: float) -> float:
    try:
        number = float(value)
    except ValueError:
        warnings.append(f"{tag}: {value!r} is not a number; using {default:g}")
        return default
    if not math.isfinite(number):
        warnings.append(f"{tag}: {value!r} is not a finite number; using {default:g}")
        return default
    return number


def _tidy(text: str) -> str:
    """Close the gaps removed tags leave (", ," and double spaces) without touching anything else."""
    text = re.sub(r",[ \t]*(?:,[ \t]*)+", ", ", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+,", ",", text)
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(lines).strip().strip(",").strip()


def parse_prompt(text: str) -> ParsedPrompt:
    """Extract the LoRA and hypernetwork tags of an A1111 prompt and return the cleaned text."""
    loras: list[LoraUse] = []
    hypernetworks: list[HypernetworkUse] = []
    warnings: list[str] = []

    for match in _EXTRA_NETWORK.finditer(text):
        kind, arguments = match.group(1).lower(), match.group(2)
        tag = match.group(0)
        positional: list[str] = []
        named: dict[str, str] = {}
        for item in arguments.split(":"):
            key, equals, value = item.partition("=")
            if equals:
                named[key.strip()] = value.strip()
            else:
                positional.append(item.strip())
        name = positional[0] if positional else ""
        if kind not in _LORA_TYPES | _HYPERNET_TYPES:
            warnings.append(f"{tag}: unknown extra network type {kind!r}; the tag is ignored")
            continue
        if not name:
            warnings.append(f"{tag}: the tag names no network; it is ignored")
            continue
        if kind in _LORA_TYPES:
            te = _number(positional[1], tag, warnings, 1.0) if len(positional) > 1 else 1.0
            te = _number(named["te"], tag, warnings, te) if "te" in named else te
            unet = _number(positional[2], tag, warnings, te) if len(positional) > 2 else te
            unet = _number(named["unet"], tag, warnings, unet) if "unet" in named else unet
            loras.append(LoraUse(AssetRef(name), weight=unet, text_encoder_weight=None if te == unet else te))
        else:
            strength = _number(positional[1], tag, warnings, 1.0) if len(positional) > 1 else 1.0
            hypernetworks.append(HypernetworkUse(AssetRef(name), strength=strength))

    return ParsedPrompt(
        text=_tidy(_EXTRA_NETWORK.sub("", text)),
        loras=tuple(loras),
        hypernetworks=tuple(hypernetworks),
        warnings=tuple(warnings),
    )


def _weight(value: float) -> str:
    """A weight as people write it: 0.8, 1, -0.5 (no float noise like 0.80000001)."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def lora_tag(use: LoraUse) -> str:
    """``<lora:name:w>``, or ``<lora:name:te:unet>`` when the text-encoder weight differs."""
    if use.text_encoder_weight is None or use.text_encoder_weight == use.weight:
        return f"<lora:{use.ref.name}:{_weight(use.weight)}>"
    return f"<lora:{use.ref.name}:{_weight(use.text_encoder_weight)}:{_weight(use.weight)}>"


def hypernetwork_tag(use: HypernetworkUse) -> str:
    return f"<hypernet:{use.ref.name}:{_weight(use.strength)}>"


def render_prompt(recipe: Recipe) -> str:
    """The prompt with the enabled LoRAs and the hypernetworks written back as tags (for infotext).

    Disabled LoRAs are left out, as they take no part in the image.
    """
    tags = [lora_tag(use) for use in recipe.loras if use.enabled]
    tags += [hypernetwork_tag(use) for use in recipe.hypernetworks]
    return ", ".join(part for part in (recipe.prompt, *tags) if part)


def _token_pattern(name: str) -> re.Pattern[str]:
    # Word characters and dashes continue a token ("bad-hands-5" is not found inside "bad-hands-50").
    return re.compile(r"(?<![\w\-])" + re.escape(name) + r"(?![\w\-])")


def find_embedding_tokens(text: str, names: Iterable[str]) -> tuple[str, ...]:
    """The embedding names (file names without extension) that appear as whole tokens in ``text``.

    Case-sensitive, as A1111 matches the file-name token exactly. Returned in order of first appearance.
    """
    found: list[tuple[int, str]] = []
    for name in set(names):
        if not name:
            continue
        match = _token_pattern(name).search(text)
        if match:
            found.append((match.start(), name))
    return tuple(name for _, name in sorted(found))


def find_embeddings(prompt: str, negative_prompt: str, names: Iterable[str]) -> tuple[EmbeddingUse, ...]:
    """Embedding uses for every known name in the prompt (positive) and the negative prompt."""
    known = tuple(names)
    uses = [EmbeddingUse(AssetRef(name)) for name in find_embedding_tokens(prompt, known)]
    uses += [
        EmbeddingUse(AssetRef(name), negative=True) for name in find_embedding_tokens(negative_prompt, known)
    ]
    return tuple(uses)
