"""The per-host pace of a session: a short burst at once, then one request per interval.

Driven on a clock of the test's own (``time.monotonic``/``time.sleep`` of ``core.net``), so each start
time is exact; the real session's pace through a loopback server is in tests/app/test_context_images.py.
"""

from __future__ import annotations

import threading

import pytest

from core import net
from core.net import RateLimiter


class Clock:
    """``monotonic`` and ``sleep`` over one shared "now"; ``sleep`` moves it on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    own = Clock()
    monkeypatch.setattr(net.time, "monotonic", own.monotonic)
    monkeypatch.setattr(net.time, "sleep", own.sleep)
    return own


def _starts(limiter: RateLimiter, clock: Clock, count: int, host: str = "civitai.com") -> list[float]:
    starts = []
    for _ in range(count):
        limiter.wait(host)
        starts.append(round(clock.now - 100.0, 6))
    return starts


def test_a_burst_goes_at_once_then_one_request_per_interval(clock: Clock) -> None:
    assert _starts(RateLimiter(0.25, burst=4), clock, 8) == [0, 0, 0, 0, 0.25, 0.5, 0.75, 1.0]


def test_without_a_burst_every_request_after_the_first_waits_the_interval(clock: Clock) -> None:
    assert _starts(RateLimiter(0.25), clock, 4) == [0, 0.25, 0.5, 0.75]


def test_a_pause_earns_the_burst_back_but_no_more(clock: Clock) -> None:
    limiter = RateLimiter(0.25, burst=4)
    _starts(limiter, clock, 4)
    clock.now += 10.0  # a user reading the page: the burst is earned back, not forty requests
    assert _starts(limiter, clock, 6) == [10.0, 10.0, 10.0, 10.0, 10.25, 10.5]


def test_hosts_are_paced_apart(clock: Clock) -> None:
    limiter = RateLimiter(0.25, burst=1)
    limiter.wait("civitai.com")
    limiter.wait("huggingface.co")
    assert clock.slept == []
    limiter.wait("civitai.com")
    assert clock.slept == [0.25]


def test_no_interval_never_waits(clock: Clock) -> None:
    assert _starts(RateLimiter(0.0, burst=4), clock, 20) == [0] * 20
    assert clock.slept == []


def test_threads_sharing_a_limiter_reserve_distinct_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight threads at once through a burst of two are given eight distinct starting slots (none is
    lost to a race), six of them paced. "Now" stands still, so when each thread runs does not matter."""
    limiter = RateLimiter(0.05, burst=2)
    delays: list[int] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            delays.append(round(seconds / 0.05))

    monkeypatch.setattr(net.time, "monotonic", lambda: 100.0)
    monkeypatch.setattr(net.time, "sleep", record)
    threads = [threading.Thread(target=limiter.wait, args=("civitai.com",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(delays) == [1, 2, 3, 4, 5, 6]
