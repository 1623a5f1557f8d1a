"""The one loader for JSON that strangers wrote: safetensors headers, kohya metadata, sidecars, configs.

Python's ``json`` module is made for trusted input. Given a stranger's file it returns ``NaN`` and
``Infinity`` (which SQLite and every other JSON reader refuse), raises ``ValueError`` for an integer of
more than 4,300 digits, builds integers far past what SQLite stores (2**63 - 1), keeps lone UTF-16
surrogate escapes (``"\\ud800"``) that no UTF-8 encoder can write back, and recurses until it runs out of
stack. Each of these used to take a whole scan down, on every rescan.

``load_json`` parses the same grammar and refuses all of that with one :class:`JsonRefusedError` (a
``CorruptFileError``) whose ``reason`` says what is wrong in words, so every caller turns it into a
specific per-file or per-sidecar message. What it returns holds only ``dict``, ``list``, ``str``, finite
``float``, ``int`` within the chosen range, ``bool`` and ``None``: values any later step can store.

:func:`unstorable_number` checks a finished record the same way, for values that were built from strings
(``int("9" * 40)``) after parsing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from core.formats.model_file import CorruptFileError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
DEFAULT_MAX_DEPTH = 100
# Past this many digits an integer kept as text is no config value but a hostile file (2**128 has 39).
_MAX_TEXT_INTEGER_DIGITS = 40
# A JSON escape that may start or end a UTF-16 surrogate pair; only then are strings searched for a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefusedError(CorruptFileError):
    """Untrusted JSON that cannot be used; ``reason`` reads after its name: "... is not valid JSON"."""


def load_json(
    data: bytes | str,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    wide_integers: bool = False,
    large_integers_as_text: bool = False,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Parse untrusted JSON text (bytes are read as UTF-8, a leading byte-order mark is allowed).

    Refused, with a reason: text that is not UTF-8 or not JSON; ``NaN`` / ``Infinity`` and numbers past the
    range of a double (``1e999``); integers outside the 64-bit signed range; nesting deeper than
    ``max_depth`` containers; strings or keys holding a lone surrogate escape.

    ``wide_integers`` reads numbers as the Rust ``serde_json`` parser does (the safetensors library's):
    integers up to 2**64 - 1 stay integers, larger ones become floats, ``-0`` is the float ``-0.0``; this
    is what lets a safetensors header be judged exactly as the library judges it. Callers that store what
    they read leave it off.

    ``large_integers_as_text`` keeps an integer outside the 64-bit signed range as its decimal text
    instead of refusing the file: a config's "practically unlimited" value (transformers writes T5's
    tokenizer ``model_max_length`` as ``1000000000000000019884624838656``) is a fact about the
    component, not a sign of a broken file, and as text it can still be stored and shown. Integers of
    more than 40 digits are still refused.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonRefusedError(f"is not UTF-8 text (byte {exc.start})") from None
    else:
        text = data
    try:
        value = json.loads(
            text,
            parse_int=(
                _wide_integer if wide_integers else _integer_or_text if large_integers_as_text else _integer
            ),
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=object_pairs_hook,
        )
    except json.JSONDecodeError as exc:
        raise JsonRefusedError(
            f"is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise JsonRefusedError(f"is nested more than {max_depth} levels deep") from None
    _check_shape(value, max_depth, strings=_SURROGATE_ESCAPE.search(text) is not None)
    return value


def _integer(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits <= 18:
        return int(literal)
    if digits > 20:
        raise JsonRefusedError(f"holds an integer of {digits:,} digits, too large to store")
    number = int(literal)
    if not INT64_MIN <= number <= INT64_MAX:
        raise JsonRefusedError(f"holds the integer {literal}, too large to store")
    return number


def _integer_or_text(literal: str) -> int | str:
    """An integer SQLite can store, or its decimal text when it cannot (never refused)."""
    digits = len(literal.lstrip("-"))
    if digits > _MAX_TEXT_INTEGER_DIGITS:
        raise JsonRefusedError(f"holds an integer of {digits:,} digits, too large to store")
    if digits > 20:
        return literal
    number = int(literal)
    return number if INT64_MIN <= number <= INT64_MAX else literal


def _wide_integer(literal: str) -> int | float:
    if literal == "-0":
        return -0.0
    if len(literal) <= 20:
        number = int(literal)
        if INT64_MIN <= number <= U64_MAX:
            return number
    # serde_json reads an integer it cannot hold as a double, and refuses one a double cannot hold.
    return _float(literal)


def _float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        shown = literal if len(literal) <= 24 else f"{literal[:12]}... ({len(literal):,} characters)"
        raise JsonRefusedError(f"holds the number {shown}, beyond the range of a 64-bit float")
    return number


def _constant(literal: str) -> float:
    raise JsonRefusedError(f"holds {literal}, which is not a JSON number")


def _check_shape(value: Any, max_depth: int, *, strings: bool) -> None:
    """Refuse nesting deeper than ``max_depth`` and (when ``strings``) any lone surrogate in a string."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise JsonRefusedError(f"is nested more than {max_depth} levels deep")
            if strings:
                for key in item:
                    _check_string(key)
            stack.extend(
                (child, depth + 1) for child in item.values() if isinstance(child, dict | list | str)
            )
        elif isinstance(item, list):
            if depth > max_depth:
                raise JsonRefusedError(f"is nested more than {max_depth} levels deep")
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list | str))
        elif strings and isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    found = _SURROGATE.search(text)
    if found is not None:
        raise JsonRefusedError(
            f"holds a lone UTF-16 surrogate escape (\\u{ord(found.group()):04x}), which is not text"
        )


def unstorable_number(value: Any, _depth: int = 0) -> str | None:
    """Describe the first number in ``value`` that a database column cannot hold; None when all can.

    Walks dataclasses, mappings, lists and tuples (a parsed sidecar record, say): an ``int`` outside the
    64-bit signed range or a ``float`` that is NaN or infinite is named, so the record can be refused before
    it reaches SQLite, where it would fail the whole write.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return f"the integer {_short_int(value)} is too large to store"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"the number {value} is not a finite number"
    if _depth > DEFAULT_MAX_DEPTH:
        return "the record is nested too deeply"
    children: Any
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = (getattr(value, item.name) for item in dataclasses.fields(value))
    elif isinstance(value, Mapping):
        children = (item for pair in value.items() for item in pair)
    elif isinstance(value, list | tuple):
        children = iter(value)
    else:
        return None
    for child in children:
        problem = unstorable_number(child, _depth + 1)
        if problem is not None:
            return problem
    return None


def _short_int(value: int) -> str:
    if value.bit_length() > 256:
        return f"of about {int(value.bit_length() * 0.30103):,} digits"
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} digits)"
