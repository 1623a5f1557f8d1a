"""A1111's prompt attention and prompt schedules, as pure text functions (no torch).

A prompt copied from A1111 carries syntax that A1111 reads before CLIP sees a word:

- attention: ``(word)`` ×1.1, ``[word]`` ÷1.1, ``(word:1.3)``, escapes ``\\(`` ``\\)`` ``\\[`` ``\\]``, and
  ``BREAK`` (a forced chunk boundary) — :func:`parse_prompt_attention`, a transcription of
  ``modules/prompt_parser.py::parse_prompt_attention`` (its docstring's examples are our test vectors);
- schedules: ``[from:to:when]`` prompt editing and ``[a|b]`` alternation, which change the prompt during
  sampling — :func:`prompt_schedule`, the behaviour of ``get_learned_conditioning_prompt_schedules``.
  A1111 parses schedules with a lark grammar; this is a backtracking parser of the same grammar (lark is
  not a dependency), and a prompt the grammar refuses is, as in A1111, one prompt for every step.

Rendering the result (chunking, weighting, encoding) is :mod:`core.render.conditioning`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

BREAK = "BREAK"
BREAK_WEIGHT = -1.0  # how A1111 marks a BREAK in the parsed list
_ROUND = 1.1
_SQUARE = 1 / 1.1

# A1111 modules/prompt_parser.py: re_attention and re_break, verbatim.
_ATTENTION = re.compile(
    r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:\s*([+-]?[.\d]+)\s*\)|
\)|
]|
[^\\()\[\]:]+|
:
""",
    re.X,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)
# A1111's composable diffusion separator (get_multicond_prompt_list): "a AND b:0.5".
_AND = re.compile(r"\bAND\b")


def parse_prompt_attention(text: str) -> list[tuple[str, float]]:
    """``text`` as (fragment, weight) pairs, exactly as A1111 parses it; a BREAK is ``("BREAK", -1)``.

    >>> parse_prompt_attention("an (important) word")
    [('an ', 1.0), ('important', 1.1), (' word', 1.0)]
    """
    res: list[list[str | float]] = []
    round_brackets: list[int] = []
    square_brackets: list[int] = []

    def multiply_range(start: int, multiplier: float) -> None:
        for position in range(start, len(res)):
            res[position][1] = float(res[position][1]) * multiplier

    for match in _ATTENTION.finditer(text):
        token = match.group(0)
        weight = match.group(1)
        if token.startswith("\\"):
            res.append([token[1:], 1.0])
        elif token == "(":
            round_brackets.append(len(res))
        elif token == "[":
            square_brackets.append(len(res))
        elif weight is not None and round_brackets and _is_float(weight):
            multiply_range(round_brackets.pop(), float(weight))
        elif token == ")" and round_brackets:
            multiply_range(round_brackets.pop(), _ROUND)
        elif token == "]" and square_brackets:
            multiply_range(square_brackets.pop(), _SQUARE)
        else:
            for index, part in enumerate(_BREAK.split(token)):
                if index > 0:
                    res.append([BREAK, BREAK_WEIGHT])
                res.append([part, 1.0])
    for position in round_brackets:
        multiply_range(position, _ROUND)
    for position in square_brackets:
        multiply_range(position, _SQUARE)
    if not res:
        res = [["", 1.0]]
    index = 0
    while index + 1 < len(res):  # merge runs of identical weights
        if res[index][1] == res[index + 1][1]:
            res[index][0] = str(res[index][0]) + str(res[index + 1][0])
            res.pop(index + 1)
        else:
            index += 1
    return [(str(fragment), float(weight)) for fragment, weight in res]


def _is_float(value: str) -> bool:
    """Whether A1111's ``float(weight)`` succeeds ("1.2.3" matches its regex but crashes A1111; here the
    text is kept as written instead)."""
    try:
        float(value)
    except ValueError:
        return False
    return True


def has_attention_syntax(text: str) -> bool:
    """Whether ``text`` holds anything :func:`parse_prompt_attention` would change (weights, escapes,
    BREAK): such a prompt renders differently where it reaches the text encoder as plain text."""
    return parse_prompt_attention(text) != [(text, 1.0)]


def has_and(text: str) -> bool:
    """Whether ``text`` uses A1111's ``AND`` (composable diffusion: several prompts blended per step)."""
    return _AND.search(text) is not None


# --- schedules ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scheduled:
    before: tuple[object, ...] | None
    after: tuple[object, ...]
    number: str


@dataclass(frozen=True, slots=True)
class _Alternate:
    options: tuple[tuple[object, ...] | None, ...]


class _NoParseError(Exception):
    """The schedule grammar does not match (A1111: a LarkError, and the prompt is used as written)."""


_PLAIN = re.compile(r"(?:[^\\\[\]():|]|\\.)+", re.S)
_WHITESPACE = re.compile(r"\s+")
_RAW = re.compile(r"[\]\[():]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")


class _Parser:
    """Backtracking parser of A1111's ``schedule_parser`` grammar::

        start: (prompt | /[][():]/+)*
        prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
        emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"   (brackets kept)
        scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
        alternate: "[" prompt ("|" [prompt])+ "]"

    A node is a str (literal text), a :class:`_Scheduled` or an :class:`_Alternate`; a sequence of
    nodes is a tuple.

    Packrat: what :meth:`prompt` and :meth:`item` find depends only on the position, so each is memoised
    per position. Without it every ``[`` tries three alternatives that each re-parse what follows, and
    ``[[[[…a]]]]`` costs 3ⁿ (16 brackets: a minute) — a pasted prompt would freeze render, plan and board.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._prompts: dict[int, tuple[tuple[object, ...], int]] = {}
        self._items: dict[int, tuple[tuple[object, ...], int] | None] = {}

    def start(self) -> tuple[object, ...]:
        nodes: list[object] = []
        position = 0
        while position < len(self.text):
            items, after = self.prompt(position)
            if after > position:
                nodes.extend(items)
                position = after
                continue
            raw = _RAW.match(self.text, position)
            if raw is None:
                raise _NoParseError
            nodes.append(raw.group(0))
            position = raw.end()
        return tuple(nodes)

    def prompt(self, position: int) -> tuple[tuple[object, ...], int]:
        known = self._prompts.get(position)
        if known is not None:
            return known
        start = position
        items: list[object] = []
        while True:
            rest = self._prompts.get(position)
            if rest is not None:
                items.extend(rest[0])
                position = rest[1]
                break
            found = self.item(position)
            if found is None:
                break
            nodes, position = found
            items.extend(nodes)
        result = (tuple(items), position)
        self._prompts[start] = result
        return result

    def item(self, position: int) -> tuple[tuple[object, ...], int] | None:
        if position not in self._items:
            self._items[position] = self._item(position)
        return self._items[position]

    def _item(self, position: int) -> tuple[tuple[object, ...], int] | None:
        for pattern in (_PLAIN, _WHITESPACE):
            match = pattern.match(self.text, position)
            if match is not None:
                return (match.group(0),), match.end()
        char = self.text[position : position + 1]
        if char == "(":
            return self.emphasized_round(position)
        if char == "[":
            return self.scheduled(position) or self.alternate(position) or self.emphasized_square(position)
        return None

    def expect(self, position: int, literal: str) -> int | None:
        return position + len(literal) if self.text.startswith(literal, position) else None

    def emphasized_round(self, position: int) -> tuple[tuple[object, ...], int] | None:
        inner, after = self.prompt(position + 1)
        end = self.expect(after, ")")
        if end is not None:
            return ("(", *inner, ")"), end
        colon = self.expect(after, ":")
        if colon is None:
            return None
        weight, after_weight = self.prompt(colon)
        end = self.expect(after_weight, ")")
        if end is None:
            return None
        return ("(", *inner, ":", *weight, ")"), end

    def emphasized_square(self, position: int) -> tuple[tuple[object, ...], int] | None:
        inner, after = self.prompt(position + 1)
        end = self.expect(after, "]")
        return (("[", *inner, "]"), end) if end is not None else None

    def scheduled(self, position: int) -> tuple[tuple[object, ...], int] | None:
        first, after_first = self.prompt(position + 1)
        colon = self.expect(after_first, ":")
        if colon is None:
            return None
        # "[before:after:when]" first, then "[after:when]".
        second, after_second = self.prompt(colon)
        colon2 = self.expect(after_second, ":")
        if colon2 is not None:
            found = self.number_end(colon2)
            if found is not None:
                number, end = found
                return (_Scheduled(first, second, number),), end
        found = self.number_end(colon)
        if found is not None:
            number, end = found
            return (_Scheduled(None, first, number),), end
        return None

    def number_end(self, position: int) -> tuple[str, int] | None:
        space = _WHITESPACE.match(self.text, position)
        position = space.end() if space else position
        number = _NUMBER.match(self.text, position)
        if number is None:
            return None
        position = number.end()
        space = _WHITESPACE.match(self.text, position)
        position = space.end() if space else position
        end = self.expect(position, "]")
        return (number.group(0), end) if end is not None else None

    def alternate(self, position: int) -> tuple[tuple[object, ...], int] | None:
        first, position = self.prompt(position + 1)
        options: list[tuple[object, ...] | None] = [first]
        while True:
            bar = self.expect(position, "|")
            if bar is None:
                break
            option, position = self.prompt(bar)
            options.append(option if option else None)
        end = self.expect(position, "]")
        if len(options) < 2 or end is None:
            return None
        return (_Alternate(tuple(options)),), end


@dataclass(frozen=True, slots=True)
class _Steps:
    """How ``when`` numbers become steps (A1111's int_offset/flt_offset, for a hires pass)."""

    steps: int
    int_offset: int = 0
    float_offset: float = 0.0

    def when(self, number: str) -> int:
        value = float(number)
        value = (value - self.float_offset) * self.steps if "." in number else value - self.int_offset
        if not math.isfinite(value):
            value = math.copysign(self.steps, value) if not math.isnan(value) else 0
        return min(self.steps, int(value))


def _collect(nodes: tuple[object, ...], steps: _Steps, found: set[int]) -> None:
    for node in nodes:
        if isinstance(node, _Scheduled):
            when = steps.when(node.number)
            if when >= 1:
                found.add(when)
            _collect(node.before or (), steps, found)
            _collect(node.after, steps, found)
        elif isinstance(node, _Alternate):
            found.update(range(1, steps.steps + 1))
            for option in node.options:
                _collect(option or (), steps, found)


def _at_step(nodes: tuple[object, ...], step: int, steps: _Steps) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, _Scheduled):
            chosen = (node.before or ()) if step <= steps.when(node.number) else node.after
            parts.append(_at_step(chosen, step, steps))
        elif isinstance(node, _Alternate):
            option = node.options[(step - 1) % len(node.options)]
            parts.append(_at_step(option or (), step, steps))
    return "".join(parts)


def prompt_schedule(prompt: str, steps: int, hires_steps: int | None = None) -> list[tuple[int, str]]:
    """A1111's ``get_learned_conditioning_prompt_schedules`` for one prompt: ``(end_at_step, text)``.

    The text of entry ``k`` is used while the sampler's step counter (from 0) is at most its
    ``end_at_step`` — A1111's ``reconstruct_cond_batch``. ``hires_steps`` is given for a hires pass:
    ``when`` then counts from the end of the first pass (whole numbers: steps of ``steps``; fractions:
    1.0 + a fraction of the hires steps), as A1111 1.6+ does.

    >>> prompt_schedule("a [b:3]", 10)
    [(3, 'a '), (10, 'a b')]
    """
    rule = _Steps(steps) if hires_steps is None else _Steps(hires_steps, steps, 1.0)
    try:
        tree = _Parser(prompt).start()
    except (_NoParseError, RecursionError):
        return [(rule.steps, prompt)]
    found = {rule.steps}
    _collect(tree, rule, found)
    return [(step, _at_step(tree, step, rule)) for step in sorted(found)]


def text_at(schedule: list[tuple[int, str]], step: int) -> int:
    """The index of the schedule entry in use at sampler step ``step`` (from 0), as A1111 picks it."""
    for index, (end_at_step, _text) in enumerate(schedule):
        if step <= end_at_step:
            return index
    return len(schedule) - 1
