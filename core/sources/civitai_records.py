"""Typed, frozen records of Civitai API v1 answers, and the pure functions that build them from JSON.

Civitai's payloads drift: fields appear, vanish or change type between API versions and endpoints
(``allowCommercialUse`` is a string, an array or a Postgres-array string; image ``nsfwLevel`` is an int
in versions but a word in ``/images``; ``metadata`` may be null; hashes may be missing). The parsers
accept every shape seen in the wild and never fail on an unknown enum value: they only raise
``RecordError`` when a record has no usable ``id``, because then nothing downstream could refer to it.
The raw payload is kept on models and versions so nothing the API sent is ever lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Word levels of the /images endpoint, mapped onto the NsfwLevel bitmask (PG=1, PG13=2, R=4, X=8).
IMAGE_NSFW_WORDS: dict[str, int] = {"none": 1, "soft": 2, "mature": 4, "x": 8}
_SHA256_RE = re.compile(r"^[0-9A-Fa-f]{64}$")


class RecordError(ValueError):
    """A payload cannot be turned into a record (not an object, or without an id)."""


@dataclass(frozen=True, slots=True)
class CivitaiFile:
    """One downloadable file of a version.

    ``hashes`` keys are SHA256, AUTOV1, AUTOV2, AUTOV3, CRC32 and BLAKE3 (any may be absent), so a local
    file can be matched by whichever digest the catalog already has.
    """

    id: int | None
    name: str
    size_bytes: int | None
    type: str | None
    format: str | None
    fp: str | None
    size_label: str | None
    primary: bool
    hashes: dict[str, str]
    pickle_scan_result: str | None
    virus_scan_result: str | None
    download_url: str | None

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("SHA256")


@dataclass(frozen=True, slots=True)
class CivitaiImage:
    """A sample image (or video) with its generation parameters when the author shared them."""

    id: int | None
    url: str
    width: int | None
    height: int | None
    nsfw_level: int | None
    blurhash: str | None
    type: str
    meta: dict[str, Any] | None

    def _meta(self, *keys: str) -> Any:
        if not self.meta:
            return None
        for key in keys:
            value = self.meta.get(key)
            if value is not None and value != "":
                return value
        return None

    @property
    def prompt(self) -> str | None:
        value = self._meta("prompt")
        return str(value) if value is not None else None

    @property
    def negative(self) -> str | None:
        value = self._meta("negativePrompt", "negative_prompt")
        return str(value) if value is not None else None

    @property
    def seed(self) -> int | None:
        return integer_or_none(self._meta("seed"))

    @property
    def steps(self) -> int | None:
        return integer_or_none(self._meta("steps"))

    @property
    def sampler(self) -> str | None:
        value = self._meta("sampler")
        return str(value) if value is not None else None

    @property
    def cfg(self) -> float | None:
        return _float(self._meta("cfgScale", "cfg_scale"))

    @property
    def size(self) -> tuple[int, int] | None:
        """Generation size (``Size: "512x768"``), which may differ from the upscaled image size."""
        value = self._meta("Size", "size")
        if not isinstance(value, str):
            return None
        width, sep, height = value.lower().partition("x")
        size = integer_or_none(width), integer_or_none(height)
        if not sep or size[0] is None or size[1] is None:
            return None
        return size[0], size[1]

    @property
    def model_name(self) -> str | None:
        """The checkpoint the image was made with, as the author's tool named it (A1111 ``Model``)."""
        value = self._meta("Model", "model")
        return str(value) if isinstance(value, str | int) else None

    @property
    def model_hash(self) -> str | None:
        value = self._meta("Model hash", "modelHash")
        if value is None and self.meta and isinstance(self.meta.get("hashes"), Mapping):
            value = self.meta["hashes"].get("model")
        return str(value) if isinstance(value, str | int) else None

    @property
    def clip_skip(self) -> int | None:
        return integer_or_none(self._meta("Clip skip", "clipSkip"))

    @property
    def has_parameters(self) -> bool:
        """Whether the author shared how the image was made (a prompt at least)."""
        return bool(self.prompt)

    def to_json(self) -> dict[str, Any]:
        """The image in Civitai's own shape, so :func:`parse_image` reads it back unchanged."""
        data: dict[str, Any] = {"url": self.url, "type": self.type}
        for key, value in (
            ("id", self.id),
            ("width", self.width),
            ("height", self.height),
            ("nsfwLevel", self.nsfw_level),
            ("hash", self.blurhash),
            ("meta", self.meta),
        ):
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True, slots=True)
class CivitaiVersion:
    """One version of a model: what a local file is matched to, and what gets downloaded."""

    id: int
    model_id: int | None
    name: str
    base_model: str | None
    base_model_type: str | None
    trained_words: tuple[str, ...]
    description_html: str | None
    created_at: datetime | None
    published_at: datetime | None
    nsfw_level: int | None
    air: str | None
    files: tuple[CivitaiFile, ...]
    images: tuple[CivitaiImage, ...]
    download_url: str | None
    early_access_ends_at: datetime | None
    model_name: str | None
    model_type: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def primary_file(self) -> CivitaiFile | None:
        """The file Civitai serves without parameters: the flagged one, else the first ``Model`` file."""
        for file in self.files:
            if file.primary:
                return file
        return next((f for f in self.files if f.type == "Model"), self.files[0] if self.files else None)


@dataclass(frozen=True, slots=True)
class CivitaiStats:
    """Popularity counters; None where this API version does not send them (thumbs replaced favorites)."""

    downloads: int | None
    thumbs_up: int | None
    thumbs_down: int | None
    favorites: int | None
    comments: int | None
    rating: float | None
    rating_count: int | None


@dataclass(frozen=True, slots=True)
class CivitaiModel:
    """A Civitai model page: licence, tags, creator and all its versions (newest first, as sent)."""

    id: int
    name: str
    type: str
    description_html: str | None
    nsfw: bool
    nsfw_level: int | None
    tags: tuple[str, ...]
    creator: str | None
    creator_image_url: str | None
    stats: CivitaiStats
    allow_commercial_use: tuple[str, ...]
    allow_no_credit: bool | None
    allow_derivatives: bool | None
    allow_different_license: bool | None
    mode: str | None
    versions: tuple[CivitaiVersion, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CivitaiSearchPage:
    """One page of ``/models``; ``next_cursor`` is None on the last page."""

    items: tuple[CivitaiModel, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CivitaiImagePage:
    """One page of ``/images``; ``next_cursor`` is None on the last page."""

    items: tuple[CivitaiImage, ...]
    next_cursor: str | None


# --- small coercions --------------------------------------------------------------------------------


_INT64 = range(-(2**63), 2**63)
_MAX_DIGITS = 19  # 2**63 has 19 digits: a longer number is no id or count, and int() of 5,000 digits raises


def integer_or_none(value: Any) -> int | None:
    """An id or count from a payload or sidecar: an int (or an integral float or digit string) that a
    64-bit catalog column can hold; None for anything else, so one absurd value never fails a record."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit() or len(text.lstrip("-")) > _MAX_DIGITS:
            return None
        value = int(text)
    return value if isinstance(value, int) and value in _INT64 else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _require_object(data: Any, kind: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise RecordError(f"expected a {kind} object, got {type(data).__name__}")
    return data


def _require_id(data: Mapping[str, Any], kind: str) -> int:
    value = integer_or_none(data.get("id"))
    if value is None:
        raise RecordError(f"{kind} without an id")
    return value


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 (``2022-12-08T19:58:49.765Z``) to an aware UTC datetime; anything else to None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_commercial_use(value: Any) -> tuple[str, ...]:
    """``allowCommercialUse`` in its three shapes: ``"Rent"``, ``["Image","Rent"]``, ``"{Image,RentCivit}"``.

    ``"None"`` means no commercial use at all and yields an empty tuple.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            items: list[Any] = [part.strip().strip('"') for part in text[1:-1].split(",")]
        else:
            items = [text]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return ()
    return tuple(
        dict.fromkeys(item for item in items if isinstance(item, str) and item and item.lower() != "none")
    )


def normalise_hashes(value: Any) -> dict[str, str]:
    """Hash names upper-cased (``AutoV2`` -> ``AUTOV2``) and hex values upper-cased; junk dropped."""
    hashes: dict[str, str] = {}
    for key, digest in _mapping(value).items():
        if isinstance(key, str) and isinstance(digest, str) and digest.strip():
            hashes[key.strip().upper()] = digest.strip().upper()
    return hashes


def is_sha256(value: str) -> bool:
    return bool(_SHA256_RE.match(value))


def image_nsfw_level(data: Mapping[str, Any]) -> int | None:
    """The NsfwLevel bitmask of an image, whichever field and shape carries it.

    Order: ``browsingLevel`` (int, /images), ``nsfwLevel`` as int (versions) or word (/images), then the
    legacy ``nsfw`` word or bool (``True`` becomes R=4, the mildest level that is certainly not safe).
    """
    browsing = integer_or_none(data.get("browsingLevel"))
    if browsing is not None:
        return browsing
    for key in ("nsfwLevel", "nsfw"):
        value = data.get(key)
        if isinstance(value, bool):
            return 4 if value else 1
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lower() in IMAGE_NSFW_WORDS:
            return IMAGE_NSFW_WORDS[value.lower()]
    return None


# --- parsers ----------------------------------------------------------------------------------------


def parse_file(data: Any) -> CivitaiFile:
    """One ``files[]`` entry; ``size_bytes`` is ``sizeKB * 1024`` (exact: Civitai stores bytes / 1024)."""
    obj = _require_object(data, "file")
    size_kb = _float(obj.get("sizeKB"))
    metadata = _mapping(obj.get("metadata"))
    return CivitaiFile(
        id=integer_or_none(obj.get("id")),
        name=_str(obj.get("name")) or "",
        size_bytes=round(size_kb * 1024) if size_kb is not None else None,
        type=_str(obj.get("type")),
        format=_str(metadata.get("format")),
        fp=_str(metadata.get("fp")),
        size_label=_str(metadata.get("size")),
        primary=obj.get("primary") is True,
        hashes=normalise_hashes(obj.get("hashes")),
        pickle_scan_result=_str(obj.get("pickleScanResult")),
        virus_scan_result=_str(obj.get("virusScanResult")),
        download_url=_str(obj.get("downloadUrl")),
    )


def parse_image(data: Any) -> CivitaiImage:
    """An image from a version's ``images[]`` or from ``/images`` (their nsfw fields differ)."""
    obj = _require_object(data, "image")
    meta = obj.get("meta")
    return CivitaiImage(
        id=integer_or_none(obj.get("id")),
        url=_str(obj.get("url")) or "",
        width=integer_or_none(obj.get("width")),
        height=integer_or_none(obj.get("height")),
        nsfw_level=image_nsfw_level(obj),
        blurhash=_str(obj.get("hash")),
        type=_str(obj.get("type")) or "image",
        meta=dict(meta) if isinstance(meta, Mapping) and meta else None,
    )


def _parse_version(
    obj: Mapping[str, Any], model_id: int | None, model_name: str | None, model_type: str | None
) -> CivitaiVersion:
    model = _mapping(obj.get("model"))
    return CivitaiVersion(
        id=_require_id(obj, "model version"),
        model_id=integer_or_none(obj.get("modelId")) if obj.get("modelId") is not None else model_id,
        name=_str(obj.get("name")) or "",
        base_model=_str(obj.get("baseModel")),
        base_model_type=_str(obj.get("baseModelType")),
        trained_words=tuple(
            w.strip() for w in _list(obj.get("trainedWords")) if isinstance(w, str) and w.strip()
        ),
        description_html=_str(obj.get("description")),
        created_at=parse_datetime(obj.get("createdAt")),
        published_at=parse_datetime(obj.get("publishedAt")),
        nsfw_level=integer_or_none(obj.get("nsfwLevel")),
        air=_str(obj.get("air")),
        files=tuple(parse_file(f) for f in _list(obj.get("files")) if isinstance(f, Mapping)),
        images=tuple(parse_image(i) for i in _list(obj.get("images")) if isinstance(i, Mapping)),
        download_url=_str(obj.get("downloadUrl")),
        early_access_ends_at=parse_datetime(obj.get("earlyAccessEndsAt")),
        model_name=_str(model.get("name")) or model_name,
        model_type=_str(model.get("type")) or model_type,
        raw=dict(obj),
    )


def parse_version(data: Any) -> CivitaiVersion:
    """A ``/model-versions/{id}`` or by-hash answer (or a version taken out of a model)."""
    return _parse_version(_require_object(data, "model version"), None, None, None)


def _tag_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    return _str(_mapping(value).get("name"))


def parse_model(data: Any) -> CivitaiModel:
    """A ``/models/{id}`` answer or a ``/models`` item; versions inherit the model's id, name and type."""
    obj = _require_object(data, "model")
    model_id = _require_id(obj, "model")
    name = _str(obj.get("name")) or ""
    model_type = _str(obj.get("type")) or "Other"
    stats = _mapping(obj.get("stats"))
    creator = _mapping(obj.get("creator"))
    return CivitaiModel(
        id=model_id,
        name=name,
        type=model_type,
        description_html=_str(obj.get("description")),
        nsfw=obj.get("nsfw") is True,
        nsfw_level=integer_or_none(obj.get("nsfwLevel")),
        tags=tuple(dict.fromkeys(t for t in map(_tag_name, _list(obj.get("tags"))) if t)),
        creator=_str(creator.get("username")),
        creator_image_url=_str(creator.get("image")),
        stats=CivitaiStats(
            downloads=integer_or_none(stats.get("downloadCount")),
            thumbs_up=integer_or_none(stats.get("thumbsUpCount")),
            thumbs_down=integer_or_none(stats.get("thumbsDownCount")),
            favorites=integer_or_none(stats.get("favoriteCount")),
            comments=integer_or_none(stats.get("commentCount")),
            rating=_float(stats.get("rating")),
            rating_count=integer_or_none(stats.get("ratingCount")),
        ),
        allow_commercial_use=parse_commercial_use(obj.get("allowCommercialUse")),
        allow_no_credit=_bool(obj.get("allowNoCredit")),
        allow_derivatives=_bool(obj.get("allowDerivatives")),
        allow_different_license=_bool(obj.get("allowDifferentLicense")),
        mode=_str(obj.get("mode")),
        versions=tuple(
            _parse_version(v, model_id, name, model_type)
            for v in _list(obj.get("modelVersions"))
            if isinstance(v, Mapping)
        ),
        raw=dict(obj),
    )


def _next_cursor(data: Mapping[str, Any]) -> str | None:
    cursor = _mapping(data.get("metadata")).get("nextCursor")
    if cursor is None or isinstance(cursor, bool) or cursor == "":
        return None
    return str(cursor)


def _items(data: Any, kind: str) -> tuple[Mapping[str, Any], list[Any]]:
    obj = _require_object(data, kind)
    items = obj.get("items")
    if not isinstance(items, list):
        raise RecordError(f"{kind} without an items list")
    return obj, items


def parse_search_page(data: Any) -> CivitaiSearchPage:
    """A ``/models`` answer; items that are not objects or lack an id are skipped, not fatal."""
    obj, items = _items(data, "model list")
    models: list[CivitaiModel] = []
    for item in items:
        try:
            models.append(parse_model(item))
        except RecordError:
            continue
    return CivitaiSearchPage(items=tuple(models), next_cursor=_next_cursor(obj))


def parse_image_page(data: Any) -> CivitaiImagePage:
    """An ``/images`` answer."""
    obj, items = _items(data, "image list")
    images = tuple(parse_image(i) for i in items if isinstance(i, Mapping))
    return CivitaiImagePage(items=images, next_cursor=_next_cursor(obj))


def parse_tags(data: Any) -> list[str]:
    """A ``/tags`` answer: the tag names, in the order sent."""
    _obj, items = _items(data, "tag list")
    return [name for name in map(_tag_name, items) if name]


def parse_versions(data: Any) -> list[CivitaiVersion]:
    """The array answered by ``POST /model-versions/by-hash``; entries without an id are skipped."""
    if not isinstance(data, list):
        raise RecordError(f"expected a list of model versions, got {type(data).__name__}")
    versions: list[CivitaiVersion] = []
    for item in data:
        try:
            versions.append(parse_version(item))
        except RecordError:
            continue
    return versions
