"""A1111 infotext both ways: the ``parameters`` text of a PNG, and Civitai's image ``meta``.

Parsing follows A1111's ``parse_generation_parameters`` (same regex, same multi-line rules) so anything
A1111 reads, this reads; writing follows ``create_infotext`` (key names, order and quoting) so A1111,
Civitai and other tools read our PNGs back. Names come out as unresolved :class:`AssetRef`; matching
them to files is :mod:`core.render.resolve`'s job.

Forge's keys for the flow-matching families are read and written too: ``Distilled CFG Scale`` (Flux
dev's guidance; ComfyUI savers write ``Guidance``), ``Shift``, and ``Module 1``, ``Module 2``... naming
the VAE and text-encoder files Forge loaded beside a diffusion-model-only checkpoint (file stems, in
the user's order; a VAE is told from an encoder by its name, see :func:`module_role`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.render.hires import HIRES_KEYS, hires_from_params, hires_params
from core.render.prompt_syntax import find_embedding_tokens, parse_prompt, render_prompt
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, split_sampler
from core.render.samplers import effective_schedule
from core.render.variation import HONOURED_KEYS, SEED_RESIZE

# A1111 modules/infotext_utils.py
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_IMAGE_SIZE = re.compile(r"^(\d+)x(\d+)$")
_NEGATIVE = "Negative prompt:"

# Keys the recipe consumes; every other key goes to Recipe.extra so it survives a round trip.
_CONSUMED = frozenset(
    {
        "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model", "Model hash",
        "VAE", "VAE hash", "Clip skip", "Batch size", "Lora hashes", "TI hashes",
        "Hypernet", "Hypernet hash", "Hypernet strength", "Version", "First pass size", *HIRES_KEYS,
        "Distilled CFG Scale", "Guidance", "Shift", "Hashes",
    }
)  # fmt: skip
# A1111's noise keys: the engine applies variation seeds and ENSD on SD/SDXL (core.render.variation), never
# "Seed resize from", and none on the transformer families. What it does not apply, a plan names and the
# new image does not carry, so no one is told the image used it.
_NOISE_KEYS = (*HONOURED_KEYS, SEED_RESIZE)
# Keys of A1111, Forge and their extensions that change the image and that Atelier's renderer never applies
# (sampler parameters, model-patching options, a second model, post-processing). Written back, they would
# claim a refiner or a ControlNet that was not used (issue #12), so they are named in the plan and dropped.
# Keys that only record (Version, Template, Negative Template, Lora/TI hashes, Civitai resources, Emphasis
# and Pad conds, which conditioning reads, the Beta schedule's parameters, which the schedule reads) stay.
_NEVER_APPLIED = (
    "Eta", "Eta DDIM", "NGMS", "Sigma churn", "Sigma tmin", "Sigma tmax", "Sigma noise", "s_churn", "s_tmin",
    "s_tmax", "s_noise", "Sigma min", "Sigma max", "Schedule min sigma", "Schedule max sigma",
    "Schedule rho", "Token merging ratio", "Token merging ratio hr", "Refiner", "Refiner switch at",
    "Noise multiplier", "SGM noise multiplier", "Downcast alphas_cumprod", "Discard penultimate sigma",
    "Face restoration", "Tiling", "Skip Early CFG", "Image CFG scale",
    "Conditional mask weight", "Mask blur",
)  # fmt: skip
# Extensions write one key per setting under a common prefix ("ADetailer model", "ControlNet 0"...); none
# of them is applied, their bookkeeping keys ("ADetailer version") included, which would still claim use.
_NEVER_APPLIED_PREFIXES = (
    "ADetailer", "ControlNet", "Dynamic thresholding", "FreeU", "SAG ", "PAG ", "Kohya Hires.fix",
    "Regional Prompter", "Tiled Diffusion", "Tiled VAE", "Self Attention Guidance", "IP-Adapter",
    "Latent Couple", "Cutoff ", "CFG Rescale", "Mimic scale", "Threshold percentile",
)  # fmt: skip


def unapplied_keys(*, transformer_family: bool) -> tuple[str, ...]:
    """The A1111 keys the renderer ignores for a checkpoint of this kind (see ``_NOISE_KEYS``) and on
    every kind (``_NEVER_APPLIED``; keys starting with ``_NEVER_APPLIED_PREFIXES`` are ignored too)."""
    return (*(_NOISE_KEYS if transformer_family else (SEED_RESIZE,)), *_NEVER_APPLIED)


def _unapplied(key: str, keys: tuple[str, ...]) -> bool:
    """Whether ``key`` is one of ``keys`` or an extension's key that is never applied."""
    return key in keys or key.startswith(_NEVER_APPLIED_PREFIXES)


_MODULE = re.compile(r"^Module (\d+)$")
# File stems of VAEs as Forge lists its modules: BFL's "ae" (Flux, Chroma, Z-Image) and "*vae*".
_VAE_STEM = re.compile(r"(?i)^(ae|flux_?ae)([_.\-].*)?$|vae")


def module_role(name: str) -> str:
    """ "vae" or "text_encoder": what a Forge ``Module N`` file is, from its name.

    Forge's modules are the VAE and text-encoder files of its "VAE / Text Encoder" choice, named by
    file stem with nothing saying which is which; a VAE's stem is ``ae`` (BFL's Flux VAE) or holds
    ``vae`` (``sdxl_vae``, ``qwen_image_vae``), every other file is a text encoder (``clip_l``,
    ``t5xxl_fp16``, ``qwen_2.5_vl_7b``...).
    """
    return "vae" if _VAE_STEM.search(name.strip()) else "text_encoder"


def _is_module_key(key: str) -> bool:
    return _MODULE.match(key) is not None


def _module_names(params: Mapping[str, str]) -> list[str]:
    """The ``Module N`` values in N's order (Forge numbers them from 1 in the order they were chosen)."""
    numbered = [
        (int(m.group(1)), value.strip()) for key, value in params.items() if (m := _MODULE.match(key))
    ]
    return [value for _, value in sorted(numbered) if value]


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
    params = {key: unquote(value) for key, value in raw_pairs(last)}
    return "\n".join(prompt), "\n".join(negative), params


def raw_pairs(line: str) -> list[tuple[str, str]]:
    """The ``Key: value`` pairs of a parameters line as written (quotes kept), A1111's regex and rules.

    Like A1111, the key is not stripped: "Steps : 20" is a key "Steps " that A1111 does not read as
    Steps, so neither does Atelier (it is kept verbatim as an unknown key).
    """
    pairs: list[tuple[str, str]] = []
    position = 0
    while (match := _PARAM.search(line, position)) is not None:
        key, value = match.group(1), match.group(2)
        position = match.end()
        json_value = _json_value(line, match.start(2))
        if json_value is not None:
            value, position = json_value
        pairs.append((key, value))
    return pairs


_JSON = json.JSONDecoder()
_AFTER_VALUE = re.compile(r"\s*(?:,|$)")


def _json_value(line: str, start: int) -> tuple[str, int] | None:
    """An unquoted JSON object or array written as a value (ComfyUI image-saver's ``Hashes: {…}``, the
    Civitai generator's ``Civitai resources: […]``), and where the next pair starts; None when the value
    is no whole JSON value followed by a comma or the end (then A1111's own rule reads it)."""
    if line[start : start + 1] not in ("{", "["):
        return None
    try:
        _, end = _JSON.raw_decode(line, start)
    except ValueError:
        return None
    after = _AFTER_VALUE.match(line, end)
    return (line[start:end], after.end()) if after is not None else None


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


_SETTINGS: tuple[tuple[str, str, type[int] | type[float]], ...] = (
    ("Steps", "steps", int),
    ("CFG scale", "cfg", float),
    ("Seed", "seed", int),
    ("Clip skip", "clip_skip", int),
    ("Batch size", "batch", int),
    ("Distilled CFG Scale", "guidance", float),
    ("Shift", "shift", float),
)
# Other tools' names for a setting, read when A1111/Forge's own key is absent.
_ALIASES = {"Guidance": "Distilled CFG Scale"}


def _size(text: str | None) -> tuple[int, int] | None:
    match = _IMAGE_SIZE.match(text.strip()) if text else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _valid(field_values: Mapping[str, Any]) -> str | None:
    """Why ``field_values`` alone make an invalid recipe (None when valid): each field is judged alone."""
    try:
        Recipe(**field_values)
    except (ValueError, TypeError) as error:
        return str(error)
    return None


def _settings(params: Mapping[str, str], warnings: list[str]) -> dict[str, Any]:
    """The numbers A1111 reads, field by field: one unreadable or out-of-range value costs only itself."""
    params = {**{own: params[alias] for alias, own in _ALIASES.items() if alias in params}, **params}
    reader = _Reader(params)
    fields: dict[str, Any] = {}
    for key, name, kind in _SETTINGS:
        value = reader.number(key, kind)
        if value is None:
            continue
        problem = _valid({name: value})
        if problem:
            warnings.append(f"{key}: {params[key].strip()!r} cannot be used ({problem}); using the default")
        else:
            fields[name] = value
    warnings += reader.warnings
    raw_size = params.get("Size")
    if raw_size and raw_size.strip() and _size(raw_size) is None:
        warnings.append(f"Size: {raw_size!r} is not WIDTHxHEIGHT; using the default")
    size = _base_size(params)
    if size is not None and min(size) >= 1 and _renderable_size(size) != size:
        rounded = _renderable_size(size)
        if _valid({"width": rounded[0], "height": rounded[1]}) is None:
            reason = "not a multiple of 8" if any(side % 8 for side in size) else "under 64 pixels"
            warnings.append(
                f"Size: {size[0]}x{size[1]} is {reason}; rendered at {rounded[0]}x{rounded[1]} "
                "(A1111 rounds each side down to a multiple of 8; Atelier renders at least 64 pixels)"
            )
            size = rounded
    if size is not None:
        problem = _valid({"width": size[0], "height": size[1]})
        if problem:
            warnings.append(f"Size: {raw_size!r} cannot be used ({problem}); using the default")
        else:
            fields["width"], fields["height"] = size
    return fields


_VERSION = re.compile(r"v(\d+)\.(\d+)")


def _renderable_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size A1111 renders for ``size`` (each side rounded down to a multiple of 8: its latent is
    side // 8), kept within the 64 pixels Atelier's recipes need at least."""
    return max(size[0] // 8 * 8, 64), max(size[1] // 8 * 8, 64)


def _base_size(params: Mapping[str, str]) -> tuple[int, int] | None:
    """The size of the (first) pass, as A1111's restore_old_hires_fix_params reads it.

    Before 1.0, hires fix wrote the final size as Size and the first pass as "First pass size"; 0x0
    there meant "about 512x512 pixels in Size's proportions, in multiples of 64".
    """
    size = _size(params.get("Size"))
    first_pass = _size(params.get("First pass size"))
    if first_pass is None or size is None:
        return size
    if all(first_pass):
        return first_pass
    scale = math.sqrt(512 * 512 / (size[0] * size[1])) if all(size) else 1.0
    return math.ceil(scale * size[0] / 64) * 64, math.ceil(scale * size[1] / 64) * 64


def _comfyui_default_schedule(schedule: str, params: Mapping[str, str]) -> str | None:
    """ "Normal" for a ComfyUI saver's bare sampler name: the savers join ``sampler_scheduler`` except for
    ComfyUI's default scheduler, ``normal``, which they leave out ("euler" is euler + normal)."""
    if "Schedule type" in params or schedule != "Automatic":
        return None
    return "Normal" if params.get("Version", "").strip().casefold().startswith("comfyui") else None


def _pre_schedule_type_default(sampler: str, schedule: str, params: Mapping[str, str]) -> str | None:
    """The schedule an infotext without "Schedule type" meant, when it differs from 1.10's Automatic.

    Until 1.9 A1111 wrote the schedule into the sampler's name ("DPM++ 2M Karras") and a bare
    "DPM++ 2M" sampled k-diffusion's uniform schedule; 1.9 made Karras (or Exponential) the Automatic
    choice of several samplers. A text from before 1.9 (its Version says so, or it has none, as other
    tools' texts) therefore means Uniform. None when the text is newer or the meaning is the same.
    """
    if "Schedule type" in params or schedule != "Automatic":
        return None
    version = _VERSION.search(params.get("Version", ""))
    if version and (int(version.group(1)), int(version.group(2))) >= (1, 9):
        return None
    if effective_schedule(sampler, "Automatic") in (None, "Uniform"):
        return None
    return "Uniform"


def _build(
    prompt_text: str,
    negative_text: str,
    params: Mapping[str, str],
    known_embeddings: Iterable[str],
    warnings: list[str],
) -> Recipe:
    positive = parse_prompt(prompt_text)
    negative = parse_prompt(negative_text)
    warnings += positive.warnings
    if negative.loras or negative.hypernetworks:
        warnings.append("network tags in the negative prompt have no effect and were dropped")
    warnings += negative.warnings

    fields: dict[str, Any] = {"prompt": positive.text, "negative_prompt": negative.text}
    fields.update(_settings(params, warnings))
    if params.get("Sampler", "").strip() or params.get("Schedule type", "").strip():
        fields["sampler"], fields["schedule"] = split_sampler(
            params.get("Sampler", "").strip() or "Euler a", params.get("Schedule type")
        )
        comfyui = _comfyui_default_schedule(fields["schedule"], params)
        old = _pre_schedule_type_default(fields["sampler"], fields["schedule"], params)
        if comfyui is not None:
            fields["schedule"] = comfyui
        elif old is not None:
            fields["schedule"] = old
            warnings.append(
                f"Sampler: {params['Sampler'].strip()!r} comes without a schedule type, as A1111 wrote it "
                f"before 1.9, when it sampled with the {old} schedule; that is used (1.9+ would pick "
                f"{effective_schedule(fields['sampler'], 'Automatic')})"
            )

    model_hash = _clean_hash(params.get("Model hash"))
    if params.get("Model", "").strip() or model_hash:
        fields["checkpoint"] = AssetRef(params.get("Model", ""), hash=model_hash)
    elif (named := civitai_checkpoint(params)) is not None:
        fields["checkpoint"] = AssetRef(named[0])
    vae_hash = _clean_hash(params.get("VAE hash"))
    vae_name = params.get("VAE", "")
    encoders: list[AssetRef] = []
    for name in _module_names(params):
        if module_role(name) == "text_encoder":
            encoders.append(AssetRef(name))
        elif not vae_name.strip():
            vae_name = name
        elif name != vae_name.strip():
            warnings.append(f"Module {name!r} is a second VAE ({vae_name.strip()!r} is used); it is ignored")
    fields["text_encoders"] = tuple(encoders)
    if vae_name.strip() or vae_hash:
        fields["vae"] = AssetRef(vae_name, hash=vae_hash)

    lora_hashes = parse_hash_list(params.get("Lora hashes", ""))
    fields["loras"] = tuple(
        LoraUse(
            AssetRef(use.ref.name, hash=_clean_hash(lora_hashes.get(use.ref.name.translate(_NO_SEPARATORS)))),
            weight=use.weight,
            text_encoder_weight=use.text_encoder_weight,
        )
        for use in positive.loras
    )
    hypernets = list(positive.hypernetworks)
    if params.get("Hypernet", "").strip():
        # A1111 (infotext_utils) appends <hypernet:NAME:STRENGTH> to the prompt when it reads this field.
        name = params["Hypernet"]
        reader = _Reader(params)
        strength = reader.number("Hypernet strength", float)
        warnings += reader.warnings
        ref = AssetRef(name, hash=_clean_hash(params.get("Hypernet hash")))
        tagged = [i for i, use in enumerate(hypernets) if use.ref.name == name]
        if tagged:
            hypernets[tagged[0]] = HypernetworkUse(ref, hypernets[tagged[0]].strength)
            warnings.append(
                f"Hypernet: {name!r} is also tagged in the prompt; A1111 would apply it twice, Atelier once"
            )
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

    hires = hires_from_params(params, warnings)
    if hires is not None:
        problem = _valid(
            {"width": fields.get("width", 512), "height": fields.get("height", 512), "hires": hires}
        )
        if problem:
            warnings.append(f"hires fix cannot be used ({problem}); the first pass alone is rendered")
        else:
            fields["hires"] = hires
    hires_read = "hires" in fields
    fields["extra"] = {key: value for key, value in params.items() if not _consumed(key, hires_read)}
    return Recipe(**fields)


def _consumed(key: str, hires: bool) -> bool:
    """Whether the recipe holds ``key``'s value; hires keys without hires fix (A1111 needs ``Denoising
    strength`` with them to turn it on) stay verbatim in ``extra``."""
    return (key in _CONSUMED and (hires or key not in HIRES_KEYS)) or _is_module_key(key)


def civitai_checkpoint(params: Mapping[str, str]) -> tuple[str, int] | None:
    """(name, model version id) of the checkpoint that the Civitai generator names only in its
    ``Civitai resources`` JSON (its images have no Model or Model hash), or None."""
    try:
        resources = json.loads(params.get("Civitai resources", "") or "null")
    except ValueError:
        return None
    for resource in resources if isinstance(resources, list) else ():
        if not isinstance(resource, Mapping) or str(resource.get("type", "")).lower() != "checkpoint":
            continue
        version = resource.get("modelVersionId")
        if not isinstance(version, int) or isinstance(version, bool):
            continue
        words = (str(resource.get(key) or "").strip() for key in ("modelName", "modelVersionName"))
        return " ".join(word for word in words if word) or f"civitai:{version}", version
    return None


def unapplied_warnings(recipe: Recipe, keys: tuple[str, ...]) -> tuple[str, ...]:
    """One line per A1111 setting of ``recipe`` among ``keys`` (:func:`unapplied_keys`), by name."""
    return tuple(
        f"{key}: {_shown(value)} is not applied by Atelier (the image will differ from A1111's); "
        "it is not written into the new image"
        for key, value in recipe.extra.items()
        if _unapplied(key, keys)
    )


def _shown(value: str, limit: int = 80) -> str:
    """A value short enough for a plan line (ControlNet's units are long JSON-ish strings)."""
    return value if len(value) <= limit else f"{value[: limit - 1]}…"


def without_unapplied(recipe: Recipe, keys: tuple[str, ...]) -> Recipe:
    """``recipe`` without the settings among ``keys`` (and extensions' keys), which were not applied."""
    if not any(_unapplied(key, keys) for key in recipe.extra):
        return recipe
    return recipe.replace(extra={k: v for k, v in recipe.extra.items() if not _unapplied(k, keys)})


def recipe_from_infotext(text: str, *, known_embeddings: Iterable[str] = ()) -> ParsedInfotext:
    """Read A1111 ``parameters`` text into a recipe of unresolved references.

    Embeddings are those listed in ``TI hashes`` plus any of ``known_embeddings`` (the library's
    embedding names) found as a token in the prompt or the negative prompt.
    """
    prompt, negative, params = parse_parameters(text)
    warnings: list[str] = []
    recipe = _build(prompt, negative, params, known_embeddings, warnings)
    recipe = recipe.replace(source_infotext=text)
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
    # A space, not ", ": A1111 removes the tags and a comma would be one more token than was rendered.
    full_prompt = " ".join(part for part in (prompt, *extra_tags) if part)
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


_NO_SEPARATORS = str.maketrans("", "", ":,")


def _sanitize(name: str) -> str:
    """A1111 drops ':' and ',' from names inside hash lists, which use them as separators."""
    return name.translate(_NO_SEPARATORS)


def _fresh_pairs(
    recipe: Recipe,
    *,
    model_hash: str | None,
    vae_name: str | None,
    vae_hash: str | None,
    lora_hashes: Mapping[str, str] | None,
    ti_hashes: Mapping[str, str] | None,
) -> dict[str, str | None]:
    """The pairs A1111's ``create_infotext`` writes for ``recipe``, in its order (unquoted values)."""
    checkpoint, vae = recipe.checkpoint, recipe.vae
    hires = hires_params(recipe.hires)
    loras = dict(lora_hashes or {})
    tis = dict(ti_hashes or {})
    for lora in recipe.loras:
        if lora.enabled and lora.ref.hash and lora.ref.name not in loras:
            loras[lora.ref.name] = lora.ref.hash
    for embedding in recipe.embeddings:
        if embedding.ref.hash and embedding.ref.name not in tis:
            tis[embedding.ref.name] = embedding.ref.hash
    vae_label = vae_name or (vae.name if vae and vae.name else None)
    modules = _modules(recipe, vae_label)
    pairs: dict[str, str | None] = {
        "Steps": str(recipe.steps),
        "Sampler": recipe.sampler,
        "Schedule type": recipe.schedule,
        "CFG scale": _format_number(recipe.cfg),
        "Distilled CFG Scale": _format_number(recipe.guidance) if recipe.guidance is not None else None,
        "Shift": _format_number(recipe.shift) if recipe.shift is not None else None,
        "Seed": str(recipe.seed),
        "Size": f"{recipe.width}x{recipe.height}",
        "Model hash": model_hash or (checkpoint.hash if checkpoint else None),
        "Model": checkpoint.name if checkpoint and checkpoint.name else None,
        "VAE hash": vae_hash or (vae.hash if vae else None),
        "VAE": None if modules else vae_label,
        "Denoising strength": hires["Denoising strength"],
        "Clip skip": str(recipe.clip_skip) if recipe.clip_skip > 1 else None,
        "Batch size": str(recipe.batch) if recipe.batch > 1 else None,
        "Hires upscale": hires["Hires upscale"],
        "Hires resize": hires["Hires resize"],
        "Hires steps": hires["Hires steps"],
        "Hires upscaler": hires["Hires upscaler"],
        "Lora hashes": ", ".join(f"{_sanitize(n)}: {h}" for n, h in loras.items()) or None,
        "TI hashes": ", ".join(f"{_sanitize(n)}: {h}" for n, h in tis.items()) or None,
    }
    pairs.update({f"Module {i}": name for i, name in enumerate(modules, start=1)})
    return pairs


def _modules(recipe: Recipe, vae_label: str | None) -> list[str]:
    """Forge's ``Module N`` list for a recipe with separate text encoders: the VAE, then the encoders.

    A recipe without them (an SD checkpoint, a full Flux checkpoint) names its VAE as A1111 does.
    """
    if not recipe.text_encoders:
        return []
    names = [vae_label] if vae_label else []
    return names + [ref.name for ref in recipe.text_encoders if ref.name]


def _networks(recipe: Recipe) -> tuple[Any, ...]:
    loras = tuple((u.ref.name, u.weight, u.effective_text_encoder_weight) for u in recipe.loras if u.enabled)
    return loras, tuple((h.ref.name, h.strength) for h in recipe.hypernetworks)


_NUMERIC: dict[str, tuple[str, type[int] | type[float]]] = {
    "Steps": ("steps", int),
    "CFG scale": ("cfg", float),
    "Seed": ("seed", int),
    "Clip skip": ("clip_skip", int),
    "Batch size": ("batch", int),
    "Distilled CFG Scale": ("guidance", float),
    "Guidance": ("guidance", float),
    "Shift": ("shift", float),
}


def _same_meaning(
    key: str,
    raw: str,
    recipe: Recipe,
    *,
    source: Recipe,
    fresh: Mapping[str, str | None],
    params: Mapping[str, str],
) -> bool:
    """Whether the source's ``key: raw`` still says what ``recipe`` renders (then its bytes are kept).

    Settings are compared with the value as written, not as read: a value Atelier could not use
    ("Steps: 200") is rewritten with what it renders instead.
    """
    value = unquote(raw)
    if key in ("Sampler", "Schedule type"):
        return (recipe.sampler, recipe.schedule) == (source.sampler, source.schedule)
    if key in ("Size", "First pass size"):
        old_hires = "First pass size" in params and hires_from_params(params, []) != recipe.hires
        base = _base_size(params)
        same = base == (recipe.width, recipe.height)  # a size rounded to render is written as rendered
        return same and not old_hires
    if key in HIRES_KEYS:
        same = hires_from_params(params, []) == recipe.hires
        return same and (recipe.hires is not None or recipe.extra.get(key) == value)
    if key in _NUMERIC:
        name, kind = _NUMERIC[key]
        try:
            number = kind(float(value)) if kind is int and "." in value else kind(value)
        except ValueError:
            return False  # unreadable: the recipe's value (the default) is written instead
        return bool(number == getattr(recipe, name))
    if key == "Guidance" and "Distilled CFG Scale" in params:
        return False  # Forge's own key says it; the other tool's copy is dropped when they disagree
    if _is_module_key(key):
        return _module_refs(recipe) == _module_refs(source)
    if key == "Model":
        return _ref_name(recipe.checkpoint) == _ref_name(source.checkpoint)
    if key == "Model hash":  # only the hash of the file rendered with (none known: none written)
        return fresh.get(key) == value.strip().lower()
    if key == "VAE":
        return _ref_name(recipe.vae) == _ref_name(source.vae)
    if key == "VAE hash":
        return fresh.get(key) == value.strip().lower()
    if key == "Lora hashes":
        used = {_sanitize(u.ref.name): u.ref.hash for u in recipe.loras if u.enabled}
        listed = parse_hash_list(value)
        return all(h is None or listed.get(name) == h for name, h in used.items())
    if key == "TI hashes":
        listed = parse_hash_list(value)
        return all(_sanitize(e.ref.name) in listed for e in recipe.embeddings if e.ref.hash)
    if key in ("Hypernet", "Hypernet hash", "Hypernet strength"):
        return bool(_networks(recipe)[1] == _networks(source)[1])
    if key in _CONSUMED:
        return fresh.get(key) == value
    return recipe.extra.get(key) == value


def _ref_name(ref: AssetRef | None) -> str | None:
    return ref.name if ref is not None else None


def _module_refs(recipe: Recipe) -> tuple[str | None, tuple[str, ...]]:
    """What a text's ``Module N`` keys say: the VAE's name and the text encoders' names."""
    return _ref_name(recipe.vae), tuple(ref.name for ref in recipe.text_encoders)


def _as_read(block: str) -> str:
    """A prompt block as A1111's parser (and so :func:`parse_parameters`) reads it: each line stripped."""
    return "\n".join(line.strip() for line in block.split("\n"))


def _written_prompt(recipe: Recipe, source_prompt: str | None, source: Recipe | None) -> str:
    """The source's prompt bytes while they still say what the recipe renders; else the recipe's prompt."""
    if source is not None and source_prompt is not None:
        parsed = parse_prompt(_as_read(source_prompt))
        if parsed.text == recipe.prompt and _networks(recipe)[0] == _networks(source)[0]:
            hypernets_in_prompt = tuple((h.ref.name, h.strength) for h in parsed.hypernetworks)
            if hypernets_in_prompt == _networks(recipe)[1] or _networks(recipe)[1] == _networks(source)[1]:
                return source_prompt
    return render_prompt(recipe)


def format_infotext(
    recipe: Recipe,
    *,
    model_hash: str | None = None,
    vae_name: str | None = None,
    vae_hash: str | None = None,
    lora_hashes: Mapping[str, str] | None = None,
    ti_hashes: Mapping[str, str] | None = None,
    version: str | None = "Atelier",
) -> str:
    """A1111 ``parameters`` text for ``recipe`` (key names, order and quoting as A1111 writes them).

    When the recipe was read from infotext (``source_infotext``), every part that still means what the
    recipe renders keeps its bytes (key order, quoting, the sampler spelling, unknown keys, hash lists
    naming LoRAs the prompt does not tag) and only what differs is written anew; ``version`` None keeps
    the source's Version too, so parse -> write gives the same text. Hypernetworks are written once, as
    prompt tags: A1111 turns a ``Hypernet:`` field into one more tag, which would apply it twice.
    """
    fresh = _fresh_pairs(
        recipe,
        model_hash=model_hash,
        vae_name=vae_name,
        vae_hash=vae_hash,
        lora_hashes=lora_hashes,
        ti_hashes=ti_hashes,
    )
    source = recipe_from_infotext(recipe.source_infotext).recipe if recipe.source_infotext.strip() else None
    if source is None:
        pairs: dict[str, str] = {}
        for key, value in fresh.items():
            if value is not None and not _is_module_key(key):
                pairs[key] = quote(value)
        for key, value in recipe.extra.items():
            if key not in pairs and not _consumed(key, recipe.hires is not None):
                pairs[key] = quote(value)
        if version:
            pairs["Version"] = quote(version)
        for key, value in fresh.items():  # Forge writes its modules last, after Version
            if value is not None and _is_module_key(key):
                pairs[key] = quote(value)
        line = ", ".join(f"{key}: {value}" for key, value in pairs.items())
        negative = f"\n{_NEGATIVE} {recipe.negative_prompt}" if recipe.negative_prompt else ""
        return f"{render_prompt(recipe)}{negative}\n{line}".strip()

    text = recipe.source_infotext.replace("\r\n", "\n")
    prompt_raw, negative_raw, line_raw = _sections(text)
    source_params = {key: unquote(raw) for key, raw in raw_pairs(line_raw)}
    written: dict[str, str] = {}
    for key, raw in raw_pairs(line_raw):
        if key == "Version":
            if version is None:
                written[key] = raw
            continue
        if key == "Hashes":  # ComfyUI image-saver's JSON: the hashes of the files used, never the source's
            used = _used_hashes(recipe, fresh)
            if used:
                written[key] = raw if _json_equal(raw, used) else json.dumps(used, ensure_ascii=False)
            continue
        if _same_meaning(key, raw, recipe, source=source, fresh=fresh, params=source_params):
            written[key] = raw
        elif key in ("Hypernet", "Hypernet hash", "Hypernet strength", "First pass size", "Guidance"):
            continue  # hypernetworks go in the prompt only; the size is written as Size
        elif _is_module_key(key):
            continue  # the modules changed: written anew below, all of them
        elif key in fresh or key in _CONSUMED:
            value = fresh.get(key)
            if value is not None:
                written[key] = quote(value)
        elif key in recipe.extra:
            written[key] = quote(recipe.extra[key])
    modules_kept = any(_is_module_key(key) for key in written)
    for key, value in fresh.items():  # settings the source did not have
        if _is_module_key(key) and modules_kept:
            continue  # the source's modules still say what is rendered
        if key not in written and value is not None and not _implied(key, recipe, source, written):
            written[key] = quote(value)
    for key, value in recipe.extra.items():
        if key not in written and key != "Version" and not _consumed(key, recipe.hires is not None):
            written[key] = quote(value)
    if version is not None:
        written["Version"] = quote(version)  # where the source had it, else last
    prompt = _written_prompt(recipe, prompt_raw, source)
    if parse_prompt(prompt).hypernetworks:  # A1111 adds a tag per Hypernet field: never both
        for key in ("Hypernet", "Hypernet hash", "Hypernet strength"):
            written.pop(key, None)
    ordered = _a1111_order(written, [key for key, _ in raw_pairs(line_raw)])
    line = ", ".join(f"{key}: {value}" for key, value in ordered.items())
    if negative_raw and parse_prompt(_as_read(negative_raw)).text == recipe.negative_prompt:
        negative = f"\n{_NEGATIVE} {negative_raw}"
    else:
        negative = f"\n{_NEGATIVE} {recipe.negative_prompt}" if recipe.negative_prompt else ""
    return f"{prompt}{negative}\n{line}"


def _used_hashes(recipe: Recipe, fresh: Mapping[str, str | None]) -> dict[str, str]:
    """The ``Hashes`` JSON of ComfyUI's image-saver for the files ``recipe`` used: ``model``, ``vae``,
    ``lora:NAME``, ``embed:NAME``, ``hypernet:NAME`` (each only where its hash is known)."""
    used: dict[str, str] = {}
    for key, label in (("Model hash", "model"), ("VAE hash", "vae")):
        value = fresh.get(key)
        if value:
            used[label] = value
    used.update({f"lora:{u.ref.name}": u.ref.hash for u in recipe.loras if u.enabled and u.ref.hash})
    used.update({f"embed:{e.ref.name}": e.ref.hash for e in recipe.embeddings if e.ref.hash})
    used.update({f"hypernet:{h.ref.name}": h.ref.hash for h in recipe.hypernetworks if h.ref.hash})
    return used


def _json_equal(raw: str, value: Mapping[str, str]) -> bool:
    try:
        return bool(json.loads(unquote(raw)) == value)
    except ValueError:
        return False


def _implied(key: str, recipe: Recipe, source: Recipe, written: Mapping[str, str]) -> bool:
    """Whether the source already says ``key``'s value without writing the key (defaults, old names)."""
    if key == "VAE" and any(_is_module_key(k) for k in written):
        return _ref_name(recipe.vae) == _ref_name(source.vae)  # a Module names it, as Forge writes it
    if key == "Distilled CFG Scale" and "Guidance" in written:
        return True
    if key == "Schedule type":
        return "Sampler" in written and (recipe.sampler, recipe.schedule) == (source.sampler, source.schedule)
    if key == "Size":
        return "First pass size" in written
    if key in HIRES_KEYS:  # an old text's First pass size + Size already say the hires pass
        return "First pass size" in written and recipe.hires == source.hires
    return key in ("Clip skip", "Batch size") and getattr(recipe, key.lower().replace(" ", "_")) == getattr(
        source, key.lower().replace(" ", "_")
    )


def _a1111_order(written: dict[str, str], source_keys: list[str]) -> dict[str, str]:
    """The source's keys in their order; a key the source lacked goes after its A1111 predecessor."""
    canonical = ["Steps", "Sampler", "Schedule type", "CFG scale", "Distilled CFG Scale", "Shift", "Seed",
                 "Size", "Model hash", "Model",
                 "VAE hash", "VAE", "Denoising strength", "Clip skip", "Batch size", "Hires upscale",
                 "Hires resize", "Hires steps", "Hires upscaler", "Lora hashes", "TI hashes"]  # fmt: skip
    keys = [key for key in source_keys if key in written]
    for key in sorted(written, key=_is_module_key):  # modules last
        if key in keys:
            continue
        position = len(keys)
        if _is_module_key(key):
            pass  # Forge writes its modules last, after Version
        elif key in canonical:
            before = canonical[: canonical.index(key)]
            anchors = [i for i, k in enumerate(keys) if k in before]
            position = anchors[-1] + 1 if anchors else 0
        elif "Version" in keys:
            position = keys.index("Version")
        keys.insert(position, key)
    return {key: written[key] for key in keys}


def _sections(text: str) -> tuple[str, str | None, str]:
    """(prompt, negative prompt or None, parameters line) exactly as written, by A1111's line rules."""
    *lines, last = text.strip().split("\n")
    if len(_PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt: list[str] = []
    negative: list[str] | None = None
    for line in lines:
        if negative is None and line.strip().startswith(_NEGATIVE):
            negative = [line.strip()[len(_NEGATIVE) :].lstrip()]
        elif negative is not None:
            negative.append(line)
        else:
            prompt.append(line)
    return "\n".join(prompt), None if negative is None else "\n".join(negative), last
