"""A1111 infotext both ways: the ``parameters`` text of a PNG, and Civitai's image ``meta``.

Parsing follows A1111's ``parse_generation_parameters`` (same regex, same multi-line rules) so anything
A1111 reads, this reads; writing follows ``create_infotext`` (key names, order and quoting) so A1111,
Civitai and other tools read our PNGs back. Names come out as unresolved :class:`AssetRef`; matching
them to files is :mod:`core.render.resolve`'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.render.prompt_syntax import find_embedding_tokens, parse_prompt, render_prompt
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler

# A1111 modules/infotext_utils.py
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_IMAGE_SIZE = re.compile(r"^(\d+)x(\d+)$")
_NEGATIVE = "Negative prompt:"

# Keys the recipe consumes; every other key goes to Recipe.extra so it survives a round trip.
_CONSUMED = frozenset(
    {
        "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model", "Model hash",
        "VAE", "VAE hash", "Clip skip", "Batch size", "Lora hashes", "TI hashes",
        "Hypernet", "Hypernet hash", "Hypernet strength", "Version",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParsedInfotext:
    """The recipe read from infotext, with the raw texts and what could not be used.

    ``params`` is every ``Key: value`` pair as written (values unquoted); ``warnings`` explain values
    that were unreadable and fell back to the recipe default.
    """

    recipe: Recipe
    prompt: str
    negative_prompt: str
    params: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def unresolved(self) -> tuple[AssetRef, ...]:
        """The references still to be matched against the library (all of them, straight from text)."""
        return tuple(ref for ref in self.recipe.refs() if not ref.resolved)


def quote(text: str) -> str:
    """A1111's quoting: JSON-quote a value holding a comma, a colon or a newline."""
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def parse_parameters(text: str) -> tuple[str, str, dict[str, str]]:
    """Split A1111 ``parameters`` into (prompt, negative prompt, ``Key: value`` pairs).

    The last line holds the pairs only if it has at least three of them (A1111's rule); otherwise it is
    part of the prompt. Values keep their text ("512x768" is not split, unlike A1111's Size-1/Size-2).
    """
    *lines, last = text.strip().replace("\r\n", "\n").split("\n")
    if len(_PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for raw in lines:
        line = raw.strip()
        if line.startswith(_NEGATIVE):
            in_negative = True
            line = line[len(_NEGATIVE) :].strip()
        (negative if in_negative else prompt).append(line)
    params: dict[str, str] = {}
    for key, value in _PARAM.findall(last):
        params[key.strip()] = unquote(value.strip())
    return "\n".join(prompt), "\n".join(negative), params


def parse_hash_list(text: str) -> dict[str, str]:
    """``"name1: abc123, name2: def456"`` (Lora hashes, TI hashes) as a dict; malformed items skipped."""
    result: dict[str, str] = {}
    for item in text.split(","):
        name, colon, value = item.partition(":")
        if colon and name.strip() and value.strip():
            result[name.strip()] = value.strip()
    return result


def _clean_hash(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    return text if re.fullmatch(r"[0-9a-fA-F]+", text) else None


class _Reader:
    """Turns A1111 parameter strings into recipe fields, collecting warnings instead of failing."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.warnings: list[str] = []

    def number(self, key: str, kind: type[int] | type[float]) -> Any:
        value = self.params.get(key)
        if value is None or not value.strip():
            return None
        try:
            return kind(float(value)) if kind is int and "." in value else kind(value.strip())
        except ValueError:
            self.warnings.append(f"{key}: {value!r} is not a number; using the default")
            return None


def _build(
    prompt_text: str,
    negative_text: str,
    params: Mapping[str, str],
    known_embeddings: Iterable[str],
    warnings: list[str],
) -> Recipe:
    reader = _Reader(params)
    positive = parse_prompt(prompt_text)
    negative = parse_prompt(negative_text)
    warnings += positive.warnings
    if negative.loras or negative.hypernetworks:
        warnings.append("network tags in the negative prompt have no effect and were dropped")
    warnings += negative.warnings

    fields: dict[str, Any] = {"prompt": positive.text, "negative_prompt": negative.text}
    for key, name, kind in (
        ("Steps", "steps", int),
        ("CFG scale", "cfg", float),
        ("Seed", "seed", int),
        ("Clip skip", "clip_skip", int),
        ("Batch size", "batch", int),
    ):
        value = reader.number(key, kind)
        if value is not None:
            fields[name] = value
    size = params.get("Size")
    if size:
        match = _IMAGE_SIZE.match(size.strip())
        if match:
            fields["width"], fields["height"] = int(match.group(1)), int(match.group(2))
        else:
            warnings.append(f"Size: {size!r} is not WIDTHxHEIGHT; using the default")
    if params.get("Sampler"):
        try:
            fields["sampler"] = Sampler.parse(params["Sampler"], params.get("Schedule type"))
        except ValueError as error:
            warnings.append(f"{error}; using the default")

    model_hash = _clean_hash(params.get("Model hash"))
    if params.get("Model") or model_hash:
        fields["checkpoint"] = AssetRef(params.get("Model", ""), hash=model_hash)
    vae_hash = _clean_hash(params.get("VAE hash"))
    if params.get("VAE") or vae_hash:
        fields["vae"] = AssetRef(params.get("VAE", ""), hash=vae_hash)

    lora_hashes = parse_hash_list(params.get("Lora hashes", ""))
    fields["loras"] = tuple(
        LoraUse(
            AssetRef(use.ref.name, hash=_clean_hash(lora_hashes.get(use.ref.name))),
            weight=use.weight,
            text_encoder_weight=use.text_encoder_weight,
        )
        for use in positive.loras
    )
    hypernets = list(positive.hypernetworks)
    if params.get("Hypernet"):
        name = params["Hypernet"]
        strength = reader.number("Hypernet strength", float)
        ref = AssetRef(name, hash=_clean_hash(params.get("Hypernet hash")))
        tagged = [i for i, use in enumerate(hypernets) if use.ref.name == name]
        if tagged:
            hypernets[tagged[0]] = HypernetworkUse(ref, hypernets[tagged[0]].strength)
        else:
            hypernets.append(HypernetworkUse(ref, 1.0 if strength is None else strength))
    fields["hypernetworks"] = tuple(hypernets)

    ti_hashes = parse_hash_list(params.get("TI hashes", ""))
    names = [*ti_hashes, *known_embeddings]
    embeddings: list[EmbeddingUse] = []
    seen: set[tuple[str, bool]] = set()
    for side, text in ((False, positive.text), (True, negative.text)):
        for name in find_embedding_tokens(text, names):
            embeddings.append(EmbeddingUse(AssetRef(name, hash=_clean_hash(ti_hashes.get(name))), side))
            seen.add((name, side))
    for name, value in ti_hashes.items():  # listed but not found as a token (weighted, or renamed)
        if not any(n == name for n, _ in seen):
            embeddings.append(EmbeddingUse(AssetRef(name, hash=_clean_hash(value))))
    fields["embeddings"] = tuple(embeddings)

    fields["extra"] = {key: value for key, value in params.items() if key not in _CONSUMED}
    warnings += reader.warnings
    try:
        return Recipe(**fields)
    except ValueError as error:
        warnings.append(f"{error}; the settings fell back to the defaults")
        settings = ("steps", "cfg", "seed", "width", "height", "clip_skip", "batch")
        return Recipe(**{key: value for key, value in fields.items() if key not in settings})


def recipe_from_infotext(text: str, *, known_embeddings: Iterable[str] = ()) -> ParsedInfotext:
    """Read A1111 ``parameters`` text into a recipe of unresolved references.

    Embeddings are those listed in ``TI hashes`` plus any of ``known_embeddings`` (the library's
    embedding names) found as a token in the prompt or the negative prompt.
    """
    prompt, negative, params = parse_parameters(text)
    warnings: list[str] = []
    recipe = _build(prompt, negative, params, known_embeddings, warnings)
    return ParsedInfotext(recipe, prompt, negative, params, tuple(warnings))


_META_KEYS = {
    "steps": "Steps",
    "sampler": "Sampler",
    "cfgScale": "CFG scale",
    "seed": "Seed",
    "clipSkip": "Clip skip",
    "scheduler": "Schedule type",
}
_RESOURCE_TYPES = {
    "model": "checkpoint",
    "checkpoint": "checkpoint",
    "lora": "lora",
    "locon": "lora",
    "lycoris": "lora",
    "embed": "embedding",
    "embedding": "embedding",
    "textualinversion": "embedding",
    "hypernet": "hypernetwork",
    "hypernetwork": "hypernetwork",
    "vae": "vae",
}


def _meta_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def recipe_from_civitai_meta(
    meta: Mapping[str, Any], *, known_embeddings: Iterable[str] = ()
) -> ParsedInfotext:
    """Read the ``meta`` of a Civitai image (its API's ``images[].meta``) into a recipe.

    Civitai stores the A1111 pairs it could not map under their A1111 keys ("Model", "Clip skip",
    "Size"...), the mapped ones in camelCase, and the files used in ``resources`` (name, type, weight,
    hash) and ``hashes`` ({"model": …, "lora:name": …}). ``civitaiResources`` (version ids only) cannot
    be matched locally and are reported in the warnings.
    """
    params: dict[str, str] = {}
    for key, value in meta.items():
        if value is None or isinstance(value, (Mapping, list, tuple)):
            continue
        if key in ("prompt", "negativePrompt"):
            continue
        params[_META_KEYS.get(key, key)] = _meta_text(value)
    if "width" in meta and "height" in meta and "Size" not in params:
        params["Size"] = f"{_meta_text(meta['width'])}x{_meta_text(meta['height'])}"
    for key in ("width", "height"):
        params.pop(key, None)
    prompt = str(meta.get("prompt") or "")
    negative = str(meta.get("negativePrompt") or "")

    checkpoint: tuple[str, str | None] | None = None
    vae: tuple[str, str | None] | None = None
    loras: dict[str, tuple[float | None, str | None]] = {}
    embeddings: dict[str, str | None] = {}
    hypernets: dict[str, tuple[float | None, str | None]] = {}
    hashes = meta.get("hashes")
    if isinstance(hashes, Mapping):
        for key, value in hashes.items():
            kind, _, name = str(key).partition(":")
            kind = _RESOURCE_TYPES.get(kind.lower(), kind.lower())
            if kind == "checkpoint":
                checkpoint = (params.get("Model", ""), str(value))
            elif kind == "vae":
                vae = (params.get("VAE", ""), str(value))
            elif kind == "lora" and name:
                loras[name] = (None, str(value))
            elif kind == "embedding" and name:
                embeddings[name] = str(value)
            elif kind == "hypernetwork" and name:
                hypernets[name] = (None, str(value))
    for resource in meta.get("resources") or ():
        if not isinstance(resource, Mapping):
            continue
        kind = _RESOURCE_TYPES.get(str(resource.get("type", "")).lower(), "")
        name = str(resource.get("name") or "")
        value = resource.get("hash")
        hash_ = str(value) if value else None
        weight = resource.get("weight")
        strength = float(weight) if isinstance(weight, (int, float)) else None
        if kind == "checkpoint":
            checkpoint = (name or params.get("Model", ""), hash_ or (checkpoint[1] if checkpoint else None))
        elif kind == "vae":
            vae = (name, hash_)
        elif kind == "lora" and name:
            loras[name] = (strength, hash_ or loras.get(name, (None, None))[1])
        elif kind == "embedding" and name:
            embeddings[name] = hash_ or embeddings.get(name)
        elif kind == "hypernetwork" and name:
            hypernets[name] = (strength, hash_)
    warnings: list[str] = []
    for resource in meta.get("civitaiResources") or ():
        if isinstance(resource, Mapping) and resource.get("modelVersionId"):
            warnings.append(
                f"Civitai resource {resource.get('type', 'model')} version {resource['modelVersionId']} "
                "is named by version id only and cannot be matched to a local file"
            )

    if checkpoint is not None:
        params["Model"], params["Model hash"] = checkpoint[0], checkpoint[1] or ""
    if vae is not None:
        params["VAE"], params["VAE hash"] = vae[0], vae[1] or ""
    if embeddings:
        params["TI hashes"] = ", ".join(f"{name}: {value or ''}" for name, value in embeddings.items())
    # Resources the prompt does not tag still took part in the image: add their tags.
    tagged = {use.ref.name for use in parse_prompt(prompt).loras}
    extra_tags = [
        f"<lora:{name}:{weight if weight is not None else 1.0:g}>"
        for name, (weight, _) in loras.items()
        if name not in tagged
    ]
    tagged_hn = {use.ref.name for use in parse_prompt(prompt).hypernetworks}
    extra_tags += [
        f"<hypernet:{name}:{s if s is not None else 1.0:g}>"
        for name, (s, _) in hypernets.items()
        if name not in tagged_hn
    ]
    full_prompt = ", ".join(part for part in (prompt, *extra_tags) if part)
    params["Lora hashes"] = ", ".join(f"{name}: {value}" for name, (_, value) in loras.items() if value)

    recipe = _build(full_prompt, negative, params, known_embeddings, warnings)
    hypernet_hashes = {name: value for name, (_, value) in hypernets.items() if value}
    if hypernet_hashes:
        recipe = recipe.replace(
            hypernetworks=tuple(
                HypernetworkUse(
                    AssetRef(h.ref.name, hash=_clean_hash(hypernet_hashes.get(h.ref.name))), h.strength
                )
                for h in recipe.hypernetworks
            )
        )
    shown = {key: value for key, value in params.items() if value}
    return ParsedInfotext(recipe, prompt, negative, shown, tuple(warnings))


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _sanitize(name: str) -> str:
    """A1111 drops ':' and ',' from names inside hash lists, which use them as separators."""
    return name.replace(":", "").replace(",", "")


def format_infotext(
    recipe: Recipe,
    *,
    model_hash: str | None = None,
    vae_name: str | None = None,
    vae_hash: str | None = None,
    lora_hashes: Mapping[str, str] | None = None,
    ti_hashes: Mapping[str, str] | None = None,
    hypernet_hash: str | None = None,
    version: str = "Atelier",
) -> str:
    """A1111 ``parameters`` text for ``recipe`` (key names, order and quoting as A1111 writes them).

    Hashes not given are taken from the recipe's references. Hypernetworks are written as prompt tags;
    the first one is also written as ``Hypernet``/``Hypernet hash``/``Hypernet strength``.
    """
    checkpoint, vae = recipe.checkpoint, recipe.vae
    lora_hashes = dict(lora_hashes or {})
    ti_hashes = dict(ti_hashes or {})
    for lora in recipe.loras:
        if lora.enabled and lora.ref.hash and lora.ref.name not in lora_hashes:
            lora_hashes[lora.ref.name] = lora.ref.hash
    for embedding in recipe.embeddings:
        if embedding.ref.hash and embedding.ref.name not in ti_hashes:
            ti_hashes[embedding.ref.name] = embedding.ref.hash
    hypernet = recipe.hypernetworks[0] if recipe.hypernetworks else None

    pairs: dict[str, str | None] = {
        "Steps": str(recipe.steps),
        "Sampler": recipe.sampler.value,
        "CFG scale": _format_number(recipe.cfg),
        "Seed": str(recipe.seed),
        "Size": f"{recipe.width}x{recipe.height}",
        "Model hash": model_hash or (checkpoint.hash if checkpoint else None),
        "Model": checkpoint.name if checkpoint and checkpoint.name else None,
        "VAE hash": vae_hash or (vae.hash if vae else None),
        "VAE": vae_name or (vae.name if vae and vae.name else None),
        "Clip skip": str(recipe.clip_skip) if recipe.clip_skip > 1 else None,
        "Batch size": str(recipe.batch) if recipe.batch > 1 else None,
        "Lora hashes": ", ".join(f"{_sanitize(n)}: {h}" for n, h in lora_hashes.items()) or None,
        "TI hashes": ", ".join(f"{_sanitize(n)}: {h}" for n, h in ti_hashes.items()) or None,
        "Hypernet": hypernet.ref.name if hypernet else None,
        "Hypernet hash": (hypernet_hash or hypernet.ref.hash) if hypernet else None,
        "Hypernet strength": _format_number(hypernet.strength) if hypernet else None,
    }
    for key, value in recipe.extra.items():
        if key not in pairs and key != "Version":
            pairs[key] = value
    pairs["Version"] = version or None
    line = ", ".join(f"{key}: {quote(value)}" for key, value in pairs.items() if value is not None)
    negative = f"\n{_NEGATIVE} {recipe.negative_prompt}" if recipe.negative_prompt else ""
    return f"{render_prompt(recipe)}{negative}\n{line}".strip()
