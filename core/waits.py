"""Waits before a retry, announced to whoever started the request (no requests import here).

A job wraps its requests in ``waits_reported_to`` so the pane that started it can show "Civitai asked us to
wait 10 s…". This lives apart from ``core.net`` so the desktop's job runner can install the reporter
without importing requests at window start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger("core.net")


@dataclass(frozen=True, slots=True)
class WaitNotice:
    """The session is about to wait ``seconds`` before try ``attempt`` of at most ``tries``."""

    host: str
    seconds: float
    reason: str  # "HTTP 503", "HTTP 429", "a dropped connection", "a refused connection"
    attempt: int
    tries: int
    asked_by_server: bool  # the wait comes from the site's Retry-After

    def text(self, site: str | None = None) -> str:
        """ "Civitai asked us to wait 10 s…", "Civitai answered HTTP 503 — trying again in 2 s (try 2 of
        5)…" or "The connection to Civitai was lost — trying again in 1 s (try 2 of 5)…".

        Every wait reads the same way, what happened and the next try with its count, so a wait that a
        download then recovers from reads as a step of it, never as "Civitai: <a failure>"."""
        who = site or self.host
        seconds = f"{self.seconds:.0f} s" if self.seconds >= 1 else "a moment"
        count = f"(try {self.attempt} of {self.tries})"
        if self.asked_by_server:
            return f"{who} asked us to wait {seconds}… {count}"
        if self.reason.startswith("HTTP"):
            happened = f"{who} answered {self.reason}"
        elif self.reason.startswith("the connection "):  # "was lost", "was refused", "dropped"
            happened = f"The connection to {who} {self.reason.removeprefix('the connection ')}"
        else:  # "no answer", "read timeout"
            happened = f"{who} gave {self.reason}" if self.reason == "no answer" else f"{who}: {self.reason}"
        return f"{happened} — trying again in {seconds} {count}…"


WaitCallback = Callable[[WaitNotice], None]
_wait_reporter: ContextVar[WaitCallback | None] = ContextVar("atelier_wait_reporter", default=None)


@contextmanager
def waits_reported_to(callback: WaitCallback) -> Iterator[None]:
    """Within the block, on this thread, every session's waits are announced to ``callback``.

    A job wraps its requests in this so the pane that started it can show "Civitai asked us to wait 10 s…";
    other threads using the same session are not affected.
    """
    token = _wait_reporter.set(callback)
    try:
        yield
    finally:
        _wait_reporter.reset(token)


def announce_wait(notice: WaitNotice, fallback: WaitCallback | None = None) -> None:
    """Tell the thread's reporter (else ``fallback``, else the log) about a wait; the caller waits
    (the download engine waits in small steps, so a pause or cancel is noticed during the wait)."""
    callback = _wait_reporter.get() or fallback
    if callback is not None:
        callback(notice)
    else:
        log.info("%s", notice.text())


def wait_announced(notice: WaitNotice, fallback: WaitCallback | None = None) -> None:
    """Tell the thread's reporter (else ``fallback``) about the wait, then wait."""
    announce_wait(notice, fallback)
    if notice.seconds > 0:
        time.sleep(notice.seconds)
