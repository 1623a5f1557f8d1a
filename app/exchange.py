"""Exporting the library list and importing it on another machine: the use case both front ends call.

**Export** writes every file on disk with what identifies it (file name, kind, architecture, size, all
hashes), where it came from (Civitai model/version/file ids and names, Hugging Face repo and file) and
what the user said about it (display name, notes, tags, collections, rating, favorite, NSFW flag,
trigger words, preferred weight, base-model label). JSON carries every field losslessly; CSV carries the
same columns for a spreadsheet, lists joined with ``"; "`` (so a tag containing ``;`` only survives in
JSON). The format follows the file's extension unless given. The file is written atomically. A CSV cell
that a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is written with a leading ``'`` as OWASP recommends, and the import takes that ``'`` off again, so
the round trip is lossless.

**Import** matches each row to this library's files by SHA256, then by AutoV2 (for lists that only carry
the short hash), and merges the user data in without ever overwriting an edit made here:

* tags, collections and trigger words are *merged* (this library's first, the list's new ones after);
* display name, notes, base-model label, preferred weight and rating are filled only where this library
  has none (an empty name, no notes, unrated...);
* favorite and NSFW are set when the list sets them, never cleared;
* the user's kind / architecture override (its own columns: ``kind`` and ``architecture`` are the
  effective values) is set only where this library has none;
* the Civitai model/version and Hugging Face links are recorded only where this file has no link to that
  site yet, so ``updates`` knows the file's model without an online lookup first.

So importing twice changes nothing the second time, and a list from an older backup cannot undo today's
edits. Rows matching no file here are *missing*; those with a Civitai version id or a Hugging Face
repo + file can be downloaded through the download pipeline, and get the list's user data on arrival.
Files of this library that are not hashed yet cannot match; the plan says how many there are.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.exchange import ExchangeItem
from catalog.library import Library
from catalog.records import AssetRecord, Overrides, RemoteMatch, UserDataChanges
from core.download_names import partial_path
from core.errors import AtelierError
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.replace_file import replace_file
from core.taxonomy import Architecture, AssetKind, FileStatus
from core.wording import counted

if TYPE_CHECKING:
    from app.download_service import DownloadService
    from app.download_targets import Target

LIST_FORMAT = "atelier-library-list"
LIST_VERSION = 1
FORMATS = ("csv", "json")
CSV_SEPARATOR = "; "
MAX_LIST_BYTES = 256 * 2**20
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet runs as a formula at the start of a cell (CSV injection, OWASP)."""


class ExchangeError(AtelierError):
    """A list that cannot be written or read (wrong format, damaged file), in one line."""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One file of an exported list. Every field but ``file_name`` may be empty in a hand-made list."""

    file_name: str
    kind: str = ""
    architecture: str = ""
    format: str = ""
    size: int | None = None
    sha256: str | None = None
    autov2: str | None = None
    autov1: str | None = None
    autov3: str | None = None
    blake3: str | None = None
    crc32: str | None = None
    civitai_model_id: str | None = None
    civitai_version_id: str | None = None
    civitai_file_id: str | None = None
    civitai_model_name: str | None = None
    civitai_version_name: str | None = None
    hf_repo: str | None = None
    hf_file: str | None = None
    hf_revision: str | None = None
    display_name: str = ""
    notes: str = ""
    tags: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    rating: int = 0
    favorite: bool = False
    nsfw: bool = False
    trigger_words: tuple[str, ...] = ()
    preferred_weight: float | None = None
    base_model_label: str | None = None
    # The user's word over the file's identification (``kind`` / ``architecture`` hold the effective value).
    kind_override: str | None = None
    architecture_override: str | None = None
    path: str = ""  # where it was on the exporting machine (informational)

    @property
    def name(self) -> str:
        return self.display_name or self.civitai_model_name or self.file_name

    @property
    def download_target(self) -> str | None:
        """``civitai:VERSION[:FILE]`` or ``hf:REPO[@REV]/FILE`` when the row says where to get it."""
        if self.civitai_version_id and self.civitai_version_id.isdigit():
            file_part = f":{self.civitai_file_id}" if (self.civitai_file_id or "").isdigit() else ""
            return f"civitai:{self.civitai_version_id}{file_part}"
        if self.hf_repo and self.hf_file:
            revision = f"@{self.hf_revision}" if self.hf_revision and self.hf_revision != "main" else ""
            return f"hf:{self.hf_repo}{revision}/{self.hf_file}"
        return None


_LIST_FIELDS = tuple(f.name for f in fields(ListEntry))
_TUPLE_FIELDS = frozenset({"tags", "collections", "trigger_words"})


def entry_from_item(item: ExchangeItem) -> ListEntry:
    asset = item.asset
    hashes = asset.hashes
    civitai = next((link for link in item.links if link.site == "civitai" and link.version_id), None)
    hf = next((link for link in item.links if link.site == "huggingface" and link.model_id), None)
    return ListEntry(
        file_name=asset.file_name,
        kind=asset.kind.value,
        architecture=asset.architecture.value,
        format=asset.format.value,
        size=asset.size,
        sha256=hashes.sha256 if hashes else None,
        autov2=hashes.autov2 if hashes else None,
        autov1=hashes.autov1 if hashes else None,
        autov3=hashes.autov3 if hashes else None,
        blake3=hashes.blake3 if hashes else None,
        crc32=hashes.crc32 if hashes else None,
        civitai_model_id=civitai.model_id if civitai else None,
        civitai_version_id=civitai.version_id if civitai else None,
        civitai_file_id=civitai.file_id if civitai else None,
        civitai_model_name=civitai.model_name if civitai else None,
        civitai_version_name=civitai.version_name if civitai else None,
        hf_repo=hf.model_id if hf else None,
        hf_file=hf.file_id if hf else None,
        hf_revision=hf.version_id if hf else None,
        display_name=asset.display_name,
        notes=asset.notes,
        tags=asset.tags,
        collections=asset.collections,
        rating=asset.rating,
        favorite=asset.favorite,
        nsfw=asset.nsfw,
        trigger_words=asset.trigger_words,
        preferred_weight=asset.preferred_weight,
        base_model_label=asset.base_model_label,
        kind_override=asset.kind_override.value if asset.kind_override else None,
        architecture_override=asset.architecture_override.value if asset.architecture_override else None,
        path=asset.path,
    )


# -- export ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    format: str
    count: int

    def __str__(self) -> str:
        return f"Exported {counted(self.count, 'file')} to {self.path} ({self.format.upper()})"


def list_format(path: Path, explicit: str | None = None) -> str:
    """``csv`` or ``json``: the one asked for, else the file's extension."""
    if explicit:
        if explicit not in FORMATS:
            raise ExchangeError(f"the list format is csv or json, not {explicit!r}")
        return explicit
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ExchangeError(f"{path.name}: name the file .csv or .json, or give --format csv|json")
    return suffix


def export_library(library: Library, path: Path, fmt: str | None = None) -> ExportSummary:
    """Write the library list to ``path`` (replaced atomically if it exists)."""
    chosen = list_format(path, fmt)
    entries = [entry_from_item(item) for item in library.exchange_items()]
    text = _json_text(entries) if chosen == "json" else _csv_text(entries)
    # A CSV carries a file name that is not UTF-8 as its real bytes (surrogateescape gives them back
    # on reading); the JSON text has them as escapes already (see _json_text), so it is plain UTF-8.
    path = path.expanduser()
    if path.parent and not path.parent.is_dir():
        raise ExchangeError(f"{path.parent} is not a folder: give the list a path in an existing folder")
    part = partial_path(path, ".atelier-part")
    try:
        with open(part, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        replace_file(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return ExportSummary(path=path, format=chosen, count=len(entries))


def _json_text(entries: Sequence[ListEntry]) -> str:
    document = {
        "format": LIST_FORMAT,
        "version": LIST_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "assets": [_entry_json(entry) for entry in entries],
    }
    return _escape_lone_surrogates(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its JSON escape (``\\udcff``).

    A file name that is not UTF-8 reaches Python as lone surrogates (PEP 383). ``ensure_ascii=False``
    keeps every other name readable in the list (``"模型.safetensors"``), but leaves those surrogates
    raw, and they have no UTF-8 encoding. As escapes the document is valid UTF-8 JSON, and
    ``json.loads`` gives back exactly the same ``str``, so the path finds the file again. They can only
    stand inside a JSON string here: ``json.dumps`` writes nothing else that is not ASCII.
    """
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _entry_json(entry: ListEntry) -> dict[str, Any]:
    data = asdict(entry)
    for name in _TUPLE_FIELDS:
        data[name] = list(data[name])
    return data


def _csv_text(entries: Sequence[ListEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_LIST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        row: dict[str, Any] = {}
        for name in _LIST_FIELDS:
            value = getattr(entry, name)
            if name in _TUPLE_FIELDS:
                value = CSV_SEPARATOR.join(value)
            elif isinstance(value, bool):
                value = "yes" if value else ""
            elif value is None:
                value = ""
            row[name] = _csv_cell(value)
        writer.writerow(row)
    return buffer.getvalue()


def _csv_cell(value: object) -> object:
    """``value`` with a leading ``'`` when a spreadsheet would take it for a formula (``-0.5`` too), or
    when it already looks protected (``'=x``), so that :func:`_csv_value` gives back exactly ``value``."""
    text = str(value)
    protect = text.startswith(FORMULA_STARTS) or _csv_value(text) != text
    return "'" + text if protect else value


def _csv_value(text: str) -> str:
    """A cell as :func:`_csv_cell` wrote it, the protecting ``'`` taken off again."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


# -- reading a list -----------------------------------------------------------------------------------


def read_list(path: Path) -> list[ListEntry]:
    """The rows of an exported list (JSON or CSV, told apart by content); ExchangeError if it is not one."""
    path = path.expanduser()
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            raise ExchangeError(
                f"{path.name} is larger than any library list ({MAX_LIST_BYTES // 2**20} MiB)"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ExchangeError(f"{path} does not exist") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        if not text and raw:
            raise ExchangeError(f"{path.name} is not a text file: export a list with `atelier export`")
        return _entries_from_json(text, path.name)
    # A CSV holds a file name that is not UTF-8 as its bytes: they come back as the same surrogates.
    return _entries_from_csv(_csv_text_of(raw, path.name), path.name)


def _csv_text_of(raw: bytes, name: str) -> str:
    """The text of a CSV list, a file name's non-UTF-8 bytes kept (surrogateescape, as written).

    A file that is mostly not UTF-8 is not a list at all (a picture, an archive): refused.
    """
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    if "\x00" in text or len(_LONE_SURROGATE.findall(text[:4096])) > 64:
        raise ExchangeError(f"{name} is not a text file: export a list with `atelier export`")
    return text


def _entries_from_json(text: str, name: str) -> list[ListEntry]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExchangeError(
            f"{name} is not a library list: line {exc.lineno}: {exc.msg} (it is not valid JSON)"
        ) from None
    if not isinstance(document, dict):
        raise ExchangeError(
            f"{name} is not a library list: the JSON holds {_json_kind(document)}, "
            "not an object with the list of assets"
        )
    if document.get("format") != LIST_FORMAT:
        raise ExchangeError(f'{name} is not an Atelier library list (no "format": "{LIST_FORMAT}")')
    rows = document.get("assets")
    if not isinstance(rows, list):
        raise ExchangeError(f"{name} has no list of assets")
    return [_entry(row, f"{name}, entry {index + 1}") for index, row in enumerate(rows)]


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a true/false value" if isinstance(value, bool) else "a number"


def _entries_from_csv(text: str, name: str) -> list[ListEntry]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "file_name" not in reader.fieldnames:
        raise ExchangeError(f"{name} is not a library list: its first line names no file_name column")
    entries: list[ListEntry] = []
    for index, row in enumerate(reader):
        data: dict[str, Any] = {}
        for key, value in row.items():
            if key not in _LIST_FIELDS or value is None:
                continue
            text_value = _csv_value(value.strip())
            if key in _TUPLE_FIELDS:
                data[key] = [part.strip() for part in text_value.split(";") if part.strip()]
            elif key in {"favorite", "nsfw"}:
                data[key] = text_value.lower() in {"yes", "true", "1", "y"}
            else:
                data[key] = text_value or None
        entries.append(_entry(data, f"{name}, line {index + 2}"))
    return entries


def _entry(row: object, where: str) -> ListEntry:
    if not isinstance(row, Mapping):
        raise ExchangeError(f"{where}: expected an object with a file_name")
    file_name = row.get("file_name")
    if not isinstance(file_name, str) or not file_name.strip():
        raise ExchangeError(f"{where}: the file_name is missing")
    values: dict[str, Any] = {"file_name": file_name.strip()}
    for key in _LIST_FIELDS:
        if key == "file_name" or row.get(key) is None:
            continue
        values[key] = _typed(key, row[key], where)
    return ListEntry(**values)


def _typed(key: str, value: object, where: str) -> object:
    try:
        if key in _TUPLE_FIELDS:
            if not isinstance(value, list | tuple):
                raise ValueError
            return tuple(str(item).strip() for item in value if str(item).strip())
        if key in {"favorite", "nsfw"}:
            return bool(value)
        if key in {"rating", "size"}:
            return _whole_number(key, value)
        if key == "preferred_weight":
            weight = float(str(value))
            if not math.isfinite(weight):
                raise ValueError
            return weight
        if key in {"display_name", "notes", "kind", "architecture", "format", "path"}:
            return str(value)
        if key in _OVERRIDES:
            text = str(value).strip()
            if text and text not in _OVERRIDES[key]:
                raise ValueError
            return text or None
        text = str(value).strip()
        return (text.upper() if key in _HASH_FIELDS else text) or None
    except ValueError:
        raise ExchangeError(f"{where}: {key} must be {_EXPECTED.get(key, 'text')}, not {value!r}") from None


_OVERRIDES = {
    "kind_override": tuple(kind.value for kind in AssetKind),
    "architecture_override": tuple(arch.value for arch in Architecture),
}
"""The words an override column accepts, in the order the refusal lists them."""
_EXPECTED = {
    "tags": "a list",
    "collections": "a list",
    "trigger_words": "a list",
    "rating": "a whole number from 0 to 5",
    "size": "a whole number",
    "preferred_weight": "a number",
    **{key: "one of " + ", ".join(words) for key, words in _OVERRIDES.items()},
}
"""What each typed column holds, in the words of the message that refuses a cell."""


def _whole_number(key: str, value: object) -> int:
    """A rating or size cell as an int; ValueError for ``abc``, ``2.5``, ``true`` or a rating over 5."""
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", str(value).strip()):
        raise ValueError
    number = int(str(value))
    if number < 0 or (key == "rating" and number > 5):
        raise ValueError
    return number


_HASH_FIELDS = frozenset({"sha256", "autov2", "autov1", "autov3", "blake3", "crc32"})


# -- import -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matched:
    entry: ListEntry
    asset_ids: tuple[int, ...]
    by: str  # "sha256" | "autov2" | "name and size"


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Which rows of a list match files here, which are missing, and which of those can be downloaded.

    ``matched`` holds one entry per matching row; ``missing`` one per missing *file* (the first of the
    rows that share its SHA256), so ``rows`` (every row of the list) is what the counts are out of, and
    ``repeated`` (rows whose file an earlier row already has) is said apart: ``verbatim`` of them repeat an
    earlier row word for word (the list itself repeats), the others are copies on the other machine.
    """

    matched: tuple[Matched, ...]
    missing: tuple[ListEntry, ...]
    unhashed_here: int = 0
    rows: int = 0
    repeated: int = 0
    verbatim: int = 0

    @property
    def downloadable(self) -> tuple[ListEntry, ...]:
        return tuple(entry for entry in self.missing if entry.download_target is not None)

    def summary(self) -> str:
        rows = max(self.rows, len(self.matched) + len(self.missing))
        matched = len(self.matched)
        verb = "is" if matched == 1 else "are"
        line = f"{matched:,} of {counted(rows, 'row')} in the list {verb} in this library"
        files_here = len({asset_id for match in self.matched for asset_id in match.asset_ids})
        if files_here != matched:
            line += f" ({counted(files_here, 'file')} here)"
        if self.missing:
            line += (
                f"; {counted(len(self.missing), 'file')} missing, {len(self.downloadable):,} of them can be "
                "downloaded from Civitai or Hugging Face"
            )
        copies = self.repeated - self.verbatim
        if copies:
            line += (
                f"; {counted(copies, 'row')} {'repeats' if copies == 1 else 'repeat'} "
                "a file listed above (a copy on the other machine)"
            )
        if self.verbatim:
            line += (
                f"; {counted(self.verbatim, 'row')} {'repeats' if self.verbatim == 1 else 'repeat'} "
                "an earlier row word for word"
            )
        if self.unhashed_here:
            files = "1 file here is" if self.unhashed_here == 1 else f"{self.unhashed_here} files here are"
            line += f" ({files} not hashed yet, so could not match: hash them first)"
        return line


def plan_import(library: Library, entries: Iterable[ListEntry]) -> ImportPlan:
    """Match every row by SHA256, then AutoV2, against this library's files on disk.

    Rows that match nothing are *missing* once per SHA256: the copies and links of one file in the
    exported list are one file to download (the first row names it).

    A row that carries no hash at all (a file the other machine never hashed, such as an unsafe pickle)
    is matched by file name and size instead; a row with a hash is only ever matched by its hash.
    """
    by_sha: dict[str, list[int]] = {}
    by_v2: dict[str, list[int]] = {}
    by_name: dict[tuple[str, int], list[int]] = {}
    unhashed = 0
    for item in library.exchange_items():
        asset = item.asset
        by_name.setdefault((asset.file_name.casefold(), asset.size), []).append(asset.id)
        hashes = asset.hashes
        if hashes is None or not hashes.sha256:
            unhashed += asset.status is FileStatus.OK  # unsafe and damaged files are never hashed
            continue
        by_sha.setdefault(hashes.sha256.upper(), []).append(asset.id)
        if hashes.autov2:
            by_v2.setdefault(hashes.autov2.upper(), []).append(asset.id)
    matched: list[Matched] = []
    missing: list[ListEntry] = []
    listed_shas: set[str] = set()
    listed: set[ListEntry] = set()
    rows = repeated = verbatim = 0
    for entry in entries:
        rows += 1
        sha = (entry.sha256 or "").upper()
        v2 = (entry.autov2 or sha[:10]).upper()
        name_key = (entry.file_name.casefold(), entry.size) if entry.size is not None else None
        again = entry in listed  # the same row twice, hash or not: one file, said as a repeated row
        seen = again or (bool(sha) and sha in listed_shas)
        repeated += seen
        verbatim += again
        listed_shas.add(sha)
        listed.add(entry)
        if sha and sha in by_sha:
            matched.append(Matched(entry, tuple(by_sha[sha]), "sha256"))
        elif v2 and v2 in by_v2:
            matched.append(Matched(entry, tuple(by_v2[v2]), "autov2"))
        elif not v2 and name_key is not None and name_key in by_name:
            matched.append(Matched(entry, tuple(by_name[name_key]), "name and size"))
        elif not seen:  # copies and links of one file: one file to fetch
            missing.append(entry)
    return ImportPlan(
        matched=tuple(matched),
        missing=tuple(missing),
        unhashed_here=unhashed,
        rows=rows,
        repeated=repeated,
        verbatim=verbatim,
    )


def merged_changes(asset: AssetRecord, entry: ListEntry) -> UserDataChanges | None:
    """What the row adds to ``asset`` under the merge rules of this module; None when nothing."""
    changes = UserDataChanges(
        display_name=entry.display_name if entry.display_name and not asset.display_name else None,
        notes=entry.notes if entry.notes and not asset.notes else None,
        rating=entry.rating if entry.rating and not asset.rating else None,
        favorite=True if entry.favorite and not asset.favorite else None,
        nsfw=True if entry.nsfw and not asset.nsfw else None,
        tags=_union(asset.tags, entry.tags),
        collections=_union(asset.collections, entry.collections),
        trigger_words=_union(asset.trigger_words, entry.trigger_words),
        preferred_weight=(
            entry.preferred_weight
            if entry.preferred_weight is not None and asset.preferred_weight is None
            else None
        ),
        base_model_label=entry.base_model_label
        if entry.base_model_label and not asset.base_model_label
        else None,
    )
    return None if changes == UserDataChanges() else changes


def _union(here: Sequence[str], there: Sequence[str]) -> tuple[str, ...] | None:
    """``here`` then the words of ``there`` it lacks (case-insensitively); None when nothing is new."""
    known = {word.casefold() for word in here}
    added: list[str] = []
    for word in there:
        if word.casefold() not in known:
            known.add(word.casefold())
            added.append(word)
    return (*here, *added) if added else None


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    updated: tuple[int, ...]  # asset ids whose user data changed

    def summary(self) -> str:
        return f"{self.plan.summary()}; user data added to {counted(len(self.updated), 'file')} here"

    def __str__(self) -> str:  # what the window's status bar shows when the import job ends
        return self.summary()


def apply_import(library: Library, plan: ImportPlan) -> ImportResult:
    """Merge each matched row's user data, overrides and links into its files (every copy gets them)."""
    updated: list[int] = []
    for match in plan.matched:
        links = list_links(match.entry)
        for asset in library.get_many(match.asset_ids):
            changed = False
            changes = merged_changes(asset, match.entry)
            if changes is not None:
                library.update_user_data(asset.id, changes)
                changed = True
            overrides = merged_overrides(asset, match.entry)
            if overrides is not None:
                library.set_overrides(asset.id, overrides)
                changed = True
            changed |= _add_links(library, asset.id, links)
            if changed:
                updated.append(asset.id)
    return ImportResult(plan=plan, updated=tuple(updated))


def merged_overrides(asset: AssetRecord, entry: ListEntry) -> Overrides | None:
    """The list's kind / architecture override where this library has none and it differs from what
    the file says here; None when nothing (the user's overrides here always stay)."""
    kind = entry.kind_override if asset.kind_override is None else None
    architecture = entry.architecture_override if asset.architecture_override is None else None
    overrides = Overrides(
        kind=AssetKind(kind) if kind and kind != asset.file_kind.value else None,
        architecture=Architecture(architecture)
        if architecture and architecture != asset.file_architecture.value
        else None,
    )
    return None if overrides == Overrides() else overrides


def list_links(entry: ListEntry) -> list[RemoteMatch]:
    """The Civitai and Hugging Face links a row carries: ids and names only; a Civitai link holding no more
    is a lookup candidate (:func:`catalog.remote.lookup_candidates`), so the next lookup adds the rest."""
    links: list[RemoteMatch] = []
    model_id, version_id = entry.civitai_model_id, entry.civitai_version_id
    if (model_id or "").isdigit() or (version_id or "").isdigit():
        links.append(
            RemoteMatch(
                site="civitai",
                model_id=model_id if (model_id or "").isdigit() else None,
                version_id=version_id if (version_id or "").isdigit() else None,
                file_id=entry.civitai_file_id if (entry.civitai_file_id or "").isdigit() else None,
                model_name=entry.civitai_model_name,
                version_name=entry.civitai_version_name,
            )
        )
    if entry.hf_repo and entry.hf_file:
        links.append(
            RemoteMatch(
                site="huggingface",
                model_id=entry.hf_repo,
                version_id=entry.hf_revision,
                file_id=entry.hf_file,
            )
        )
    return links


def _add_links(library: Library, asset_id: int, links: Sequence[RemoteMatch]) -> bool:
    """Record a row's ``links`` (:func:`list_links`) to sites this file has no found link to yet; True
    when one was added. Ids alone: the next lookup brings the site's facts (``catalog.remote``)."""
    if not links:
        return False
    linked = {link.site for link in library.remote_links(asset_id) if link.found}
    added = False
    for match in links:
        if match.site not in linked:
            library.record_remote_match(asset_id, match)
            added = True
    return added


def import_list(library: Library, path: Path) -> ImportResult:
    """Read, match and merge a list in one step (what ``atelier import FILE`` does first)."""
    return apply_import(library, plan_import(library, read_list(path)))


# -- downloading what is missing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MissingDownload:
    """One missing row sent to the download pipeline: the new asset, or why it did not arrive."""

    entry: ListEntry
    target: str
    asset_id: int | None = None
    path: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedMissing:
    """A missing row queued in the download pipeline (the window runs it in its download manager)."""

    entry: ListEntry
    target: str
    download_id: int | None = None
    error: str | None = None
    already_here: bool = False


def queue_missing(
    service: DownloadService, entries: Iterable[ListEntry], *, to: Path | None = None
) -> list[QueuedMissing]:
    """Queue each downloadable row; a failure to look one up is that row's error, not the end of all.

    Each file goes where a ``download`` of it goes (the download pipeline's own rule): into the folder
    of its kind in the layout of the library folder ``to`` (default: the download folder of the
    settings, else the first library folder added); a plain folder has no kind folders."""
    from app.download_service import AlreadyInLibraryError
    from app.messages import user_message

    queued: list[QueuedMissing] = []
    for entry in entries:
        text = entry.download_target
        if text is None:
            continue
        try:
            target: Target = service.parse_target(text)
            queued.append(QueuedMissing(entry, text, service.enqueue(target, to=to).download_id))
        except AlreadyInLibraryError:
            queued.append(QueuedMissing(entry, text, already_here=True))
        except (AtelierError, OSError, ValueError) as exc:
            queued.append(QueuedMissing(entry, text, error=user_message(exc)))
    return queued


def download_missing(
    service: DownloadService,
    library: Library,
    entries: Iterable[ListEntry],
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    to: Path | None = None,
) -> list[MissingDownload]:
    """Queue, download and catalog each downloadable row, then give it the row's user data."""
    from app.messages import user_message

    results: list[MissingDownload] = []
    for item in queue_missing(service, entries, to=to):
        if item.download_id is None:
            error = "already in the library" if item.already_here else item.error
            results.append(MissingDownload(item.entry, item.target, error=error))
            continue
        try:
            finished = service.run(item.download_id, progress, cancel)
        except (AtelierError, OSError) as exc:
            results.append(MissingDownload(item.entry, item.target, error=user_message(exc)))
            continue
        asset = finished.asset
        if asset is not None:
            apply_to_downloaded(library, item.entry, asset.id)
        results.append(
            MissingDownload(
                item.entry, item.target, asset_id=asset.id if asset else None, path=str(finished.path)
            )
        )
    return results


def apply_to_downloaded(library: Library, entry: ListEntry, asset_id: int) -> None:
    """Give a file downloaded for a missing row the row's user data (the window calls it on arrival)."""
    asset = library.get(asset_id)
    if asset is not None:
        changes = merged_changes(asset, entry)
        if changes is not None:
            library.update_user_data(asset.id, changes)
        overrides = merged_overrides(asset, entry)
        if overrides is not None:
            library.set_overrides(asset.id, overrides)
