"""What Civitai says about one local file, whoever fetched it: a lookup by hash, or another tool's sidecar.

A by-hash lookup answers a model-version payload (plus, from a second request, the model for its tags,
creator and description); Civitai Helper's ``.civitai.info`` is that same payload, often with the model's
``creator``, ``description`` and ``tags`` copied in; LoRA Manager keeps it under ``civitai``; Stability
Matrix's ``.cm-info.json`` has its own flat names. Each becomes one :class:`CivitaiFacts`, which the catalog
stores the same way whatever the source, so the window, the search and ``show`` never care where a fact
came from.

Civitai's facts are kept apart from the user's own: its trigger words are not the user's trigger words,
its description is not the user's notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.sources.civitai_records import CivitaiImage, CivitaiModel, integer_or_none, parse_image

CIVITAI_WEB = "https://civitai.com"


@dataclass(frozen=True, slots=True)
class CivitaiFacts:
    """Civitai's page for one file: names, creator, label, description, tags, trigger words, examples.

    ``description_html`` is Civitai's HTML as written (the model's description, else the version's);
    renderings to text are made where it is shown. ``examples`` are the version's sample images with
    their generation parameters. ``payload`` keeps the raw answer for re-parsing later.
    """

    model_id: int | None
    version_id: int | None
    file_id: int | None = None
    model_name: str | None = None
    version_name: str | None = None
    model_type: str | None = None
    creator: str | None = None
    base_model: str | None = None
    description_html: str | None = None
    tags: tuple[str, ...] = ()
    trigger_words: tuple[str, ...] = ()
    nsfw: bool = False
    nsfw_level: int | None = None
    examples: tuple[CivitaiImage, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def page_url(self, web: str = CIVITAI_WEB) -> str | None:
        """The model page, opened on this version (``https://civitai.com/models/58390?modelVersionId=62833``)."""
        return page_url(self.model_id, self.version_id, web)


def page_url(model_id: int | str | None, version_id: int | str | None, web: str = CIVITAI_WEB) -> str | None:
    """Civitai's web page of a model (and version); None without a model id."""
    if model_id is None or str(model_id) == "":
        return None
    url = f"{web.rstrip('/')}/models/{model_id}"
    return f"{url}?modelVersionId={version_id}" if version_id is not None and str(version_id) else url


def facts_from_version(
    payload: Mapping[str, Any], model: CivitaiModel | None = None, *, sha256: str | None = None
) -> CivitaiFacts | None:
    """Facts from a model-version payload (by-hash answer, ``.civitai.info``, LoRA Manager's ``civitai``).

    ``model`` (a ``/models/{id}`` answer) adds what the version payload lacks; without it the extras that
    Civitai Helper copies in (top-level ``creator``, ``model.description``, ``model.tags``) are used.
    ``sha256`` picks the file of the version that is this file. None when the payload names no model
    and no version.
    """
    version_id, model_id = integer_or_none(payload.get("id")), integer_or_none(payload.get("modelId"))
    if version_id is None and model_id is None:
        return None
    summary = _mapping(payload.get("model"))
    creator = _mapping(payload.get("creator")) or _mapping(summary.get("creator"))
    description = (model.description_html if model else None) or _text(summary.get("description"))
    return CivitaiFacts(
        model_id=model_id if model_id is not None else (model.id if model else None),
        version_id=version_id,
        file_id=_file_id(payload, sha256),
        model_name=_text(summary.get("name")) or (model.name if model else None),
        version_name=_text(payload.get("name")),
        model_type=_text(summary.get("type")) or (model.type if model else None),
        creator=(model.creator if model else None) or _text(creator.get("username")),
        base_model=_text(payload.get("baseModel")),
        description_html=description or _text(payload.get("description")),
        tags=(model.tags if model and model.tags else tag_names(summary.get("tags"))),
        trigger_words=words(payload.get("trainedWords")),
        nsfw=(model.nsfw if model else summary.get("nsfw") is True),
        nsfw_level=integer_or_none(payload.get("nsfwLevel")) or (model.nsfw_level if model else None),
        examples=examples(payload.get("images")),
        payload=dict(payload),
    )


def facts_from_connected_info(data: Mapping[str, Any]) -> CivitaiFacts | None:
    """Facts from Stability Matrix's ``ConnectedModelInfo`` (``.cm-info.json``); it records no creator
    and no example images."""
    model_id, version_id = integer_or_none(data.get("ModelId")), integer_or_none(data.get("VersionId"))
    if model_id is None and version_id is None:
        return None
    return CivitaiFacts(
        model_id=model_id,
        version_id=version_id,
        model_name=_text(data.get("ModelName")),
        version_name=_text(data.get("VersionName")),
        model_type=_text(data.get("ModelType")),
        base_model=_text(data.get("BaseModel")),
        description_html=_text(data.get("ModelDescription")) or _text(data.get("VersionDescription")),
        tags=tag_names(data.get("Tags")),
        trigger_words=words(data.get("TrainedWords")),
        nsfw=data.get("Nsfw") is True,
    )


def examples(value: object) -> tuple[CivitaiImage, ...]:
    """The sample images of a payload's ``images`` list; entries without a URL are skipped."""
    if not isinstance(value, list):
        return ()
    parsed = (parse_image(item) for item in value if isinstance(item, Mapping))
    return tuple(image for image in parsed if image.url)


def tag_names(value: object) -> tuple[str, ...]:
    """Tags as strings; Civitai sends strings, older payloads ``{"name": ...}`` objects."""
    if not isinstance(value, list):
        return ()
    names = (item.get("name") if isinstance(item, Mapping) else item for item in value)
    return _unique(name.strip() for name in names if isinstance(name, str))


def words(value: object) -> tuple[str, ...]:
    """Trigger words from a list (or one comma-separated string), trimmed, without repeats."""
    if isinstance(value, str):
        return _unique(part.strip() for part in value.split(","))
    if not isinstance(value, list):
        return ()
    return _unique(item.strip() for item in value if isinstance(item, str))


def _file_id(payload: Mapping[str, Any], sha256: str | None) -> int | None:
    if not sha256:
        return None
    wanted = sha256.upper()
    for item in payload.get("files") or ():
        if not isinstance(item, Mapping):
            continue
        hashes = _mapping(item.get("hashes"))
        if any(str(key).upper() == "SHA256" and str(v).upper() == wanted for key, v in hashes.items()):
            return integer_or_none(item.get("id"))
    return None


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# Civitai's camelCase names of A1111 settings; settings Civitai could not map keep their A1111 names.
_A1111_NAMES = {
    "steps": "Steps",
    "sampler": "Sampler",
    "scheduler": "Schedule type",
    "cfgScale": "CFG scale",
    "seed": "Seed",
    "clipSkip": "Clip skip",
    "denoise": "Denoising strength",
}
_A1111_ORDER = ("Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model")
_NOT_SETTINGS = frozenset({"prompt", "negativePrompt", "width", "height", "comfy", "workflow"})
_LORA_TYPES = frozenset({"lora", "locon", "lycoris", "lyco", "dora"})
_SETTING_NAME = re.compile(r"^\w[\w \-/]*$")  # what A1111's infotext parser reads as a key


def example_infotext(image: CivitaiImage) -> str:
    """The example's generation parameters as A1111 ``parameters`` text (what A1111 writes into a PNG).

    Written from the author's values as they are (an unknown sampler stays as written), so a reader
    that knows more than we do loses nothing; structured extras (resource lists, ComfyUI graphs) are
    left out. Empty when the author shared nothing.
    """
    # The renderer's infotext module (and its prompt parser) loads only when an example is written out,
    # not whenever sidecars are read (a scan, ``show``).
    from core.render.infotext import quote

    meta = image.meta or {}
    pairs: dict[str, str] = {}
    for key, value in meta.items():
        if key in _NOT_SETTINGS or not _SETTING_NAME.match(key):
            continue  # Civitai's own fields, and keys its parser mangled ('"lora_name')
        if value is None or value == "" or isinstance(value, Mapping | list | bool):
            continue
        pairs[_A1111_NAMES.get(key, key)] = _setting_text(value)
    if "Size" not in pairs and image.size is None and meta.get("width") and meta.get("height"):
        pairs["Size"] = f"{_setting_text(meta['width'])}x{_setting_text(meta['height'])}"
    if "Model hash" not in pairs and image.model_hash:
        pairs["Model hash"] = image.model_hash
    loras = _lora_hashes(meta)
    if loras and "Lora hashes" not in pairs:  # lets the board find the LoRAs by hash, whatever their names
        pairs["Lora hashes"] = ", ".join(f"{name}: {value}" for name, value in loras.items())
    ordered = {key: pairs.pop(key) for key in _A1111_ORDER if key in pairs}
    ordered.update(pairs)
    lines = [image.prompt or ""]
    if image.negative:
        lines.append(f"Negative prompt: {image.negative}")
    if ordered:
        lines.append(", ".join(f"{key}: {quote(value)}" for key, value in ordered.items()))
    return "\n".join(lines).strip()


def _lora_hashes(meta: Mapping[str, Any]) -> dict[str, str]:
    """LoRA name -> short hash, from Civitai's ``hashes`` ({"lora:name": hash}) and ``resources``."""
    found: dict[str, str] = {}
    hashes = meta.get("hashes")
    if isinstance(hashes, Mapping):
        for key, value in hashes.items():
            kind, _, name = str(key).partition(":")
            if kind.lower() in _LORA_TYPES and name and isinstance(value, str) and value:
                found[_hash_list_name(name)] = value
    for resource in meta.get("resources") or ():
        if not isinstance(resource, Mapping) or str(resource.get("type", "")).lower() not in _LORA_TYPES:
            continue
        label, digest = resource.get("name"), resource.get("hash")
        if isinstance(label, str) and label and isinstance(digest, str) and digest:
            found.setdefault(_hash_list_name(label), digest)
    return found


def _hash_list_name(name: str) -> str:
    """A1111 drops ':' and ',' from names inside hash lists, which use them as separators."""
    return name.replace(":", "").replace(",", "")


def _setting_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
