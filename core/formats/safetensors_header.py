"""Read and validate the header of a safetensors file without touching its tensor data.

A scan opens thousands of files, so this does the least work that still proves the file is sound: one
``open``, two reads (the 8-byte length and the JSON header), one parse. A file is accepted exactly when the
safetensors library would load it (``load_file`` into torch or numpy), no more and no less, and a refusal
says why in words a user can act on: a file marked OK in the library is a file the tools will actually load.

The library parses the header with Rust's ``serde_json`` and validates it in ``Metadata::validate``; the
rules matched here, each with its own reason:

- the length: 8 bytes little-endian, at most 100,000,000 (``HeaderTooLarge``), inside the file;
- the text: strict UTF-8 (no byte-order mark), JSON with only JSON whitespace around it, no ``NaN`` or
  ``Infinity``, no number beyond a double's range, no lone UTF-16 surrogate escape (``\\ud800``) in any
  string, at most 127 levels of nesting (``InvalidHeaderDeserialization``);
- the shape: an object; ``__metadata__`` at most once, ``null`` or an object of strings (a repeated key
  inside it keeps the last value); every other key a tensor whose entry is an object with ``dtype``,
  ``shape`` and ``data_offsets`` each given once (other fields are ignored) or the array
  ``[dtype, shape, data_offsets]``; a repeated tensor name keeps the last entry;
- the values: a dtype the library names; dimensions and offsets integers from 0 to 2**64 - 1 (``-0`` and
  ``2.0`` are not); the element count and bit count of a shape computed left to right without passing
  2**64 - 1 (``ValidationOverflow``: ``[2**40, 2**40, 0]`` is refused although it holds nothing); a whole
  number of bytes; ``data_offsets`` spanning exactly that many (``TensorInvalidInfo``);
- loading: ``safe_open`` accepts an empty tensor shaped ``[2**63, 0]`` or ``[0, 2**40, 2**40]``, but its torch
  and numpy loaders then fail to build it, so such a shape (a dimension past 2**63 - 1, or dimensions other
  than zero whose bytes pass it) is refused as well: OK means the file loads;
- the layout: the tensors, sorted by offsets, tile the data from 0 without gap or overlap
  (``InvalidOffset``) and end exactly at the end of the file (``MetadataIncompleteBuffer``).

Real LoRA headers list 800-3,000 tensors, so parsing dominates a scan. Sound files take a fast path:
msgspec decodes and type-checks every entry in C, and one tight loop checks sizes and the tiling of the
data section. Anything the fast path cannot vouch for falls back to the plain-Python validator, which
applies the library's rules one by one and explains exactly what is wrong.

Most LoRAs of a library share their tensor table byte for byte (same trainer, base model, module set,
rank and dtype; only ``__metadata__`` differs), and the table's verdict is a pure function of its bytes
and the data section's size: each accepted table is validated once per process and its read-only
``TensorTable`` shared (``table_cache``); a file then costs the decoding of its metadata.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import operator
import os
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from core.formats.containers import SNIFF_BYTES, text_instead_of_model
from core.formats.dtypes import SAFETENSORS_DTYPE_BITS
from core.formats.model_file import CorruptFileError, ModelHeader, TensorInfo, TensorTable
from core.formats.safe_open import open_regular
from core.formats.strict_json import U64_MAX, JsonRefusedError, load_json
from core.formats.table_cache import TableCache, TableSpan, ValidatedTable
from core.taxonomy import FileFormat

# The safetensors library refuses headers above 100,000,000 bytes (MAX_HEADER_SIZE in its tensor.rs).
MAX_HEADER_BYTES = 100_000_000
METADATA_KEY = "__metadata__"
# serde_json's recursion limit: 128 levels, of which the header object itself is one; 128 is refused.
MAX_HEADER_DEPTH = 127
_FIELDS = ("dtype", "shape", "data_offsets")
# torch and numpy hold a dimension (and numpy an array's byte size) in a signed 64-bit integer.
INT64_MAX = 2**63 - 1

# Decodes header entries straight into TensorInfo (fields type-checked in C, unknown keys refused).
_TENSORS = msgspec.json.Decoder(dict[str, TensorInfo])


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A metadata object for the fast path; a repeated key (whose dropped value serde still checks) is not."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _FastPathRefusedError
    return obj


_JSON = json.JSONDecoder(object_pairs_hook=_unique_members)
_OFFSETS = operator.attrgetter("data_offsets")
_DTYPE = operator.attrgetter("dtype")
_SHAPE = operator.attrgetter("shape")
_BEGIN = operator.itemgetter(0)
_END = operator.itemgetter(1)
_THREES = itertools.repeat(3)  # bytes -> bits is a shift left by 3
# Writers (the safetensors library, kohya, diffusers) put the metadata first, a few hand-made ones last;
# either way it is split off there. Inside a JSON string a quote is escaped, so when '"__metadata__"'
# occurs exactly once, a match of these patterns is the top-level key itself.
_METADATA_FIRST = re.compile(r'\A[ \t\n\r]*\{[ \t\n\r]*"__metadata__"[ \t\n\r]*:[ \t\n\r]*')
_METADATA_LAST = re.compile(r',[ \t\n\r]*"__metadata__"[ \t\n\r]*:[ \t\n\r]*')
_JSON_SPACE = " \t\n\r"  # JSON's whitespace; Python's \s also matches form feeds and more, serde does not
_METADATA_TOKEN = '"__metadata__"'
_METADATA_FIRST_BYTES = re.compile(_METADATA_FIRST.pattern.encode("ascii"))
# How many held table lengths a header's last bytes are tried against before it is decoded in full.
_MAX_LENGTH_TRIES = 8
# Things Python's json and msgspec read more kindly than serde_json, sent to the strict validator: a lone
# surrogate (in metadata, once decoded), a number with a minus sign (msgspec reads "-0" as 0).
_SURROGATE = re.compile("[\ud800-\udfff]")
_MINUS_NUMBER = re.compile(r"[\[,:]\s*-")
_KNOWN_DTYPES = frozenset(SAFETENSORS_DTYPE_BITS)


# Tensor tables accepted in this process (see ``table_cache``): one validation per distinct table.
_TABLES = TableCache()


def forget_validated_tables() -> None:
    """Let go of the tables this process validated: a long-lived process (the window) calls it after a
    scan it read itself, so they do not stay in its memory until the next one."""
    _TABLES.clear()


class _FastPathRefusedError(Exception):
    """The fast path cannot vouch for this header; the strict validator decides."""


def read_safetensors_header(path: Path) -> ModelHeader:
    """Return names, dtypes, shapes, absolute data offsets and ``__metadata__`` of a safetensors file.

    Raises ``CorruptFileError`` when the safetensors library would refuse the file, ``UnreadableFileError``
    for a special file or a broken link with the name, ``OSError`` when it cannot be read at all.
    """
    with open_regular(path) as fh:
        return read_open_safetensors_header(fh, path)


def read_open_safetensors_header(
    fh: BinaryIO, path: Path, head: bytes = b"", size: int | None = None
) -> ModelHeader:
    """``read_safetensors_header`` of a file already open, whose first bytes ``head`` were already read.

    The model reader sniffs every file's first bytes to learn its container; going on from the same open
    file spares a scan a second ``open`` (and its checks) for every safetensors file. ``size`` is the
    file's, when the caller has its ``fstat`` already.
    """
    if size is None:
        size = os.fstat(fh.fileno()).st_size
    if size == 0:
        raise CorruptFileError("the file is empty")
    if size < 8:
        raise CorruptFileError(
            f"the file is only {size} bytes long; a safetensors file starts with an 8-byte header length"
        )
    if len(head) < 8:
        head += fh.read(8 - len(head))
    (header_len,) = struct.unpack("<Q", head[:8])
    if not 0 < header_len <= min(MAX_HEADER_BYTES, size - 8):
        _refuse_text(fh, head)
    _check_header_length(header_len, size)
    if len(head) >= 8 + header_len:
        raw = head[8 : 8 + header_len]
    else:  # read whole from the file, not glued onto the sniffed bytes: one copy of a 400 KiB header
        fh.seek(8)
        raw = fh.read(header_len)
    if len(raw) != header_len:
        raise CorruptFileError("the file is truncated: it ends inside the header")
    data_start = 8 + header_len
    dtypes: frozenset[str] | None
    tensors: TensorTable
    known = _known_table(raw, size - data_start)
    if known is not None:
        tensors, metadata, dtypes = known
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(f"the header is not valid UTF-8 (byte {exc.start})") from None
        try:
            tensors, metadata, dtypes = _fast_validate(text, size - data_start, raw)
        except _FastPathRefusedError:
            table, metadata = _validate(_parse_json(text), size - data_start)
            tensors, dtypes = TensorTable(table), None
    return ModelHeader(
        path=path,
        format=FileFormat.SAFETENSORS,
        size=size,
        tensors=tensors,
        metadata=metadata,
        data_start=data_start,
        dtypes=dtypes,
    )


def _refuse_text(fh: BinaryIO, head: bytes) -> None:
    """A file whose 8 first bytes are no header length: said as the text it is (an HTML error page saved
    under the model's name), when it is text; else the header-length check words it."""
    if len(head) < SNIFF_BYTES:
        fh.seek(0)
        head = fh.read(SNIFF_BYTES)
    text = text_instead_of_model(head, "a safetensors file")
    if text is not None:
        raise CorruptFileError(text)


def _check_header_length(header_len: int, size: int) -> None:
    if header_len == 0:
        raise CorruptFileError("the header length is 0: this is not a safetensors file")
    if header_len > MAX_HEADER_BYTES:
        raise CorruptFileError(
            f"the header claims {header_len:,} bytes, more than the {MAX_HEADER_BYTES:,} (100 MB) the format "
            "allows: this is not a safetensors file, or it is damaged"
        )
    if 8 + header_len > size:
        raise CorruptFileError(
            f"the header claims {header_len:,} bytes but the file has only {size - 8:,} after the length: "
            "the file is truncated or is not a safetensors file"
        )


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys written more than once and the values the last one replaced.

    serde refuses some repeats (a field of a tensor entry, ``__metadata__``) and, where a repeat is
    allowed (a tensor name, a metadata key), still type-checks the replaced value before dropping it.
    """

    __slots__ = ("repeated", "replaced")
    repeated: frozenset[str]
    replaced: tuple[tuple[str, Any], ...]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) == len(pairs):
        obj.repeated = frozenset()
        obj.replaced = ()
    else:
        counts = collections.Counter(key for key, _ in pairs)
        obj.repeated = frozenset(key for key, count in counts.items() if count > 1)
        obj.replaced = tuple((key, value) for key, value in pairs if value is not obj[key])
    return obj


def _parse_json(text: str) -> _Object:
    try:
        header = load_json(text, max_depth=MAX_HEADER_DEPTH, wide_integers=True, object_pairs_hook=_object)
    except JsonRefusedError as exc:
        raise CorruptFileError(f"the header {exc.reason}") from None
    if not isinstance(header, _Object):
        raise CorruptFileError(f"the header is JSON {type(header).__name__}, not a JSON object")
    return header


def _fast_validate(
    text: str, data_size: int, raw: bytes | None = None
) -> tuple[TensorTable, dict[str, str], frozenset[str]]:
    """Accept a sound header fast, or refuse; never accepts what ``_validate`` would reject.

    Returns the tensors, the metadata and the set of dtypes (which the size check needs anyway).

    The tensor table (the header without its metadata) is validated once per distinct bytes and data size
    (``table_cache``): every later file with the same table, whatever its metadata, gets the same
    read-only result. Only the metadata is decoded per file. ``raw`` is ``text``'s UTF-8 bytes.
    """
    if raw is None:
        raw = text.encode("utf-8")
    first = _METADATA_FIRST.match(text)
    if first is not None:
        metadata, end = _metadata_value(text, first.end())
        if _METADATA_TOKEN in text[first.end() : end]:  # a second __metadata__, inside the first
            raise _FastPathRefusedError
        rest_at = end if text.isascii() else len(text[:end].encode("utf-8"))
        span = TableSpan("after-metadata", data_size, raw, rest_at, _content_end(raw))
        found = _TABLES.get(span)
        if found is None:
            rest = text[end:].lstrip(_JSON_SPACE)
            if rest.startswith(","):
                tensors_json = "{" + rest[1:]
            elif rest.startswith("}") and not rest[1:].strip(_JSON_SPACE):
                tensors_json = "{}"
            else:
                raise _FastPathRefusedError
            if _METADATA_TOKEN in tensors_json:
                raise _FastPathRefusedError
            found = _validate_table(tensors_json, data_size)
            _TABLES.put(span.key(), found)
        return found.tensors, metadata, found.dtypes
    span = TableSpan("whole", data_size, raw, 0, _content_end(raw))
    found = _TABLES.get(span)
    if found is not None:  # the same header bytes, accepted before without any metadata
        return found.tensors, {}, found.dtypes
    occurrences = text.count(_METADATA_TOKEN)
    if occurrences > 1:
        raise _FastPathRefusedError
    if occurrences == 1:  # metadata last (a few hand-made files): validated per file
        metadata, tensors_json = _split_metadata(text)
        table = _validate_table(tensors_json, data_size)
        return table.tensors, metadata, table.dtypes
    found = _validate_table(text, data_size)
    _TABLES.put(span.key(), found)
    return found.tensors, {}, found.dtypes


def _known_table(raw: bytes, data_size: int) -> tuple[TensorTable, dict[str, str], frozenset[str]] | None:
    """``_fast_validate``'s answer for a header whose table this process already accepted, found without
    decoding the table's bytes; None when it is not such a header (the caller then decodes it all).

    A table is most of a header (400 KiB of an SDXL LoRA's), and decoding it as UTF-8 only to learn
    where the metadata ends cost more than the rest of the read. So the file's last bytes are tried
    against the tables held for its data size (``TableCache.lengths``): on a hit only the metadata
    before them is decoded and parsed, and it must end exactly where the table begins, just as the
    full path would have found it. The answer is then the full path's: the table's bytes are those of
    a header that decoded and was accepted before, the metadata went through the same checks, and
    UTF-8 text followed by UTF-8 text is UTF-8 text.
    """
    end = _content_end(raw)
    whole = (
        _TABLES.get(TableSpan("whole", data_size, raw, 0, end))
        if _TABLES.lengths("whole", data_size)
        else None
    )
    if whole is not None:  # stored only for headers without any metadata token: as the full path finds
        return whole.tensors, {}, whole.dtypes
    if not _METADATA_FIRST_BYTES.match(raw):
        return None
    for length in _TABLES.lengths("after-metadata", data_size)[:_MAX_LENGTH_TRIES]:
        start = end - length
        if start <= len(_METADATA_TOKEN):
            continue
        found = _TABLES.get(TableSpan("after-metadata", data_size, raw, start, end))
        if found is None:
            continue
        try:
            prefix = raw[:start].decode("utf-8")
        except UnicodeDecodeError:
            return None
        first = _METADATA_FIRST.match(prefix)
        if first is None:
            return None
        try:
            metadata, value_end = _metadata_value(prefix, first.end())
        except _FastPathRefusedError:
            return None
        if value_end != len(prefix) or _METADATA_TOKEN in prefix[first.end() : value_end]:
            return None
        return found.tensors, metadata, found.dtypes
    return None


def _content_end(raw: bytes) -> int:
    """Where the header's JSON ends, before the spaces writers pad it with (to align the data to 8 bytes).

    The padding depends on the metadata's length, and no JSON's meaning on trailing whitespace: tables
    are keyed without it, or files sharing a table would share it only one time in eight.
    """
    tail = raw[-64:]
    stripped = tail.rstrip(b" \t\n\r")
    if stripped:
        return len(raw) - len(tail) + len(stripped)
    return len(raw.rstrip(b" \t\n\r"))


def _validate_table(tensors_json: str, data_size: int) -> ValidatedTable:
    """Accept the tensors' JSON object (no metadata in it) fast, or refuse.

    Every check is a substring count or a C-level ``map``/compare pass over all entries: no Python code
    runs per tensor. Tensors written in offset order (every safetensors writer does) skip the sort.
    """
    # msgspec keeps the last of repeated fields and reads "-0" as 0, where serde refuses both; a \u escape
    # could spell a field name differently or be a lone surrogate. Such headers go the slow way. Single
    # characters first: they are found at memchr speed (two-character needles are not), the longer test
    # or the pattern only when the character is there at all.
    if ("\\" in tensors_json and "\\u" in tensors_json) or (
        "-" in tensors_json and _MINUS_NUMBER.search(tensors_json)
    ):
        raise _FastPathRefusedError
    try:
        tensors = _TENSORS.decode(tensors_json)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Also refuses a header whose metadata sits in the middle: that entry does not decode as a tensor.
        raise _FastPathRefusedError from None
    # Each entry decoded with a name and the fields dtype and shape, and (checked below) data_offsets: at
    # least 4 keys, so 4 colons, per tensor. Exactly 4 per tensor in the whole text leaves no room for a
    # repeated tensor name, a field given twice or an extra field (``byte_size``); a colon inside a name
    # only adds to the count, whatever whitespace the writer put around it.
    if tensors_json.count(":") != 4 * len(tensors):
        raise _FastPathRefusedError
    values = tensors.values()
    try:
        flat = list(itertools.chain.from_iterable(map(_OFFSETS, values)))  # begin, end, begin, end...
    except TypeError:  # an entry without data_offsets (None)
        raise _FastPathRefusedError from None
    begins, ends = flat[::2], flat[1::2]
    kinds = set(map(_DTYPE, values))
    if not kinds <= _KNOWN_DTYPES:
        raise _FastPathRefusedError
    # Bytes (bits for sub-byte or mixed dtypes) each shape needs, against the bytes its offsets span. The
    # running product only grows unless a dimension is 0, so a need that matches its span (which lies
    # inside the file) never overflowed: the equality is the library's overflow check as well. An empty
    # tensor (a zero need matching a zero span) may still overflow on the way to 0 (serde multiplies left
    # to right): it goes the slow way.
    bits = SAFETENSORS_DTYPE_BITS[next(iter(kinds))] if len(kinds) == 1 else 0
    if bits and not bits % 8:  # one whole-byte dtype: nearly every file
        needed = list(map((bits // 8).__mul__, map(math.prod, map(_SHAPE, values))))
        spanned = list(map(operator.sub, ends, begins))
    else:
        every_bits = map(SAFETENSORS_DTYPE_BITS.__getitem__, map(_DTYPE, values))
        needed = list(map(operator.mul, map(math.prod, map(_SHAPE, values)), every_bits))
        spanned = list(map(operator.lshift, map(operator.sub, ends, begins), _THREES))
    if needed != spanned or 0 in spanned:
        raise _FastPathRefusedError
    # The spans must tile the data section exactly: each begins where the previous one ends. Every span is
    # at least one byte long here, so spans that tile in header order are also the sorted order.
    if not flat:
        if data_size != 0:
            raise _FastPathRefusedError
    elif flat[0] != 0 or flat[-1] != data_size or flat[2::2] != flat[1:-1:2]:
        ordered = sorted(zip(begins, ends, strict=True))
        if ordered[0][0] != 0 or ordered[-1][1] != data_size:
            raise _FastPathRefusedError
        if list(map(_END, ordered[:-1])) != list(map(_BEGIN, ordered[1:])):
            raise _FastPathRefusedError
    return ValidatedTable(TensorTable(tensors), frozenset(kinds))


def _split_metadata(text: str) -> tuple[dict[str, str], str]:
    """Cut the ``__metadata__`` member out of the header text: (metadata, the tensors' JSON object)."""
    first = _METADATA_FIRST.match(text)
    key = first or _METADATA_LAST.search(text)
    if key is None:
        raise _FastPathRefusedError
    value, end = _metadata_value(text, key.end())
    rest = text[end:].lstrip(_JSON_SPACE)
    if first is not None:
        if rest.startswith(","):
            return value, "{" + rest[1:]
        if rest.startswith("}") and not rest[1:].strip(_JSON_SPACE):
            return value, "{}"
        raise _FastPathRefusedError
    if rest.startswith("}") and not rest[1:].strip(_JSON_SPACE):
        return value, text[: key.start()] + "}"
    raise _FastPathRefusedError


def _metadata_value(text: str, start: int) -> tuple[dict[str, str], int]:
    """The metadata object that starts at ``start`` and where it ends, if the fast path can vouch for it."""
    try:
        value, end = _JSON.raw_decode(text, start)
    except (json.JSONDecodeError, RecursionError):
        raise _FastPathRefusedError from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _FastPathRefusedError
    # A lone surrogate escape (serde refuses it) decodes to a surrogate code point; a valid pair to one
    # character beyond the BMP. Metadata is mostly ASCII, which is checked at C speed.
    strings = "".join(itertools.chain.from_iterable(value.items()))
    if not strings.isascii() and _SURROGATE.search(strings) is not None:
        raise _FastPathRefusedError
    return value, end


def _validate(header: _Object, data_size: int) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    if METADATA_KEY in header.repeated:
        raise CorruptFileError("the header names __metadata__ twice; the safetensors library refuses that")
    metadata = _validate_metadata(header.get(METADATA_KEY))
    for name, replaced in header.replaced:  # a repeated tensor name: the dropped entry must still parse
        _validate_entry(name, replaced)
    entries: list[tuple[int, int, str, str, tuple[int, ...]]] = []
    for name, entry in header.items():
        if name == METADATA_KEY:
            continue
        dtype, shape, begin, end = _validate_entry(name, entry)
        entries.append((begin, end, name, dtype, shape))
    tensors = {
        name: TensorInfo(dtype=dtype, shape=shape, data_offsets=(begin, end))
        for begin, end, name, dtype, shape in entries
    }
    _validate_layout(entries, data_size)
    return tensors, metadata


def _validate_metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CorruptFileError(f"__metadata__ is JSON {type(value).__name__}, not an object of strings")
    replaced = value.replaced if isinstance(value, _Object) else ()
    for key, item in [*value.items(), *replaced]:
        if not isinstance(item, str):
            raise CorruptFileError(
                f"__metadata__[{key!r}] is JSON {type(item).__name__}; "
                "safetensors metadata values must be strings"
            )
    return dict(value)


def _validate_entry(name: str, entry: object) -> tuple[str, tuple[int, ...], int, int]:
    if isinstance(entry, _Object):
        twice = [field for field in _FIELDS if field in entry.repeated]
        if twice:
            raise CorruptFileError(f"tensor {name!r}: its header entry gives {twice[0]} twice")
        missing = [field for field in _FIELDS if field not in entry]
        if missing:
            raise CorruptFileError(f"tensor {name!r}: its header entry has no {missing[0]}")
        dtype, shape, offsets = (entry[field] for field in _FIELDS)
    elif isinstance(entry, list):
        # serde reads a struct written as an array too: [dtype, shape, data_offsets].
        if len(entry) != len(_FIELDS):
            raise CorruptFileError(
                f"tensor {name!r}: its header entry is a list of {len(entry)} items, "
                "not [dtype, shape, data_offsets]"
            )
        dtype, shape, offsets = entry
    else:
        raise CorruptFileError(f"tensor {name!r}: its header entry is not a JSON object")
    dtype_name = _dtype_name(dtype)
    if dtype_name is None:
        shown = dtype if isinstance(dtype, str) else json.dumps(dtype)[:40]
        raise CorruptFileError(f"tensor {name!r}: unknown dtype {shown!r}")
    if not isinstance(shape, list) or not all(_is_count(dim) for dim in shape):
        raise CorruptFileError(
            f"tensor {name!r}: shape {_shown(shape)} is not a list of non-negative 64-bit integers"
        )
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(x) for x in offsets)):
        raise CorruptFileError(
            f"tensor {name!r}: data_offsets {_shown(offsets)} is not a pair of non-negative 64-bit integers"
        )
    begin, end = offsets
    return dtype_name, tuple(shape), begin, end


def _dtype_name(dtype: object) -> str | None:
    """The dtype's name; serde also reads a unit variant written as ``{"F16": null}``."""
    if isinstance(dtype, str):
        return dtype if dtype in SAFETENSORS_DTYPE_BITS else None
    if isinstance(dtype, _Object) and len(dtype) == 1 and not dtype.repeated:
        ((key, value),) = dtype.items()
        if value is None and key in SAFETENSORS_DTYPE_BITS:
            return key
    return None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= U64_MAX


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _validate_layout(entries: list[tuple[int, int, str, str, tuple[int, ...]]], data_size: int) -> None:
    """The library's ``Metadata::validate``: in offset order, tensors tile the data and sizes fit 64 bits."""
    entries.sort(key=_SPAN)
    position = 0
    for begin, end, name, dtype, shape in entries:
        if end < begin:
            raise CorruptFileError(f"tensor {name!r}: data_offsets end {end} is before its begin {begin}")
        if begin < position:
            raise CorruptFileError(f"tensor {name!r} overlaps the tensor before it (bytes {begin}-{end})")
        if begin > position:
            raise CorruptFileError(
                f"tensor {name!r} starts at byte {begin}, leaving a gap at byte {position}"
            )
        position = end
        bits = _checked_bits(name, dtype, shape)
        if bits % 8:
            raise CorruptFileError(
                f"tensor {name!r}: {dtype} {list(shape)} does not fill a whole number of bytes"
            )
        if end - begin != bits // 8:
            raise CorruptFileError(
                f"tensor {name!r}: {dtype} {list(shape)} needs {bits // 8:,} bytes "
                f"but data_offsets span {end - begin:,}"
            )
    if position > data_size:
        raise CorruptFileError(
            f"the file is truncated: its tensors need {position:,} bytes of data "
            f"but only {data_size:,} are present"
        )
    if position < data_size:
        raise CorruptFileError(
            f"the file has {data_size - position:,} unexpected bytes after the last tensor's data"
        )


_SPAN = operator.itemgetter(0, 1)


def _checked_bits(name: str, dtype: str, shape: tuple[int, ...]) -> int:
    """Element count times bits per element, multiplied left to right as the library does, 64-bit bounded."""
    elements = 1
    for dim in shape:
        elements *= dim
        if elements > U64_MAX:
            break
    bits = elements * SAFETENSORS_DTYPE_BITS[dtype]
    if bits > U64_MAX:
        raise CorruptFileError(
            f"tensor {name!r}: the size of shape {_shown(list(shape))} overflows 64 bits; "
            "the safetensors library refuses it"
        )
    if bits == 0:
        _check_loadable_empty_shape(name, dtype, shape)
    return bits


def _check_loadable_empty_shape(name: str, dtype: str, shape: tuple[int, ...]) -> None:
    """An empty tensor's shape must still be one torch and numpy can build, or their loaders refuse the file.

    Only an empty tensor can get here with huge dimensions (any other must fit its bytes in the file).
    torch reads each dimension as a signed 64-bit integer ("Overflow when unpacking long long"); numpy also
    refuses a dimension past that ("Maximum allowed dimension exceeded") and, zeros left out, dimensions
    whose product times the item size passes it ("array is too big").
    """
    huge = next((dim for dim in shape if dim > INT64_MAX), None)
    if huge is not None:
        raise CorruptFileError(
            f"tensor {name!r}: dimension {huge:,} of shape {_shown(list(shape))} is more than 2**63 - 1; "
            "the safetensors library refuses to load it into torch or numpy"
        )
    nonzero_bits = math.prod(dim for dim in shape if dim) * SAFETENSORS_DTYPE_BITS[dtype]
    if (nonzero_bits + 7) // 8 > INT64_MAX:
        raise CorruptFileError(
            f"tensor {name!r}: shape {_shown(list(shape))} holds nothing, but its other dimensions multiply "
            "past 2**63 - 1 bytes; the safetensors library refuses to load it into numpy"
        )
