"""Folder templates: ``{kind}/{architecture}/{base_label}/{creator}/{model_name}`` -> a relative path.

A template is parsed once (:func:`parse_template`, which refuses a bad one with one line naming what is
wrong) and rendered for each file from its :class:`TemplateFacts`, plain words the planner read from the
catalog. The result is a path relative to a library folder; nothing here looks at the disk.

Rules, as the ``organize --fields`` help states them:

* ``/`` (or ``\\``) separates folders. ``{field}`` is replaced by the file's value, ``{field|text}`` by
  ``text`` when the file has no value; ``{{`` and ``}}`` are literal braces.
* A part that comes out empty is left out (``{kind}/{creator}/x`` puts a file without a creator in
  ``LoRA/x``), so a template never makes ``LoRA//x`` or a folder named ``_``.
* The file keeps its name, unless the last part uses ``{file_name}`` or ``{ext}``: then that part is the
  new file name, and the file's extension is added when the part does not end with it
  (``{kind}/{model_name} {version_name}.{ext}``). A file never loses its extension; a diffusers folder
  has none.
* Each part is made a name every file system takes (Windows included): NFC Unicode; control characters
  and ``<>:"/\\|?*`` become ``_``; spaces around it and dots at either end go (a leading dot would hide
  it: scans, A1111 and ComfyUI skip hidden files and folders, so the file would drop out of the library;
  a template that writes one itself is refused); a folder named as those scans skip (``venv``,
  ``node_modules``) gets a ``_``; the reserved Windows names
  (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an extension) get a ``_``; a folder name is cut to
  255 bytes of UTF-8 and a file stem so that the stem plus its longest companion suffix fits 255 bytes
  (``<stem>.metadata.json`` must fit as well as ``<stem>.safetensors``), never inside a character.

Words are for people and match what the sites show: kinds as Civitai names its types, singular
(``Checkpoint``, ``LoRA``, ``Embedding``, ``VAE``...), architectures as ``core.taxonomy`` writes them
(``SD 1.x``, ``SDXL``, ``FLUX.1``), base-model labels as :mod:`core.sources.site_words` spells them
(``Pony Diffusion``, ``Flux.1 Dev``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType

from core.errors import UsageError
from core.layouts import is_ignored_dir
from core.organize.errors import OrganizeError
from core.taxonomy import ARCHITECTURE_NAMES, KIND_WORDS, Architecture, AssetKind, NetworkType
from core.windows_names import FORBIDDEN_CHARACTERS, is_reserved_name

MAX_NAME_BYTES = 255
# Room kept after a renamed file's stem for the companions that travel with it: ``<stem>.metadata.json``
# (14 bytes) is the longest sidecar suffix, ``<stem>.preview.jpeg`` (13) the longest preview's.
COMPANION_SUFFIX_ROOM = 16
DEFAULT_TEMPLATE = "{kind_folder}/{architecture}/{base_label}/{creator}"

NETWORK_WORDS: Mapping[NetworkType, str] = MappingProxyType(
    {
        NetworkType.LORA: "LoRA",
        NetworkType.LOCON: "LoCon",
        NetworkType.LOHA: "LoHa",
        NetworkType.LOKR: "LoKr",
        NetworkType.DORA: "DoRA",
        NetworkType.IA3: "IA3",
        NetworkType.FULL: "Full",
        NetworkType.GLORA: "GLoRA",
        NetworkType.OFT: "OFT",
    }
)
SITE_WORDS: Mapping[str, str] = MappingProxyType({"civitai": "Civitai", "huggingface": "Hugging Face"})

# name -> what it is, in the order ``--fields`` and the dialog list them.
FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "kind": "what the file is: Checkpoint, LoRA, Embedding, Hypernetwork, VAE, ControlNet, "
        "IP-Adapter, Upscaler, CLIP Vision, Text encoder, Unknown (your override when you set one)",
        "kind_folder": "where the library folder's UI looks for that kind: models/Lora in A1111 or "
        "Forge, models/loras in ComfyUI...; in a plain folder the kind's word (LoRA)",
        "architecture": "the network it was made for: SD 1.x, SD 2.x, SDXL, SDXL Refiner, SD 3, "
        "FLUX.1, FLUX.2, Other, Unknown (your override when you set one)",
        "base_label": "the base model label: yours, else Civitai's (SD 1.5, SDXL 1.0, Pony Diffusion, "
        "Illustrious, Flux.1 Dev...); empty when unknown",
        "network": "a LoRA's family: LoRA, LoCon, LoHa, LoKr, DoRA...; empty for other kinds",
        "precision": "the weights' type: fp32, fp16, bf16, fp8; empty when unknown",
        "creator": "the creator on Civitai (the author on Hugging Face); empty when not linked",
        "model_name": "the model's name on Civitai or Hugging Face, else the name you gave it, "
        "else the file name without its extension",
        "version_name": "the version's name on Civitai (v1.0...); empty when not linked",
        "file_name": "the file's current name without its extension",
        "ext": "the file's extension without the dot (safetensors, ckpt...); empty for a folder",
        "site": "Civitai or Hugging Face; empty when not linked",
        "model_id": "the model's id on the site (Civitai's number, Hugging Face's org/name)",
        "version_id": "the version's id on Civitai",
        "hash8": "the first 8 hex digits of the file's SHA256; empty until it is hashed",
        "autov2": "Civitai's AutoV2 hash (the first 10 hex digits of the SHA256)",
        "rating": "your rating, 1 to 5; empty when unrated",
        "collection": "the first of your collections the file is in",
        "tag": "the file's first tag (yours, else the site's)",
        "folder": "the folder the file is in now, relative to its library folder (keeps sub-folders)",
    }
)
_FILE_NAME_FIELDS = frozenset({"file_name", "ext"})
_MULTI_LEVEL = frozenset({"folder", "kind_folder"})  # values whose own "/" make folders
# Stands for the own separators of ``{folder}`` and ``{kind_folder}`` until a rendered part is split.
_FOLDER_BREAK = "\x00"


class TemplateError(OrganizeError, UsageError):
    """A template that cannot be used; the message names the field or character that is wrong. The
    user writes it differently: the CLI exits 2, as for any other wrong option."""


@dataclass(frozen=True, slots=True)
class TemplateFacts:
    """One file's values for a template, already in the words users read (see :data:`FIELDS`).

    ``file_name`` is the whole current name (``x.safetensors``; a diffusers folder's name); ``is_folder``
    says it is a folder, which has no extension. ``folder`` is the current folder relative to the library
    folder, ``/``-separated ("" at its top).
    """

    file_name: str
    kind: str = ""
    kind_folder: str = ""
    architecture: str = ""
    base_label: str = ""
    network: str = ""
    precision: str = ""
    creator: str = ""
    model_name: str = ""
    version_name: str = ""
    site: str = ""
    model_id: str = ""
    version_id: str = ""
    hash8: str = ""
    autov2: str = ""
    rating: str = ""
    collection: str = ""
    tag: str = ""
    folder: str = ""
    is_folder: bool = False

    @property
    def stem(self) -> str:
        return self.file_name if self.is_folder else _split_ext(self.file_name)[0]

    @property
    def ext(self) -> str:
        return "" if self.is_folder else _split_ext(self.file_name)[1]

    def value(self, field: str) -> str:
        """The raw value of ``field`` (one of :data:`FIELDS`)."""
        if field == "file_name":
            return self.stem
        if field == "ext":
            return self.ext
        if field == "model_name":
            return self.model_name or self.stem
        value = getattr(self, field)
        return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    default: str


_Token = str | _Field


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template; :meth:`render` gives one file's relative target path."""

    text: str
    folders: tuple[tuple[_Token, ...], ...]
    name: tuple[_Token, ...] | None  # the last part, when it names the file

    @property
    def fields(self) -> frozenset[str]:
        parts = (*self.folders, *((self.name,) if self.name is not None else ()))
        return frozenset(token.name for part in parts for token in part if isinstance(token, _Field))

    def render(self, facts: TemplateFacts) -> tuple[str, ...]:
        """The target's parts relative to the library folder, the file name last (never empty)."""
        parts: list[str] = []
        for tokens in self.folders:
            text = _render(tokens, facts)
            for piece in text.split(_FOLDER_BREAK) if _FOLDER_BREAK in text else (text,):
                name = _folder_name(piece)
                if name:
                    parts.append(name)
        parts.append(self._file_name(facts))
        return tuple(parts)

    def _file_name(self, facts: TemplateFacts) -> str:
        if self.name is None:
            return facts.file_name
        rendered = _render(self.name, facts).replace(_FOLDER_BREAK, "_")
        ext = facts.ext
        # The extension is the file's, always: added when the part does not end with it already.
        stem = rendered[: -len(ext) - 1] if ext and rendered.endswith("." + ext) else rendered
        suffix = ext
        name = sanitize_name(stem, suffix=suffix)
        return name or facts.file_name


def parse_template(text: str) -> Template:
    """The template ``text`` means; raises :class:`TemplateError` with one line saying what is wrong."""
    stripped = text.strip()
    if not stripped:
        raise TemplateError("the template is empty: give one such as " + DEFAULT_TEMPLATE)
    if stripped.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", stripped):
        raise TemplateError(
            f"the template {stripped!r} is an absolute path: it is relative to the library folder "
            "(use --root to choose the folder)"
        )
    parts: list[list[_Token]] = [[]]
    literal: list[str] = []

    def flush() -> None:
        if literal:
            parts[-1].append("".join(literal))
            literal.clear()

    index = 0
    while index < len(stripped):
        char = stripped[index]
        if char in "{}" and stripped[index + 1 : index + 2] == char:
            literal.append(char)
            index += 2
            continue
        if char == "}":
            raise TemplateError(f"the template has a '}}' without its '{{' at character {index + 1}")
        if char in "/\\":
            flush()
            parts.append([])
            index += 1
            continue
        if char != "{":
            literal.append(char)
            index += 1
            continue
        end = stripped.find("}", index)
        if end < 0:
            raise TemplateError(f"the template has a '{{' without its '}}' at character {index + 1}")
        flush()
        parts[-1].append(_parse_field(stripped[index + 1 : end]))
        index = end + 1
    flush()
    tokens = [tuple(part) for part in parts if part]
    for part in tokens:
        if all(isinstance(token, str) for token in part) and "".join(map(str, part)).strip() in (".", ".."):
            raise TemplateError(
                "the template may not use '.' or '..' as a folder: it stays in the library folder"
            )
        if isinstance(part[0], str) and part[0].strip().startswith("."):
            raise TemplateError(
                f"the template's part {part[0].strip()!r} starts with '.': scans (and A1111 and ComfyUI) "
                "skip hidden files and folders, so the files would leave the library"
            )
    last = tokens[-1] if tokens else ()
    names_file = any(isinstance(t, _Field) and t.name in _FILE_NAME_FIELDS for t in last)
    folders = tuple(tokens[:-1] if names_file else tokens)
    for part in folders:
        if any(isinstance(t, _Field) and t.name == "ext" for t in part):
            raise TemplateError("{ext} belongs in the last part, the file's name (e.g. {model_name}.{ext})")
    return Template(stripped, folders, tuple(last) if names_file else None)


def _parse_field(body: str) -> _Field:
    name, bar, default = body.partition("|")
    name = name.strip()
    if not name:
        raise TemplateError("the template has an empty field '{}': name one, e.g. {kind}")
    if name not in FIELDS:
        close = [known for known in FIELDS if known.startswith(name[:3].lower())]
        hint = f" (did you mean {{{close[0]}}}?)" if close else ""
        raise TemplateError(
            f"unknown field {{{name}}} in the template{hint}; the fields are: {', '.join(FIELDS)}"
        )
    if bar and ("/" in default or "\\" in default):
        raise TemplateError(f"the default of {{{name}}} may not contain a folder separator")
    return _Field(name, default.strip() if bar else "")


def _render(tokens: tuple[_Token, ...], facts: TemplateFacts) -> str:
    pieces: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            pieces.append(token)
        else:
            name = token.name
            pieces.append(_field_text(name in _MULTI_LEVEL, _VALUES[name](facts), token.default))
    return "".join(pieces)


# How each field's raw value is read (TemplateFacts.value, as one lookup instead of a chain of tests).
_VALUES: dict[str, Callable[[TemplateFacts], str]] = {
    **{name: attrgetter(name) for name in FIELDS},
    "file_name": attrgetter("stem"),
    "ext": attrgetter("ext"),
    "model_name": lambda facts: facts.model_name or facts.stem,
}


@lru_cache(maxsize=65536)  # kinds, architectures, creators... repeat across thousands of files
def _field_text(multi_level: bool, value: str, default: str) -> str:
    """A field's text in a part: a value never adds a folder (its separators and control characters
    become ``_``), except ``{folder}``'s and ``{kind_folder}``'s own; empty: the default."""
    value = value.strip()
    if multi_level:
        value = _FOLDER_BREAK.join(FORBIDDEN_CHARACTERS.sub("_", part) for part in value.split("/"))
    else:
        value = FORBIDDEN_CHARACTERS.sub("_", value)
    return value if value.strip(" .") else default


def sanitize_name(text: str, *, suffix: str = "") -> str:
    """``text`` as one file or folder name every file system takes ("" when nothing is left).

    With ``suffix`` (an extension without its dot) the name is a file's: the stem is cut so that it
    keeps its companions' room (:data:`COMPANION_SUFFIX_ROOM`) and the suffix is kept whole.
    """
    return _sanitized(text, suffix)


@lru_cache(maxsize=65536)
def _folder_name(text: str) -> str:
    """``text`` as a folder name a scan enters: sanitized, and ``_`` added to a name scans skip
    (``venv``, ``node_modules``: environments and caches), as to a Windows device name."""
    name = _sanitized(text, "")
    return f"{name}_" if name and is_ignored_dir(Path(name)) else name


@lru_cache(maxsize=65536)  # a plan over 10,000 files makes the same few folder names again and again
def _sanitized(text: str, suffix: str) -> str:
    name = FORBIDDEN_CHARACTERS.sub("_", unicodedata.normalize("NFC", text)).strip().strip(". ")
    if suffix:
        suffix = FORBIDDEN_CHARACTERS.sub("_", unicodedata.normalize("NFC", suffix)).strip(". ")
    if not name:
        return ""
    if is_reserved_name(name):
        first, dot, rest = name.partition(".")
        name = f"{first.rstrip()}_{dot}{rest}"
    tail = f".{suffix}" if suffix else ""
    limit = MAX_NAME_BYTES - max(len(tail.encode()), COMPANION_SUFFIX_ROOM) if suffix else MAX_NAME_BYTES
    name = _cut_to_bytes(name, limit).rstrip(". ")
    return f"{name}{tail}" if name else ""


def _cut_to_bytes(text: str, limit: int) -> str:
    """``text`` cut at a character boundary to at most ``limit`` bytes on disk. A name read from a disk
    that is not UTF-8 holds its undecodable bytes as lone surrogates (``surrogateescape``), one byte each:
    they are counted and kept as the bytes they stand for."""
    encoded = text.encode("utf-8", "surrogateescape")
    if len(encoded) <= limit:
        return text
    size, end = 0, 0
    for end, character in enumerate(text):  # noqa: B007 - end is read after the loop
        size += len(character.encode("utf-8", "surrogateescape"))
        if size > limit:
            break
    cut = text[:end]
    # A combining mark left without the rest of its cluster reads as damage: drop trailing marks.
    while cut and unicodedata.combining(cut[-1]):
        cut = cut[:-1]
    return unicodedata.normalize("NFC", cut)


def _split_ext(file_name: str) -> tuple[str, str]:
    stem, dot, ext = file_name.rpartition(".")
    if not dot or not stem:
        return file_name, ""
    return stem, ext


def kind_word(kind: AssetKind) -> str:
    return KIND_WORDS[kind]


def architecture_word(architecture: Architecture) -> str:
    return ARCHITECTURE_NAMES[architecture]


def network_word(network: NetworkType | None) -> str:
    return NETWORK_WORDS[network] if network is not None else ""


def site_word(site: str | None) -> str:
    return SITE_WORDS.get(site, site) if site else ""


def fields_help() -> str:
    """The fields, one per line, for ``organize --fields`` and the dialog's help."""
    width = max(len(name) for name in FIELDS) + 2
    lines = [f"  {{{name}}}".ljust(width + 4) + text for name, text in FIELDS.items()]
    return "\n".join(lines)
