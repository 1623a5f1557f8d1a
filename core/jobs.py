"""Primitives for long-running jobs: a cancel token and a progress report.

Jobs are plain functions that take a progress callback and a cancel token and know nothing of Qt; the
desktop layer adapts them to worker threads. Keeping these two types tiny and dependency-free lets the
CLI, the GUI and tests drive the same job code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


class CancelledError(Exception):
    """Raised inside a job when its cancel token has been triggered."""

    def __init__(self, message: str = "cancelled by the user") -> None:
        super().__init__(message)


class CancelToken:
    """A thread-safe flag a job polls to stop early; cancelling twice is harmless."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report. ``total`` is None while unknown (e.g. while a directory is still walked)."""

    done: int
    total: int | None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """The default progress sink: ignores reports."""
