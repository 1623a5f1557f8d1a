"""Slow calls of one test module, run side by side: each waits out a budget of its own against its own
loopback server (a silent host, a trickle), so together they take as long as the slowest, not their sum.

A module fixture runs the calls (``side_by_side``, which returns once every one has ended: nothing runs
in the background while a test does) and each test asserts on its own call's ``Outcome``: what it returned
or raised, and how long it took from its start on its own thread. Every call has its own server and
client (or engine and files); nothing is shared between them but the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True)
class Outcome:
    """What one call returned (``value``) or raised (``error``), and its seconds from start to end."""

    value: object
    error: BaseException | None
    elapsed_s: float

    def raised(self, kind: type[E]) -> E:
        """The error the call raised, which must be a ``kind`` (else the test fails saying what came)."""
        assert isinstance(self.error, kind), (
            f"expected {kind.__name__}, got {self.error!r} (returned {self.value!r})"
        )
        return self.error


def timed(call: Callable[[], object]) -> Outcome:
    started = time.monotonic()
    try:
        value = call()
    except Exception as error:  # the outcome a test asserts on, whatever it is
        return Outcome(None, error, time.monotonic() - started)
    return Outcome(value, None, time.monotonic() - started)


def side_by_side(calls: Mapping[str, Callable[[], object]]) -> dict[str, Outcome]:
    """Each call started at once on a thread of its own; returns when every one has ended."""
    with ThreadPoolExecutor(max(1, len(calls)), thread_name_prefix="side-by-side") as pool:
        runs = {name: pool.submit(timed, call) for name, call in calls.items()}
    return {name: run.result() for name, run in runs.items()}
