"""What a model file says about itself: kohya ``ss_*`` training keys and SAI ``modelspec.*`` keys.

Safetensors headers carry a flat ``str -> str`` map. Trainers fill it very differently (kohya's
sd-scripts writes ``ss_*`` plus ``modelspec.*``; other tools write a subset or nothing), several values are
JSON encoded inside the string, and real files contain malformed JSON, ``"None"`` and empty strings. This
module turns that map into one typed summary so the rest of the program never parses it again, and never
crashes on it: a value that cannot be read is skipped and noted in ``errors``. The JSON inside values goes
through the strict loader (no ``NaN``, no integer of thousands of digits, bounded nesting), and every
number kept fits a database column, so a hostile header cannot fail the catalog write that stores it.

The summary is *evidence*, not truth: identification decides from the tensors and uses these values only
as hints and tie-breakers (a LoRA's ``ss_base_model_version`` is often wrong after merges/conversions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any

import msgspec

from core.formats.strict_json import INT64_MAX, INT64_MIN, JsonRefusedError, load_json
from core.identify.vocabulary import KOHYA_BASE_PREFIXES, KOHYA_NETWORK_MODULES, MODELSPEC_PREFIXES
from core.taxonomy import Architecture, Prediction

# How many merged training tags are kept: enough to show "what it was trained on", small enough to store.
TOP_TAGS = 30

_HASH_KEYS = ("sshs_model_hash", "sshs_legacy_hash", "modelspec.hash_sha256")

# modelspec.architecture and ss_base_model_version prefixes (sai_model_spec.py, sd-scripts), longest first
# so "-xl-v1-refiner" wins over "-xl" and "flux2" over "flux": one row per family in the vocabulary table.
_MODELSPEC_ARCHITECTURES: tuple[tuple[str, Architecture], ...] = MODELSPEC_PREFIXES
_KOHYA_BASES: tuple[tuple[str, Architecture], ...] = KOHYA_BASE_PREFIXES

_NUMBERS = re.compile(r"\d+")
# The usual kohya tag table: {"<repeats>_<folder>": {"tag": count}}.
_TAG_TABLE = msgspec.json.Decoder(dict[str, dict[str, int]])
_TAG = itemgetter(0)
_COUNT = itemgetter(1)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class EmbeddedMetadata:
    """The summarised ``__metadata__`` of one file. Every field is optional."""

    title: str | None = None
    description: str | None = None
    author: str | None = None
    license: str | None = None
    date: str | None = None
    architecture: str | None = None  # modelspec.architecture verbatim ("stable-diffusion-xl-v1-base/lora")
    implementation: str | None = None
    trigger_phrases: tuple[str, ...] = ()
    resolution: str | None = None  # "WIDTHxHEIGHT"
    thumbnail: str | None = None  # a data: URI, kept as is
    tags: tuple[str, ...] = ()  # modelspec.tags
    training_tags: tuple[tuple[str, int], ...] = ()  # merged ss_tag_frequency, most frequent first
    base_model_version: str | None = None  # ss_base_model_version
    v2: bool | None = None  # ss_v2
    sd_model_name: str | None = None  # ss_sd_model_name: the file the LoRA was trained on
    network_module: str | None = None
    network_dim: int | None = None
    network_alpha: float | None = None
    network_args: Mapping[str, Any] = field(default_factory=dict)
    output_name: str | None = None
    prediction: Prediction | None = None
    prediction_source: str | None = None  # the key that said so
    hashes: Mapping[str, str] = field(default_factory=dict)  # hints only: they describe the file as saved
    errors: tuple[str, ...] = ()

    def architecture_hint(self) -> tuple[Architecture, str] | None:
        """The family the metadata claims, with the key that says so; None when it claims nothing."""
        architecture, version, network = self.architecture, self.base_model_version, self.network_module
        if max(len(architecture or ""), len(version or ""), len(network or "")) <= _HINT_CACHED_CHARS:
            return _remembered_hint(architecture, version, self.v2, network)
        return _architecture_hint(architecture, version, self.v2, network)

    def to_json(self) -> dict[str, Any]:
        """Only the fields that are set, as JSON-able values (for ``Identification.metadata``)."""
        out: dict[str, Any] = {}
        simple = {
            "title": self.title,
            "description": self.description,
            "author": self.author,
            "license": self.license,
            "date": self.date,
            "architecture": self.architecture,
            "implementation": self.implementation,
            "resolution": self.resolution,
            "thumbnail": self.thumbnail,
            "base_model_version": self.base_model_version,
            "v2": self.v2,
            "sd_model_name": self.sd_model_name,
            "network_module": self.network_module,
            "network_dim": self.network_dim,
            "network_alpha": self.network_alpha,
            "output_name": self.output_name,
            "prediction_type": self.prediction.value if self.prediction else None,
        }
        out.update({key: value for key, value in simple.items() if value is not None})
        if self.trigger_phrases:
            out["trigger_phrases"] = list(self.trigger_phrases)
        if self.tags:
            out["tags"] = list(self.tags)
        if self.training_tags:
            out["training_tags"] = dict(self.training_tags)
        if self.network_args:
            out["network_args"] = dict(self.network_args)
        if self.hashes:
            out["hashes"] = dict(self.hashes)
        if self.errors:
            out["metadata_errors"] = list(self.errors)
        return out


def _architecture_hint(
    architecture: str | None,
    base_model_version: str | None,
    v2: bool | None,
    network_module: str | None = None,
) -> tuple[Architecture, str] | None:
    """``EmbeddedMetadata.architecture_hint``; :func:`_remembered_hint` remembers it for short values."""
    if architecture:
        lowered = architecture.lower()
        for prefix, arch in _MODELSPEC_ARCHITECTURES:
            if lowered.startswith(prefix):
                return arch, f"modelspec.architecture={architecture}"
    if base_model_version:
        lowered = base_model_version.lower()
        for prefix, arch in _KOHYA_BASES:
            if lowered.startswith(prefix):
                return arch, f"ss_base_model_version={base_model_version}"
    # A family's own sd-scripts network (``networks.lora_flux``) says which training script wrote the file.
    by_network = KOHYA_NETWORK_MODULES.get(network_module or "")
    if by_network is not None:
        return by_network, f"ss_network_module={network_module}"
    if v2 is True:
        return Architecture.SD2, "ss_v2=True"
    return None


# A library's files repeat a few of these values thousands of times, and each answer tries dozens of
# prefixes: answers are remembered, for values of ordinary length (a hostile file's megabyte-long "version"
# is answered, not kept).
_HINT_CACHED_CHARS = 200
_remembered_hint = lru_cache(maxsize=256)(_architecture_hint)


def read_embedded_metadata(metadata: Mapping[str, str]) -> EmbeddedMetadata:
    """Summarise a safetensors ``__metadata__`` map; never raises on malformed values."""
    if not metadata:
        return EmbeddedMetadata()
    errors: list[str] = []
    text = _texts(metadata).get
    network_args = _json_object(metadata, "ss_network_args", errors)
    prediction = _prediction(text("modelspec.prediction_type"), text("ss_v_parameterization"))
    return EmbeddedMetadata(
        title=text("modelspec.title") or text("ss_output_name"),
        description=text("modelspec.description"),
        author=text("modelspec.author"),
        license=text("modelspec.license"),
        date=text("modelspec.date"),
        architecture=text("modelspec.architecture"),
        implementation=text("modelspec.implementation"),
        trigger_phrases=_split_list(text("modelspec.trigger_phrase")),
        resolution=_resolution(text("modelspec.resolution") or text("ss_resolution")),
        thumbnail=text("modelspec.thumbnail"),
        tags=_split_list(text("modelspec.tags")),
        training_tags=_training_tags(metadata, errors),
        base_model_version=text("ss_base_model_version"),
        v2=_bool(text("ss_v2")),
        sd_model_name=text("ss_sd_model_name"),
        network_module=text("ss_network_module"),
        network_dim=_int(text("ss_network_dim")),
        network_alpha=_float(text("ss_network_alpha")),
        network_args=network_args or {},
        output_name=text("ss_output_name"),
        prediction=prediction[0] if prediction else None,
        prediction_source=prediction[1] if prediction else None,
        hashes={key: value for key in _HASH_KEYS if (value := text(key))},
        errors=tuple(errors),
    )


# Every key read as text above: only those a file has are cleaned (a handful), not all of them per file.
_TEXT_KEYS = frozenset(
    {
        "modelspec.prediction_type",
        "ss_v_parameterization",
        "modelspec.title",
        "ss_output_name",
        "modelspec.description",
        "modelspec.author",
        "modelspec.license",
        "modelspec.date",
        "modelspec.architecture",
        "modelspec.implementation",
        "modelspec.trigger_phrase",
        "modelspec.resolution",
        "ss_resolution",
        "modelspec.thumbnail",
        "modelspec.tags",
        "ss_base_model_version",
        "ss_v2",
        "ss_sd_model_name",
        "ss_network_module",
        "ss_network_dim",
        "ss_network_alpha",
        *_HASH_KEYS,
    }
)


def _texts(metadata: Mapping[str, str]) -> dict[str, str]:
    """The :data:`_TEXT_KEYS` the file has, read by :func:`_text`; absent ones and "nothing" left out."""
    return {key: value for key in metadata.keys() & _TEXT_KEYS if (value := _text(metadata[key])) is not None}


def _text(value: object) -> str | None:
    """A string value with the placeholders trainers write for "nothing" ("", "None", "null") removed."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or value in ("None", "null", "none"):
        return None
    # Not text UTF-8 can store; each lone half becomes U+FFFD. ASCII (nearly every value) has none,
    # and isascii() answers at memory speed where the pattern scans character by character.
    if not value.isascii() and _SURROGATE.search(value):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part for part in (piece.strip() for piece in value.split(",")) if part)


def _resolution(value: str | None) -> str | None:
    # modelspec writes "1024x1024", kohya writes "(1024, 1024)" or "1024,1024"; one number means square.
    if not value:
        return None
    numbers = _NUMBERS.findall(value)
    if len(numbers) == 1:
        return f"{numbers[0]}x{numbers[0]}"
    if len(numbers) >= 2:
        return f"{numbers[0]}x{numbers[1]}"
    return None


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def _int(value: str | None) -> int | None:
    number = _float(value)
    if number is None or not number.is_integer() or not INT64_MIN <= number <= INT64_MAX:
        return None
    return int(number)


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    if len(value) > 64:  # no trainer writes a number this long; float() of megabytes of digits is slow
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # NaN / inf are not JSON


def _prediction(prediction_type: str | None, v_parameterization: str | None) -> tuple[Prediction, str] | None:
    if prediction_type:
        lowered = prediction_type.lower()
        if lowered in ("v", "v_prediction", "v-prediction", "vpred", "v_pred"):
            return Prediction.V, "modelspec.prediction_type"
        if lowered in ("epsilon", "eps"):
            return Prediction.EPS, "modelspec.prediction_type"
    if _bool(v_parameterization) is True:
        return Prediction.V, "ss_v_parameterization"
    return None


def _json_object(metadata: Mapping[str, str], key: str, errors: list[str]) -> dict[str, Any] | None:
    raw = metadata.get(key)
    if not isinstance(raw, str) or not raw.strip() or raw.strip() in ("None", "null"):
        return None
    try:
        value = load_json(raw)
    except JsonRefusedError as exc:
        errors.append(f"{key} {exc.reason}")
        return None
    if not isinstance(value, dict):
        errors.append(f"{key} is not a JSON object")
        return None
    return value


def _training_tags(metadata: Mapping[str, str], errors: list[str]) -> tuple[tuple[str, int], ...]:
    # ss_tag_frequency = {"<repeats>_<folder>": {"tag": count, ...}, ...}; folders are merged.
    quick = _one_folder_of_counts(metadata.get("ss_tag_frequency"))
    return quick if quick is not None else _merged_training_tags(metadata, errors)


def _merged_training_tags(metadata: Mapping[str, str], errors: list[str]) -> tuple[tuple[str, int], ...]:
    """Any tag table, read by the strict JSON loader: folders merged, odd counts skipped, errors said."""
    frequency = _json_object(metadata, "ss_tag_frequency", errors)
    if not frequency:
        return ()
    merged: dict[str, int] = {}
    for folder in frequency.values():
        if not isinstance(folder, dict):
            continue
        for tag, count in folder.items():
            number = _count(count)
            name = str(tag).strip()
            if name and number is not None:
                merged[name] = min(merged.get(name, 0) + number, INT64_MAX)
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ranked[:TOP_TAGS])


def _one_folder_of_counts(raw: object) -> tuple[tuple[str, int], ...] | None:
    """The training tags of the usual table, one folder of plain counts, decoded in C; None for any other.

    A LoRA's table can hold thousands of tags, and reading it tag by tag in Python cost as much as
    identifying the file. Only a table the general path would read to the same tags is taken: no
    surrogate escape (a lone one is refused there), one folder, every count an integer from 0 to
    2**63 - 1, every tag non-empty and without surrounding whitespace. Anything else returns None and
    takes the general path,
    which also says what is wrong with a broken table.
    """
    if not isinstance(raw, str) or ("\\u" in raw and _SURROGATE_ESCAPE.search(raw) is not None):
        return None
    try:
        frequency = _TAG_TABLE.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(frequency) != 1:
        return None
    (folder,) = frequency.values()
    if not folder:
        return ()
    tags = list(folder)
    if "" in tags or list(map(str.strip, tags)) != tags:
        return None
    counts = folder.values()
    if min(counts) < 0 or max(counts) > INT64_MAX:
        return None
    # Highest count first, ties by name: two stable sorts on C-level keys.
    ranked = sorted(sorted(folder.items(), key=_TAG), key=_COUNT, reverse=True)
    return tuple(ranked[:TOP_TAGS])


def _count(value: object) -> int | None:
    """A tag count as kohya writes it (an integer, sometimes a numeric string); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value) if abs(value) <= INT64_MAX else -1
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= INT64_MAX else None
