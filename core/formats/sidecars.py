"""Read what other tools left next to a model: notes, trigger words, Civitai identity, previews.

Four tools write per-model sidecars that users care about, and a library imported from any of them should
keep that work:

- AUTOMATIC1111 user metadata ``<stem>.json`` (``description``, ``activation text``, ``preferred weight``,
  ``negative text``, ``sd version``, ``notes``) - typed by the user, so it wins over downloaded text;
- ComfyUI LoRA Manager ``<stem>.metadata.json`` (user notes and usage tips + a Civitai version payload);
- Stability Matrix ``<stem>.cm-info.json`` (``ConnectedModelInfo``: Civitai ids, names, trained words);
- Civitai Helper ``<stem>.civitai.info`` (the raw Civitai model-version JSON; empty means "not found").

What the tools copied from Civitai (ids, names, creator, description, trained words, tags, example images)
becomes one :class:`~core.sources.civitai_facts.CivitaiFacts`, the record a Civitai lookup makes too; only
A1111's fields (and LoRA Manager's notes) are the user's own words.

Previews are ``<stem>.preview.<ext>`` (preferred as cover) and ``<stem>.<ext>``; each one's header is read
(never its pixels), and one that is no image, or claims more pixels than Pillow allows, is an error line
and no cover. Each sidecar is read on its own: a malformed one becomes a line in ``errors`` and the others
still count. Nothing here raises
for a missing or broken sidecar; the scanner must never fail a model because of a neighbour file. Sidecars
are strangers' files: they are opened only when they are regular files (a named pipe called
``x.civitai.info`` would block a plain ``open`` forever), read up to a size cap, parsed by the strict JSON
loader, and a record holding a number no database column can store is refused with the sidecar named.
"""

from __future__ import annotations

import math
import os
import re
import struct
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.formats.model_file import UnreadableFileError
from core.formats.reader import MODEL_EXTENSIONS
from core.formats.safe_open import open_regular, read_regular
from core.formats.sidecar_info import SidecarInfo
from core.formats.strict_json import JsonRefusedError, load_json, unstorable_number
from core.sources.civitai_facts import (
    CivitaiFacts,
    facts_from_connected_info,
    facts_from_version,
    tag_names,
    words,
)

A1111_SUFFIX = ".json"
LORA_MANAGER_SUFFIX = ".metadata.json"
STABILITY_MATRIX_SUFFIX = ".cm-info.json"
CIVITAI_HELPER_SUFFIX = ".civitai.info"
PREVIEW_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
# Sidecars are small; a multi-megabyte "sidecar" is something else that happens to share the name.
MAX_SIDECAR_BYTES = 16 * 1024 * 1024
# Pillow's DecompressionBombError names the pixel count it refused: "Image size (400000000 pixels) ...".
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


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
    civitai: CivitaiFacts | None = None
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
        # lexists: a named pipe or a broken link with a sidecar's name is reported, not silently skipped.
        return name in siblings if siblings is not None else os.path.lexists(folder / name)

    found: dict[str, _Found] = {}
    sources: list[Path] = []
    errors: list[str] = []
    for suffix, reader in _READERS:
        path = folder / f"{stem}{suffix}"
        if not exists(path.name):
            continue
        try:
            payload = _load_json(path)
            if payload is not None:
                found[suffix] = _read_payload(reader, payload)
        except _SidecarError as exc:
            errors.append(f"{path.name}: {exc}")
            continue
        sources.append(path)
    previews = [folder / f"{stem}.preview{ext}" for ext in PREVIEW_EXTENSIONS]
    previews += [folder / f"{stem}{ext}" for ext in PREVIEW_EXTENSIONS]
    cover_order: list[Path] = []
    for preview in previews:
        if exists(preview.name):
            problem = _unusable_preview(preview)
            if problem is None:
                cover_order.append(preview)
            else:
                errors.append(f"{preview.name}: {problem}")
    for extra in (p for f in found.values() for p in f.previews):
        if extra not in cover_order and _unusable_preview(extra) is None:
            cover_order.append(extra)
    return _merge(found, tuple(cover_order), tuple(sources), tuple(errors))


class _SidecarError(Exception):
    """A sidecar that exists but cannot be used; the message becomes a line in ``SidecarInfo.errors``."""


def _load_json(path: Path) -> dict[str, Any] | None:
    """The sidecar's JSON object, or None for an empty file (Civitai Helper's "not on Civitai" marker)."""
    try:
        raw = read_regular(path, MAX_SIDECAR_BYTES)
    except UnreadableFileError as exc:  # a named pipe, a device, a broken link, no permission
        raise _SidecarError(exc.reason) from None
    except ValueError:
        raise _SidecarError(
            f"is larger than {MAX_SIDECAR_BYTES // (1024 * 1024)} MiB: too large to be a sidecar"
        ) from None
    except OSError as exc:
        raise _SidecarError(f"cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _SidecarError("is not UTF-8 text") from None
    if not text.strip():
        return None
    try:
        value = load_json(text)
    except JsonRefusedError as exc:
        raise _SidecarError(exc.reason) from None
    if not isinstance(value, dict):
        raise _SidecarError(f"holds a JSON {type(value).__name__}, not an object")
    return value


def _read_payload(reader: Callable[[Mapping[str, Any]], _Found], payload: Mapping[str, Any]) -> _Found:
    """What the sidecar says, refused when a value it carries could not be stored (an id of 40 digits)."""
    try:
        found = reader(payload)
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. int() of a 5,000-digit string
        raise _SidecarError(f"holds a value that cannot be read ({exc})"[:200]) from None
    problem = unstorable_number(found)
    if problem is not None:
        raise _SidecarError(f"holds a value that cannot be stored: {problem}")
    return found


def _unusable_preview(path: Path) -> str | None:
    """Why a preview cannot be shown (a named pipe, a broken link, no image, a decompression bomb), or None.

    Cheap: Pillow's ``Image.open`` reads the header only, never the pixels. Its own limit refuses an image
    over twice ``MAX_IMAGE_PIXELS`` there (a few KiB can claim 65535 x 65535); one between once and twice is
    refused here, so a cover never makes the thumbnailer or the window decode gigapixels.
    """
    from PIL import Image, UnidentifiedImageError  # only when a folder has previews: keeps imports light

    try:
        with open_regular(path) as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, with its size
            with Image.open(fh) as image:
                width, height = image.size
    except FileNotFoundError:
        return "vanished while it was read"
    except UnreadableFileError as exc:
        return exc.reason
    except Image.DecompressionBombError as exc:
        pixels = _BOMB_PIXELS.search(str(exc))
        claimed = f"{int(pixels.group(1)):,} pixels" if pixels else "its size"
        return f"{claimed} is more than a preview can be (Pillow's limit; a decompression bomb?); not used"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error):
        # ValueError also covers a path a sidecar wrote with a NUL byte in it.
        return "not an image Atelier can read; not used"
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        return (
            f"{width}\u00d7{height} pixels is more than a preview can be "
            "(Pillow's limit; a decompression bomb?); not used"
        )
    return None


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
    facts = facts_from_version(civitai)
    model_description = _text(model.get("description")) or _text(data.get("modelDescription"))
    if facts is not None and model_description:  # the model's description says more than the version's
        facts = replace(facts, description_html=model_description)
    return _Found(
        notes=_text(data.get("notes")),
        # Without a Civitai version the words were typed into LoRA Manager: they are the user's.
        trigger_words=words(civitai.get("trainedWords")) if facts is None else (),
        preferred_weight=_number(tips.get("strength")),
        base_model_label=None if base_model in {None, "Unknown"} else base_model,
        nsfw=_flag(model.get("nsfw")),
        tags=tag_names(data.get("tags")) or tag_names(model.get("tags")),
        civitai=facts,
        # Only a local absolute path is a preview file; LoRA Manager may also hold a URL here.
        previews=[preview_path] if preview_path and preview_path.is_absolute() else [],
    )


def _read_stability_matrix(data: Mapping[str, Any]) -> _Found:
    return _Found(
        base_model_label=_text(data.get("BaseModel")),
        nsfw=_flag(data.get("Nsfw")),
        tags=tag_names(data.get("Tags")),
        civitai=facts_from_connected_info(data),
    )


def _read_civitai_helper(data: Mapping[str, Any]) -> _Found:
    model = _mapping(data.get("model"))
    return _Found(
        base_model_label=_text(data.get("baseModel")),
        nsfw=_flag(model.get("nsfw")),
        tags=tag_names(model.get("tags")),
        civitai=facts_from_version(data),
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


def _merge_civitai(found: list[CivitaiFacts]) -> CivitaiFacts | None:
    """The highest-ranked record, its blanks filled from others that name the same version."""
    if not found:
        return None
    best = found[0]
    blanks: dict[str, Any] = {}
    for item in fields(CivitaiFacts):
        if getattr(best, item.name) not in (None, (), {}, False):
            continue
        for other in found[1:]:
            value = getattr(other, item.name)
            if other.version_id == best.version_id and value not in (None, (), {}, False):
                blanks[item.name] = value
                break
    return replace(best, **blanks) if blanks else best


def _usage_tips(value: object) -> Mapping[str, Any]:
    # LoRA Manager stores usage tips as a JSON string inside the JSON; a bad one is ignored, not an error.
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        tips = load_json(value)
    except JsonRefusedError:
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
        number = float(value)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None  # "nan" and "1e999" are not weights


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _split_words(value: object) -> tuple[str, ...]:
    return words(value) if isinstance(value, str) else ()
