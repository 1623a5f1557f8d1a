"""How much a pickle may make us build: a budget derived from its own size, checked before anything grows.

A pickle is a program, and even with every import refused, the calls a weights file legitimately needs
(``numpy.dtype``, numpy's ``scalar``, ``_codecs.encode``, ``set``, ``OrderedDict``...) can be pointed at
enormous sizes: a 90-byte pickle asking numpy for a 2 GiB string scalar, or re-encoding one memoized string
a thousand times. And the pickle machine itself can hash a tuple that shares itself 2**40 times.

Three guards, all charged against the same promise - what a file builds is proportional to its size:

- ``AllocationBudget``: every allowed callable states what it is about to allocate and is refused once the
  total passes ``allowance(pickle size)``;
- ``ExpansionTracker``: while the opcodes are framed (before any is executed), the expanded size of every
  value is followed symbolically, and a dictionary key, a set member or a call's arguments whose expansion
  is too large to hash or copy is refused;
- ``pickle_flatten`` walks the result with a node count and a byte count from the same allowance.

Every limit hit is ``UnsafeFileError`` naming "resource exhaustion": loading the file with ``torch.load``
would take the machine down, which is as much an attack as running code.
"""

from __future__ import annotations

import reprlib
from typing import Any

import numpy as np

from core.formats.model_file import UnsafeFileError

# Metadata a real checkpoint builds beside its tensors (numpy scalars, a few encoded arrays) stays far
# below this; small files get this much room, larger ones a multiple of their size on top.
FIXED_ALLOWANCE = 16 * 1024 * 1024
BYTES_PER_PICKLE_BYTE = 4
# A dictionary key or set member is hashed, recursively for tuples: this many nested values at most.
MAX_HASHED_NODES = 10_000
# Arguments handed to one call, counted with every shared value expanded.
MAX_CALL_NODES = 100_000
_SATURATED = 1 << 62


def allowance(pickle_size: int) -> int:
    """The bytes a pickle of ``pickle_size`` bytes may make us allocate, all calls together."""
    return FIXED_ALLOWANCE + BYTES_PER_PICKLE_BYTE * pickle_size


def exhaustion_error(asked: int, pickle_size: int, culprit: str) -> UnsafeFileError:
    """The one error every resource limit raises."""
    return UnsafeFileError(
        f"the pickle asks for {asked:,} bytes from a {pickle_size:,}-byte file (resource exhaustion); "
        "it was not loaded",
        (culprit,),
    )


def expansion_error(what: str, nodes: int, limit: int) -> UnsafeFileError:
    """A value that shares itself so often that hashing or copying it would never end."""
    shown = f"{nodes:,}" if nodes < _SATURATED else "an astronomical number of"
    return UnsafeFileError(
        f"the pickle builds {what} of {shown} nested values, more than the {limit:,} allowed "
        "(resource exhaustion); it was not loaded",
        ("resource exhaustion",),
    )


class Expandable:
    """A stand-in built for a pickle that holds other values (``pickled_dtype.PickledDType``): the
    argument checks walk into ``children()`` like into a tuple."""

    __slots__ = ()

    def children(self) -> list[object]:
        return []


class AllocationBudget:
    """What the allowed callables of one pickle have allocated so far."""

    def __init__(self, pickle_size: int) -> None:
        self.pickle_size = pickle_size
        self.limit = allowance(pickle_size)
        self.used = 0

    def charge(self, nbytes: int, culprit: str) -> None:
        """Account for ``nbytes`` about to be allocated by ``culprit``; refuse past the allowance."""
        self.used += max(0, nbytes)
        if self.used > self.limit:
            raise exhaustion_error(self.used, self.pickle_size, culprit)


# ---- the symbolic pass over the opcodes ---------------------------------------------------------------

_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_CALLS = frozenset({"REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ"})
# Opcodes that add to the container (or object) below them instead of making a new value.
_GROWS = frozenset({"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"})


class _Value:
    """One value on the symbolic stack: how many values it stands for with shared ones expanded.

    Memo slots and the stack share these cells, so a list memoized while empty and filled later by
    APPENDS is seen at its final size wherever it is fetched again."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


MARK = _Value(0)  # a mark on the symbolic stack (every real value has size >= 1)
ATOM = _Value(1)  # shared by every value that cannot grow
_EMPTY_CONTAINERS = frozenset({"EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"})
_CHECKED = frozenset({"SETITEM", "SETITEMS", "ADDITEMS", "FROZENSET"}) | _CALLS


class ExpansionTracker:
    """Follows how many values each stack entry stands for once shared references are expanded.

    Sizes are conservative (a call's result counts as big as its arguments, a built object as big as
    its state), which is exact for tuples - the only containers Python hashes recursively - and an upper
    bound for the rest. Nothing is executed: the tracker only sees opcode names and arguments.
    """

    def __init__(self) -> None:
        self.stack: list[_Value] = []
        self.memo: dict[object, _Value] = {}

    def step(self, name: str, arg: object, before: int, after: int, marked: bool) -> None:
        """Apply one opcode; ``before``/``after`` are how many plain stack items it pops and pushes,
        ``marked`` whether it pops everything down to the last mark first."""
        stack = self.stack
        if not before and not marked:  # pushes only: the bulk of every pickle, kept fast
            if name in _GETS:
                stack.append(self.memo.get(arg) or ATOM)
            elif name in _PUTS:
                self.memo[arg] = stack[-1] if stack else _Value(1)
            elif name == "MARK":
                stack.append(MARK)
            elif name in _EMPTY_CONTAINERS:
                stack.append(_Value(1))  # will grow: a cell of its own
            elif after:
                stack.append(ATOM)  # numbers, strings, globals never grow
            return
        if name == "MEMOIZE":
            self.memo[len(self.memo)] = stack[-1] if stack else _Value(1)
            return
        if name == "DUP":
            stack.append(stack[-1] if stack else _Value(1))
            return
        sliced: list[int] = []
        if marked:
            while stack and stack[-1] is not MARK:
                sliced.append(stack.pop().size)
            if stack:
                stack.pop()
        popped = [self._pop() for _ in range(before)][::-1]
        if name in _CHECKED:
            sliced.reverse()
            self._check(name, [v.size for v in popped], sliced)
        added = sum(v.size for v in popped) + sum(sliced)
        if name in _GROWS and popped:
            target = popped[0]  # the list, dict, set or object being filled: grows where it is shared
            if target is ATOM:
                target = _Value(1)
            target.size = min(added, _SATURATED)  # its old size is part of ``added``
            stack.append(target)
            return
        for _ in range(after):
            stack.append(_Value(min(1 + added, _SATURATED)))

    def _pop(self) -> _Value:
        value = self.stack.pop() if self.stack else ATOM
        return ATOM if value is MARK else value

    def _check(self, name: str, popped: list[int], sliced: list[int]) -> None:
        if name == "SETITEM" and len(popped) == 3:
            _limit("a dictionary key", popped[1], MAX_HASHED_NODES)
        elif name == "SETITEMS":
            for key in sliced[::2]:
                _limit("a dictionary key", key, MAX_HASHED_NODES)
        elif name in {"ADDITEMS", "FROZENSET"}:
            for member in sliced:
                _limit("a set member", member, MAX_HASHED_NODES)
        elif name in _CALLS:
            _limit("the arguments of a call", sum(popped[1:]) + sum(sliced), MAX_CALL_NODES)


def _limit(what: str, nodes: int, limit: int) -> None:
    if nodes > limit:
        raise expansion_error(what, nodes, limit)


_ATOMS = (str, int, float, bytes, bool, type(None))
# What walking (and then hashing or copying) one value of a call's arguments costs, for the budget.
NODE_BYTES = 32


def check_arguments(args: object, culprit: str, budget: AllocationBudget) -> None:
    """Refuse call arguments that expand to more than ``MAX_CALL_NODES`` values, counted on the real
    objects (a list filled after it was memoized, a dtype rebuilt by BUILD): hashing, copying or
    printing them is what the allowed callables would do. Each walk is charged to ``budget``, so a
    pickle calling a thousand times on one shared argument cannot turn the checks into the bomb."""
    count = 0
    pending: list[object] = [args]
    while pending:
        value = pending.pop()
        count += 1
        if count > MAX_CALL_NODES:
            raise expansion_error(f"the arguments of {culprit}", count, MAX_CALL_NODES)
        kind = type(value)
        if kind in _ATOMS:
            continue
        if isinstance(value, tuple | list | set | frozenset):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, Expandable):
            pending.extend(value.children())
        elif isinstance(value, np.dtype) and value.fields:
            pending.extend(field[0] for field in value.fields.values())
        elif isinstance(value, np.dtype) and value.subdtype is not None:
            pending.append(value.subdtype[0])
    budget.charge(count * NODE_BYTES, culprit)


# ---- short texts of hostile values -------------------------------------------------------------------


class _ShortRepr(reprlib.Repr):
    """``reprlib`` with integers that cannot trip Python's digit limit and every level kept short."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxtuple = self.maxlist = self.maxdict = self.maxset = self.maxfrozenset = 8
        self.maxstring = self.maxother = 60

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<{x.bit_length():,}-bit integer>"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()


def short_repr(value: Any) -> str:
    """A bounded ``repr`` for messages and keys: a value built to be huge or self-sharing stays short."""
    return _SHORT.repr(value)
