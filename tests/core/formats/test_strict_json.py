"""The strict loader for strangers' JSON: what plain ``json`` lets through is refused with a reason."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from core.formats.model_file import CorruptFileError
from core.formats.strict_json import INT64_MAX, U64_MAX, JsonRefusedError, load_json, unstorable_number


def test_ordinary_json_reads_as_json_does() -> None:
    text = '{"a": [1, -2, 3.5, "é", "\\ud83d\\ude00", true, null], "b": {"c": 9223372036854775807}}'

    assert load_json(text) == {"a": [1, -2, 3.5, "é", "😀", True, None], "b": {"c": INT64_MAX}}


def test_bytes_are_utf8_and_may_start_with_a_byte_order_mark() -> None:
    assert load_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(JsonRefusedError, match=r"is not UTF-8 text \(byte 7\)"):
        load_json(b'{"a": "\xff"}')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": NaN}', "holds NaN, which is not a JSON number"),
        ("[Infinity]", "holds Infinity, which is not a JSON number"),
        ("[-Infinity]", "holds -Infinity, which is not a JSON number"),
        ("[1e999]", "holds the number 1e999, beyond the range of a 64-bit float"),
        ("[-1e400]", "holds the number -1e400, beyond the range of a 64-bit float"),
        ("[" + "1" * 5000 + "]", "holds an integer of 5,000 digits, too large to store"),
        ("[9223372036854775808]", "holds the integer 9223372036854775808, too large to store"),
        ("[-9223372036854775809]", "holds the integer -9223372036854775809, too large to store"),
        ('["\\ud800"]', "holds a lone UTF-16 surrogate escape (\\ud800), which is not text"),
        ('{"\\udc00": 1}', "holds a lone UTF-16 surrogate escape (\\udc00), which is not text"),
        ('["\\ud800\\u0041"]', "holds a lone UTF-16 surrogate escape (\\ud800), which is not text"),
        ("[" * 101 + "]" * 101, "is nested more than 100 levels deep"),
        ("[" * 100_000 + "]" * 100_000, "is nested more than 100 levels deep"),
        (
            '{"a": 1,}',
            "is not valid JSON (Expecting property name enclosed in double quotes, line 1 column 9)",
        ),
    ],
)
def test_what_breaks_later_steps_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(JsonRefusedError) as caught:
        load_json(text)

    assert caught.value.reason == reason
    assert isinstance(caught.value, CorruptFileError)  # one error family for damaged files


def test_nesting_up_to_the_limit_is_fine() -> None:
    assert load_json("[" * 100 + "]" * 100, max_depth=100) is not None
    assert load_json('{"a": [[[[1]]]]}', max_depth=5) == {"a": [[[[1]]]]}
    with pytest.raises(JsonRefusedError, match="more than 5 levels"):
        load_json('{"a": [[[[[1]]]]]}', max_depth=5)


def test_wide_integers_read_numbers_as_rusts_serde_json_does() -> None:
    values = load_json(f"[{U64_MAX}, {U64_MAX + 1}, -0, {-(2**63) - 1}, 1{'0' * 300}]", wide_integers=True)

    assert values[0] == U64_MAX
    assert isinstance(values[0], int)
    assert isinstance(values[1], float)  # past u64: a double, as serde_json reads it
    assert values[2] == 0
    assert math.copysign(1, values[2]) == -1
    assert isinstance(values[2], float)
    assert isinstance(values[3], float)
    assert values[4] == 1e300
    with pytest.raises(JsonRefusedError, match="beyond the range of a 64-bit float"):
        load_json("[1" + "0" * 400 + "]", wide_integers=True)


def test_repeated_keys_reach_an_object_hook() -> None:
    assert load_json('{"a": 1, "a": 2}', object_pairs_hook=list) == [("a", 1), ("a", 2)]


@dataclass
class _Record:
    name: str
    values: tuple[object, ...]


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (_Record("ok", (1, 2.5, True, None, {"k": [INT64_MAX]})), None),
        (_Record("big", ({"k": [2**63]},)), "the integer 9223372036854775808 is too large to store"),
        (_Record("nan", (math.nan,)), "the number nan is not a finite number"),
        ({2**70: "key"}, "the integer 1180591620717411303424 is too large to store"),
        ([10**5000], "the integer of about 5,000 digits is too large to store"),
    ],
)
def test_unstorable_numbers_are_named(record: object, problem: str | None) -> None:
    assert unstorable_number(record) == problem


def test_large_integers_can_be_kept_as_text_up_to_forty_digits() -> None:
    text = '{"model_max_length": 1000000000000000019884624838656, "small": 77, "edge": -9223372036854775809}'

    value = load_json(text, large_integers_as_text=True)

    assert value == {
        "model_max_length": "1000000000000000019884624838656",
        "small": 77,
        "edge": "-9223372036854775809",
    }
    with pytest.raises(JsonRefusedError, match="too large to store"):
        load_json(text)
    with pytest.raises(JsonRefusedError, match="an integer of 41 digits, too large to store"):
        load_json('{"a": 1' + "0" * 40 + "}", large_integers_as_text=True)
