"""A1111 prompt syntax: ``<lora:name:w>``, ``<lyco:…>``, ``<hypernet:name:s>`` tags and embedding tokens.

Follows A1111's ``extra_networks`` parser so prompts copied from A1111 or Civitai mean the same thing
here: a tag is ``<type:arg:arg...>``, the name is the first argument (everything up to the first
``:``), ``key=value`` arguments are named, and for LoRAs the first number is the text-encoder weight and
the second the UNet weight (``<lora:name:te:unet>``; one number sets both).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

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


def _weight_of(value: str) -> float:
    """A1111's ``float(value)``, refusing what would render garbage (nan, inf) as well."""
    try:
        number = float(value)  # A1111's float(): "abc" and "0,8" fail
    except ValueError:
        raise ValueError(f"weight {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"weight {value!r} is not a finite number")
    return number


def _arguments(arguments: str) -> tuple[list[str], dict[str, str]]:
    """A1111's ExtraNetworkParams: split on ':'; an item with exactly one '=' is named; nothing stripped."""
    positional: list[str] = []
    named: dict[str, str] = {}
    for item in arguments.split(":"):
        parts = item.split("=", 2)
        if len(parts) == 2:
            named[parts[0]] = parts[1]
        else:
            positional.append(item)
    return positional, named


def _lora(arguments: str) -> tuple[LoraUse, str | None]:
    """One ``<lora:…>`` as A1111's Lora extension reads it; raises ValueError as its float()/int() do."""
    positional, named = _arguments(arguments)
    te = _weight_of(positional[1]) if len(positional) > 1 else 1.0
    te = _weight_of(named["te"]) if "te" in named else te
    unet = _weight_of(positional[2]) if len(positional) > 2 else te
    unet = _weight_of(named["unet"]) if "unet" in named else unet
    dyn = positional[3] if len(positional) > 3 else named.get("dyn")
    note = None
    if dyn is not None:
        int(dyn)  # A1111 refuses a dyn that is not a whole number
        note = (
            f"dyn={dyn} (a lower rank for dynamic LoRAs) is kept in the text; Atelier applies the full rank"
        )
    use = LoraUse(AssetRef(positional[0]), weight=unet, text_encoder_weight=None if te == unet else te)
    return use, note


def parse_prompt(text: str) -> ParsedPrompt:
    """The networks an A1111 prompt's tags ask for, and the text A1111 encodes (tags removed, nothing else).

    As A1111's extra_networks: every ``<word:…>`` tag is removed from the text (replaced by nothing, so
    commas and spaces around it stay and the same seed gives the same image); the type is matched
    exactly (``lora``, ``lyco``, ``hypernet``: ``<LORA:…>`` is an unknown type A1111 skips); names keep
    their spaces. A LoRA tag with a weight that is not a number (``abc``, ``0,8``, ``nan``) makes A1111
    fail to activate LoRAs for the prompt, so all of its LoRAs are refused, with the reason, never
    rendered at weight 1.0; the same holds for hypernetworks.
    """
    loras: list[LoraUse] = []
    hypernetworks: list[HypernetworkUse] = []
    warnings: list[str] = []
    lora_error: str | None = None
    hypernet_error: str | None = None

    for match in _EXTRA_NETWORK.finditer(text):
        kind, arguments, tag = match.group(1), match.group(2), match.group(0)
        if kind not in _LORA_TYPES | _HYPERNET_TYPES:
            hint = (
                " (A1111 matches the type exactly, in lower case)"
                if kind.lower() in _LORA_TYPES | _HYPERNET_TYPES
                else ""
            )
            warnings.append(
                f"{tag}: unknown extra network type {kind!r}{hint}; A1111 skips the tag, so does Atelier"
            )
            continue
        name = arguments.split(":")[0]
        if not name.strip():
            warnings.append(f"{tag}: the tag names no network (A1111 finds none); it is ignored")
            continue
        if name != name.strip():
            warnings.append(
                f"{tag}: A1111 looks for a network named {name!r}, spaces included, and finds none; "
                "it is not applied (write the name without the spaces around it)"
            )
            continue
        try:
            if kind in _LORA_TYPES:
                use, note = _lora(arguments)
                loras.append(use)
                if note:
                    warnings.append(f"{tag}: {note}")
            else:
                items = arguments.split(":")
                strength = _weight_of(items[1]) if len(items) > 1 else 1.0
                hypernetworks.append(HypernetworkUse(AssetRef(items[0]), strength=strength))
        except ValueError as error:
            reason = f"{tag}: {error}"
            if kind in _LORA_TYPES:
                lora_error = lora_error or reason
            else:
                hypernet_error = hypernet_error or reason
    if lora_error:
        warnings.append(f"{lora_error}; as in A1111, no LoRA of this prompt is applied")
        loras = []
    if hypernet_error:
        warnings.append(f"{hypernet_error}; as in A1111, no hypernetwork of this prompt is applied")
        hypernetworks = []

    return ParsedPrompt(
        text=_EXTRA_NETWORK.sub("", text),
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

    Tags are joined with a space, not ", ": A1111 removes a tag and encodes what is left, so a comma
    written with the tag would be one more token than the prompt Atelier rendered. Disabled LoRAs are
    left out, as they take no part in the image.
    """
    tags = [lora_tag(use) for use in recipe.loras if use.enabled]
    tags += [hypernetwork_tag(use) for use in recipe.hypernetworks]
    if not tags:
        return recipe.prompt
    return " ".join(part for part in (recipe.prompt, *tags) if part)


def _token_pattern(name: str) -> re.Pattern[str]:
    # Word characters and dashes continue a token ("bad-hands-5" is not found inside "bad-hands-50").
    # Any case: A1111 finds an embedding by CLIP's token ids, and CLIP lowercases the prompt.
    return re.compile(r"(?<![\w\-])" + re.escape(name) + r"(?![\w\-])", re.IGNORECASE)


def find_embedding_tokens(text: str, names: Iterable[str]) -> tuple[str, ...]:
    """The embedding names (file names without extension) that appear as whole tokens in ``text``.

    In any case (``EasyNegative`` finds ``easynegative``: A1111 compares CLIP's lowercased token ids).
    Returned in order of first appearance.
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


@dataclass(frozen=True, slots=True)
class PromptNetworks:
    """A recipe with its prompts' tags and embedding tokens taken into it, and what the user should know."""

    recipe: Recipe
    warnings: tuple[str, ...] = ()


def with_prompt_networks(recipe: Recipe, known_embeddings: Iterable[str]) -> PromptNetworks:
    """``recipe`` as A1111 reads its prompts: the one rule every front end (CLI, board, grid) shares.

    The positive prompt's ``<lora:…>``/``<lyco:…>``/``<hypernet:…>`` tags become LoRA and hypernetwork
    uses and leave the text (A1111 encodes the prompt without them); each of ``known_embeddings`` (the
    library's embedding names) found as a token in a prompt becomes an embedding use, as A1111 loads
    every embedding whose name the text holds. A network the recipe already uses (the LoRA stack,
    ``--lora``) is not added twice: the weight set there (the board's slider, ``--lora NAME:W``) is the one
    used, as the user set it on purpose, and a tag asking another weight (or for a LoRA switched off there)
    is said to be ignored, with the weight used and where to change it. Tags in the negative prompt do
    nothing in A1111: removed, with a warning. Idempotent: a recipe read from infotext (tags already
    taken) comes back unchanged.
    """
    positive = parse_prompt(recipe.prompt)
    negative = parse_prompt(recipe.negative_prompt)
    warnings = [*positive.warnings, *negative.warnings]
    if negative.loras or negative.hypernetworks:
        warnings.append("network tags in the negative prompt have no effect and were dropped")
    loras = _added_once(recipe.loras, positive.loras, warnings, _repeated_lora)
    hypernetworks = _added_once(
        recipe.hypernetworks, positive.hypernetworks, warnings, _repeated_hypernetwork
    )
    used_embeddings = {(use.ref.name, use.negative) for use in recipe.embeddings}
    found = find_embeddings(positive.text, negative.text, known_embeddings)
    embeddings = (
        *recipe.embeddings,
        *(use for use in found if (use.ref.name, use.negative) not in used_embeddings),
    )
    changed = recipe.replace(
        prompt=positive.text,
        negative_prompt=negative.text,
        loras=loras,
        hypernetworks=hypernetworks,
        embeddings=tuple(embeddings),
    )
    return PromptNetworks(changed, tuple(warnings))


_Use = TypeVar("_Use", LoraUse, HypernetworkUse)


def _added_once(
    used: tuple[_Use, ...],
    tagged: Iterable[_Use],
    warnings: list[str],
    repeated: Callable[[_Use, _Use], str | None],
) -> tuple[_Use, ...]:
    """``used`` with each of ``tagged`` whose file is not in it yet. A repeat is left out; ``repeated``
    (given the use kept and the tag's) words what the user should know, None when the tag asks exactly
    what is used (nothing is lost, nothing to say)."""
    kept = {use.ref.name: use for use in used}
    added = list(used)
    for use in tagged:
        first = kept.get(use.ref.name)
        if first is not None:
            said = repeated(first, use)
            if said is not None:
                warnings.append(said)
            continue
        kept[use.ref.name] = use
        added.append(use)
    return tuple(added)


def _lora_weights(use: LoraUse) -> str:
    """``1``, or ``text encoder 0.5, UNet 1`` when the two weights differ."""
    if use.text_encoder_weight is None or use.text_encoder_weight == use.weight:
        return _weight(use.weight)
    return f"text encoder {_weight(use.text_encoder_weight)}, UNet {_weight(use.weight)}"


def _repeated_lora(used: LoraUse, tagged: LoraUse) -> str | None:
    """A tag naming a LoRA the recipe's LoRA list holds: which weight renders, and where to change it."""
    name, wanted, kept = used.ref.name, _lora_weights(tagged), _lora_weights(used)
    if not used.enabled:
        return (
            f"{lora_tag(tagged)} is ignored: LoRA {name} is in the LoRA list switched off, so it is not "
            "applied; switch it on there (the board's LoRA row, or --lora) at the weight you want"
        )
    if wanted == kept:
        return None
    return (
        f"{lora_tag(tagged)} is ignored: LoRA {name} is already in the LoRA list at {kept}, so it is "
        f"applied once, at {kept}, not {wanted}. To render at {wanted}, set that weight in the list (the "
        "board's LoRA slider, or --lora) and delete the tag"
    )


def _repeated_hypernetwork(used: HypernetworkUse, tagged: HypernetworkUse) -> str | None:
    """A tag naming the recipe's hypernetwork: which strength renders, and where to change it."""
    name, wanted, kept = used.ref.name, _weight(tagged.strength), _weight(used.strength)
    if wanted == kept:
        return None
    return (
        f"{hypernetwork_tag(tagged)} is ignored: hypernetwork {name} is already used at strength {kept}, "
        f"so it is applied once, at {kept}, not {wanted}. To render at {wanted}, set that strength on the "
        "board's hypernetwork slot (or --hypernetwork) and delete the tag"
    )
