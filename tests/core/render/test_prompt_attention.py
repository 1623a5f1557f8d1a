"""A1111's prompt attention and schedules: the examples of A1111's own docstrings as test vectors.

modules/prompt_parser.py documents ``parse_prompt_attention`` and
``get_learned_conditioning_prompt_schedules`` with doctests; each is reproduced here verbatim (A1111's
lists of lists are tuples here).
"""

from __future__ import annotations

import time

import pytest

from core.render.prompt_attention import (
    has_and,
    has_attention_syntax,
    parse_prompt_attention,
    prompt_schedule,
    text_at,
)


@pytest.mark.parametrize(
    ("prompt", "parsed"),
    [
        ("normal text", [("normal text", 1.0)]),
        ("an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)]),
        ("(unbalanced", [("unbalanced", 1.1)]),
        ("\\(literal\\]", [("(literal]", 1.0)]),
        ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
        (
            "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
            [
                ("a ", 1.0),
                ("house", 1.5730000000000004),
                (" ", 1.1),
                ("on", 1.0),
                (" a ", 1.1),
                ("hill", 0.55),
                (", sun, ", 1.1),
                ("sky", 1.4641000000000006),
                (".", 1.1),
            ],
        ),
        # BREAK (A1111 1.1+): its own entry with weight -1, the spaces around it dropped.
        ("a fox BREAK a forest", [("a fox", 1.0), ("BREAK", -1.0), ("a forest", 1.0)]),
        ("[dim]", [("dim", 1 / 1.1)]),
        ("(a red fox:1.0)", [("a red fox", 1.0)]),
        ("", [("", 1.0)]),
    ],
)
def test_attention_matches_a1111(prompt: str, parsed: list[tuple[str, float]]) -> None:
    assert parse_prompt_attention(prompt) == parsed


def test_syntax_detection() -> None:
    assert not has_attention_syntax("a red fox, forest")
    assert has_attention_syntax("a (red) fox")
    assert has_attention_syntax("a fox BREAK forest")
    assert has_and("a fox AND a dog")
    assert not has_and("a fox and a dog, ANDROID")


@pytest.mark.parametrize(
    ("prompt", "schedule"),
    [
        ("test", [(10, "test")]),
        ("a [b:3]", [(3, "a "), (10, "a b")]),
        ("a [b: 3]", [(3, "a "), (10, "a b")]),
        ("a [[[b]]:2]", [(2, "a "), (10, "a [[b]]")]),
        ("[(a:2):3]", [(3, ""), (10, "(a:2)")]),
        ("a [b : c : 1] d", [(1, "a b  d"), (10, "a  c  d")]),
        ("a[b:[c:d:2]:1]e", [(1, "abe"), (2, "ace"), (10, "ade")]),
        ("a [unbalanced", [(10, "a [unbalanced")]),
        ("a [b:.5] c", [(5, "a  c"), (10, "a b c")]),
        ("((a][:b:c [d:3]", [(3, "((a][:b:c "), (10, "((a][:b:c d")]),
        ("[a|(b:1.1)]", [(k, "a" if k % 2 else "(b:1.1)") for k in range(1, 11)]),
        ("[fe|]male", [(k, "female" if k % 2 else "male") for k in range(1, 11)]),
        ("[fe|||]male", [(k, "female" if k % 4 == 1 else "male") for k in range(1, 11)]),
    ],
)
def test_schedules_match_a1111(prompt: str, schedule: list[tuple[int, str]]) -> None:
    assert prompt_schedule(prompt, 10) == schedule


def test_hires_pass_schedules_count_from_the_first_pass() -> None:
    assert prompt_schedule("a [b:.5] c", 10, 10) == [(10, "a b c")]
    assert prompt_schedule("a [b:1.5] c", 10, 10) == [(5, "a  c"), (10, "a b c")]


def test_the_text_in_use_at_each_step_is_a1111s() -> None:
    """A1111's reconstruct_cond_batch: the first entry whose end is not before the step (from 0)."""
    schedule = prompt_schedule("[fox:wolf:0.5]", 4)
    assert schedule == [(2, "fox"), (4, "wolf")]
    assert [schedule[text_at(schedule, step)][1] for step in range(5)] == ["fox"] * 3 + ["wolf"] * 2


@pytest.mark.parametrize(
    ("prompt", "schedule"),
    [
        ("[" * 30 + "a" + "]" * 30, [(10, "[" * 30 + "a" + "]" * 30)]),
        ("[" * 30 + "a", [(10, "[" * 30 + "a")]),
        ("[" * 30 + "a:3" + "]" * 30, [(3, "[" * 29 + "]" * 29), (10, "[" * 29 + "a" + "]" * 29)]),
        ("(" * 30 + "[a|b]" + ")" * 30, [(k, "(" * 30 + "ab"[(k - 1) % 2] + ")" * 30) for k in range(1, 11)]),
    ],
)
def test_deeply_nested_brackets_parse_at_once(prompt: str, schedule: list[tuple[int, str]]) -> None:
    """A pasted prompt with many nested brackets must not freeze the app: each ``[`` used to re-parse
    what follows three times (30 brackets: 3³⁰ steps, hours); parsed once per position it is instant."""
    started = time.perf_counter()
    assert prompt_schedule(prompt, 10) == schedule
    assert time.perf_counter() - started < 1.0
