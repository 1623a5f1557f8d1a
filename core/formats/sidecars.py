"""Read what other tools left next to a model: notes, trigger words, Civitai identity, previews.

Four tools write per-model sidecars that users care about, and a library imported from any of them should
keep that work:

- AUTOMATIC1111 user metadata ``<stem>.json`` (``description``, ``activation text``, ``preferred weight``,
  ``negative text``, ``sd version``, ``notes``) - typed by the user, so it wins over downloaded text;
- ComfyUI LoRA Manager ``<stem>.metadata.json`` (user notes and usage tips + a Civitai version payload);
- Stability Matrix ``<stem>.cm-info.json`` (``ConnectedModelInfo``: Civitai ids, names, trained words);
- Civitai Helper ``<stem>.civitai.info`` (the raw Civitai model-version JSON; empty means "not found").

Previews are ``<stem>.preview.<ext>`` (preferred as cover) and ``<stem>.<ext>``. Each sidecar is read on
its own: a malformed one becomes a line in ``errors`` and the others still count. Nothing here raises
for a missing or broken sidecar; the scanner must never fail a model because of a neighbour file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.formats.reader import MODEL_EXTENSIONS
from core.formats.sidecar_info import CivitaiRef, SidecarInfo

A1111_SUFFIX = ".json"
LORA_MANAGER_SUFFIX = ".metadata.json"
STABILITY_MATRIX_SUFFIX = ".cm-info.json"
CIVITAI_HELPER_SUFFIX = ".civitai.info"
PREVIEW_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
# Sidecars are small; a multi-megabyte "sidecar" is something else that happens to share the name.
MAX_SIDECAR_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class _Found:
    """What one sidecar says, before the sidecars are merged."""

    description: str | None = None
    notes: str | None = None
    trigger_words: tuple[str, ...] = ()
    negative_text: str | None = None
    preferred_weight: float | None = None
    sd_version: str | None = None
    base_model_label: str | None = None
    nsfw: bool | None = None
    tags: tuple[str, ...] = ()
    civitai: CivitaiRef | None = None
    previews: list[Path] = field(default_factory=list)


def sidecar_stem(model_path: Path) -> str:
    """The name sidecars are keyed by: the file name without its model extension (a folder's own name)."""
    return model_path.stem if model_path.suffix.lower() in MODEL_EXTENSIONS else model_path.name


def sidecar_names(model_path: Path) -> list[str]:
    """Every sidecar and preview file name that belongs to ``model_path``, in reading order."""
    stem = sidecar_stem(model_path)
    names = [f"{stem}{suffix}" for suffix, _ in _READERS]
    names += [f"{stem}.preview{ext}" for ext in PREVIEW_EXTENSIONS]
    names += [f"{stem}{ext}" for ext in PREVIEW_EXTENSIONS]
    return names


def read_sidecars(model_path: Path, siblings: Collection[str] | None = None) -> SidecarInfo:
    """Merge every sidecar next to ``model_path``.

    ``siblings`` (the names in the model's folder, when the caller already listed it) saves a ``stat``
    per candidate name during a scan.
    """
    folder = model_path.parent
    stem = sidecar_stem(model_path)

    def exists(name: str) -> bool:
        return name in siblings if siblings is not None else (folder / name).is_file()

    found: dict[str, _Found] = {}
    sources: list[Path] = []
    errors: list[str] = []
    for suffix, reader in _READERS:
        path = folder / f"{stem}{suffix}"
        if not exists(path.name):
            continue
        try:
            payload = _load_json(path)
        except _SidecarError as exc:
            errors.append(f"{path.name}: {exc}")
            continue
        sources.append(path)
        if payload is not None:
            found[suffix] = reader(payload)
    previews = [folder / f"{stem}.preview{ext}" for ext in PREVIEW_EXTENSIONS]
    previews += [folder / f"{stem}{ext}" for ext in PREVIEW_EXTENSIONS]
    cover_order = [path for path in previews if exists(path.name)]
    for extra in (p for f in found.values() for p in f.previews):
        if extra not in cover_order and extra.is_file():
            cover_order.append(extra)
    return _merge(found, tuple(cover_order), tuple(sources), tuple(errors))


class _SidecarError(Exception):
    """A sidecar that exists but cannot be used; the message becomes a line in ``SidecarInfo.errors``."""


def _load_json(path: Path) -> dict[str, Any] | None:
    """The sidecar's JSON object, or None for an empty file (Civitai Helper's "not on Civitai" marker)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        raise _SidecarError(f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise _SidecarError("is too large to be a sidecar")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _SidecarError("is not UTF-8 text") from None
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _SidecarError(f"is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise _SidecarError("is nested too deeply") from None
    if not isinstance(value, dict):
        raise _SidecarError(f"holds a JSON {type(value).__name__}, not an object")
    return value


def _read_a1111(data: Mapping[str, Any]) -> _Found:
    weight = _number(data.get("preferred weight"))
    return _Found(
        description=_text(data.get("description")),
        notes=_text(data.get("notes")),
        trigger_words=_split_words(data.get("activation text")),
        negative_text=_text(data.get("negative text")),
        # A1111 stores 0 for "no preference".
        preferred_weight=weight if weight else None,
        sd_version=_text(data.get("sd version")),
    )


def _read_lora_manager(data: Mapping[str, Any]) -> _Found:
    civitai = _mapping(data.get("civitai"))
    model = _mapping(civitai.get("model"))
    tips = _usage_tips(data.get("usage_tips"))
    preview = _text(data.get("preview_url"))
    preview_path = Path(preview) if preview else None
    base_model = _text(data.get("base_model")) or _text(civitai.get("baseModel"))
    return _Found(
        description=_text(data.get("modelDescription")) or _text(model.get("description")),
        notes=_text(data.get("notes")),
        trigger_words=_words(civitai.get("trainedWords")),
        preferred_weight=_number(tips.get("strength")),
        base_model_label=None if base_model in {None, "Unknown"} else base_model,
        nsfw=_flag(model.get("nsfw")),
        tags=_tags(data.get("tags")) or _tags(model.get("tags")),
        civitai=_civitai_version_ref(civitai),
        # Only a local absolute path is a preview file; LoRA Manager may also hold a URL here.
        previews=[preview_path] if preview_path and preview_path.is_absolute() else [],
    )


def _read_stability_matrix(data: Mapping[str, Any]) -> _Found:
    model_id, version_id = _integer(data.get("ModelId")), _integer(data.get("VersionId"))
    ref = None
    if model_id is not None or version_id is not None:
        ref = CivitaiRef(
            model_id=model_id,
            version_id=version_id,
            model_name=_text(data.get("ModelName")),
            version_name=_text(data.get("VersionName")),
            base_model=_text(data.get("BaseModel")),
        )
    return _Found(
        description=_text(data.get("ModelDescription")) or _text(data.get("VersionDescription")),
        trigger_words=_words(data.get("TrainedWords")),
        base_model_label=_text(data.get("BaseModel")),
        nsfw=_flag(data.get("Nsfw")),
        tags=_tags(data.get("Tags")),
        civitai=ref,
    )


def _read_civitai_helper(data: Mapping[str, Any]) -> _Found:
    model = _mapping(data.get("model"))
    return _Found(
        description=_text(model.get("description")) or _text(data.get("description")),
        trigger_words=_words(data.get("trainedWords")),
        base_model_label=_text(data.get("baseModel")),
        nsfw=_flag(model.get("nsfw")),
        tags=_tags(model.get("tags")),
        civitai=_civitai_version_ref(data),
    )


# Reading order; also the order in which ``SidecarInfo.sources`` lists them.
_READERS: tuple[tuple[str, Callable[[Mapping[str, Any]], _Found]], ...] = (
    (A1111_SUFFIX, _read_a1111),
    (CIVITAI_HELPER_SUFFIX, _read_civitai_helper),
    (STABILITY_MATRIX_SUFFIX, _read_stability_matrix),
    (LORA_MANAGER_SUFFIX, _read_lora_manager),
)
# Who wins where several sidecars say something: the user's own words first, then the tools that let the
# user edit, then the raw Civitai payload.
_TEXT_PRIORITY = (A1111_SUFFIX, LORA_MANAGER_SUFFIX, STABILITY_MATRIX_SUFFIX, CIVITAI_HELPER_SUFFIX)
_CIVITAI_PRIORITY = (CIVITAI_HELPER_SUFFIX, LORA_MANAGER_SUFFIX, STABILITY_MATRIX_SUFFIX)


def _merge(
    found: Mapping[str, _Found],
    previews: tuple[Path, ...],
    sources: tuple[Path, ...],
    errors: tuple[str, ...],
) -> SidecarInfo:
    ranked = [found[suffix] for suffix in _TEXT_PRIORITY if suffix in found]
    by_civitai = [found[suffix] for suffix in _CIVITAI_PRIORITY if suffix in found]

    def first(values: Iterable[Any]) -> Any:
        return next((value for value in values if value is not None and value != ()), None)

    tags: dict[str, str] = {}
    for item in ranked:
        for tag in item.tags:
            tags.setdefault(tag.casefold(), tag)
    return SidecarInfo(
        description=first(f.description for f in ranked),
        notes=first(f.notes for f in ranked),
        trigger_words=first(f.trigger_words for f in ranked) or (),
        negative_text=first(f.negative_text for f in ranked),
        preferred_weight=first(f.preferred_weight for f in ranked),
        sd_version=first(f.sd_version for f in ranked),
        base_model_label=first(f.base_model_label for f in ranked),
        nsfw=first(f.nsfw for f in by_civitai),
        tags=tuple(tags.values()),
        civitai=_merge_civitai([f.civitai for f in by_civitai if f.civitai is not None]),
        previews=previews,
        sources=sources,
        errors=errors,
    )


def _merge_civitai(refs: list[CivitaiRef]) -> CivitaiRef | None:
    """The highest-ranked reference, its blanks filled from others that name the same version."""
    if not refs:
        return None
    best = refs[0]
    same = [ref for ref in refs if ref.version_id == best.version_id]
    return CivitaiRef(
        model_id=next((r.model_id for r in same if r.model_id is not None), None),
        version_id=best.version_id,
        model_name=next((r.model_name for r in same if r.model_name), None),
        version_name=next((r.version_name for r in same if r.version_name), None),
        base_model=next((r.base_model for r in same if r.base_model), None),
        payload=next((r.payload for r in same if r.payload), {}),
    )


def _civitai_version_ref(payload: Mapping[str, Any]) -> CivitaiRef | None:
    """A ``CivitaiRef`` from a Civitai model-version payload (None when it names no model or version)."""
    version_id, model_id = _integer(payload.get("id")), _integer(payload.get("modelId"))
    if version_id is None and model_id is None:
        return None
    model = _mapping(payload.get("model"))
    return CivitaiRef(
        model_id=model_id,
        version_id=version_id,
        model_name=_text(model.get("name")),
        version_name=_text(payload.get("name")),
        base_model=_text(payload.get("baseModel")),
        payload=dict(payload),
    )


def _usage_tips(value: object) -> Mapping[str, Any]:
    # LoRA Manager stores usage tips as a JSON string inside the JSON; a bad one is ignored, not an error.
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        tips = json.loads(value)
    except json.JSONDecodeError:
        return {}
    return tips if isinstance(tips, dict) else {}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _split_words(value: object) -> tuple[str, ...]:
    if not isinstance(value, str):
        return ()
    return _unique(part.strip() for part in value.split(","))


def _words(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return _split_words(value)
    if not isinstance(value, list):
        return ()
    return _unique(item.strip() for item in value if isinstance(item, str))


def _tags(value: object) -> tuple[str, ...]:
    # Civitai sends tags as strings, some older payloads as {"name": ...} objects.
    if not isinstance(value, list):
        return ()
    names = (item.get("name") if isinstance(item, Mapping) else item for item in value)
    return _unique(name.strip() for name in names if isinstance(name, str))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
