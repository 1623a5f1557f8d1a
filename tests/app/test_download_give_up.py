"""How a download gives up: a rate limit past the budget ends at once; a silent file host, a failing file
host and a failing Civitai are each given up within 30 s with every wait said (as a user meets the default
budget, through main.py).

The default-budget waits (24 s, 15 s and 7 s) are real, so the cases run at once: one ``main.py``
process each, against its own loopback sites, and the test waits for the slowest, not for their sum.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.net import host_of
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites, loopback_sites
from tests.app.main_process import run_main
from tests.fakes.civitai_api import CivitaiState
from tests.fakes.file_server import Fault
from tests.fakes.silent_server import silent_server

PROMISE_S = 30.0  # a command that cannot reach a site ends within this, from its start


def run(sites: Sites, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_main(*args, env=sites.env, check=check)


def file_host(sites: Sites) -> str:
    """What messages call the loopback file server: the version's download link is on it, not on the
    configured Civitai, so it is Civitai's file host, never "Civitai"."""
    return f"{host_of(sites.files.base_url)} (the file host Civitai pointed to)"


@dataclass(frozen=True)
class GaveUp:
    """One ``main.py download`` that met a site it had to give up on: what it said, and how long it took
    from its start (process start included) to its end."""

    result: subprocess.CompletedProcess[str]
    elapsed_s: float
    listed: list[dict[str, object]] | None  # ``downloads --json`` after it, where asked

    @property
    def lines(self) -> list[str]:
        return self.result.stderr.strip().splitlines()


def _download_timed(sites: Sites, *, then_list: bool = False) -> GaveUp:
    """``download civitai:…`` timed from its start; with ``then_list``, ``downloads --json`` after it."""
    started = time.monotonic()
    library = sites.root.parent / "lib"
    result = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(library), check=False)
    elapsed_s = time.monotonic() - started
    listed = json.loads(run(sites, "downloads", "--json").stdout) if then_list else None
    return GaveUp(result, elapsed_s, listed)


def _check_rate_limit_past_the_budget(ended: GaveUp, sites: Sites) -> None:
    """A 429 asking for an hour ends at once (no waiting at all), with the wait asked, in the queue too."""
    said = f"{file_host(sites)} asked to wait 3600 s (rate limit, HTTP 429); try again later."
    assert ended.elapsed_s < 15.0, f"rate limit: {ended.elapsed_s:.1f} s"  # a process start, two lookups
    assert ended.result.returncode == 1, ended.result
    assert ended.lines == [f"atelier download: {said}"]
    assert len([p for m, p, _ in sites.files.requests if m == "GET"]) == 1, "rate limit: tried once"
    assert ended.listed is not None
    (record,) = ended.listed
    assert (record["status"], record["error"]) == ("failed", said)


def _check_silent_file_host(ended: GaveUp, silent: str) -> None:
    """The worst case of the budget: Civitai's link leads to a host that accepts and stays silent. The
    whole command, from its start to the message naming that host (not Civitai), ends within 30 s."""
    assert ended.elapsed_s < PROMISE_S, f"silent file host: {ended.elapsed_s:.1f} s"  # 24 s, then the line
    assert ended.result.returncode == 1, ended.result
    (line,) = ended.lines
    said = (
        f"atelier download: {host_of(silent)} (the file host Civitai pointed to) stopped answering "
        "(nothing arrived in time) — gave up after 1 try in "
    )
    assert line.startswith(said), line
    seconds = int(line.removeprefix(said).removesuffix(" s. Try again later."))
    assert 22 <= seconds < ended.elapsed_s, "silent file host: the seconds it says are the seconds it waited"


def _check_failing_file_host(ended: GaveUp, sites: Sites) -> None:
    """A file host that answers 500 every time: every wait said, one line with the reason at the end, the
    whole command (process start included) within 30 s."""
    assert ended.elapsed_s < PROMISE_S, f"failing file host: {ended.elapsed_s:.1f} s"  # 15 s of waits
    assert ended.result.returncode == 1, ended.result
    host = file_host(sites)
    tries = len([p for m, p, _ in sites.files.requests if m == "GET"])
    assert tries == 5, f"failing file host: {tries} tries"
    assert ended.lines[:-1] == [
        f"atelier download: {host} answered HTTP 500 — trying again in {wait} s (try {n} of 5)…"
        for n, wait in ((2, 1), (3, 2), (4, 4), (5, 8))
    ]
    assert ended.lines[-1].startswith(
        f"atelier download: {host} is not answering (HTTP 500) — gave up after 5 tries in "
    ), ended.lines[-1]
    assert ended.lines[-1].endswith(" s. Try again later."), ended.lines[-1]


def _check_failing_civitai(ended: GaveUp, sites: Sites) -> None:
    """Civitai's API answers 502 every time: the session's default policy (core.net's, as the app builds
    it) tries 4 times, waiting 1, 2 and 4 s, and names Civitai at the end, all within 30 s."""
    assert ended.elapsed_s < PROMISE_S, f"failing Civitai: {ended.elapsed_s:.1f} s"  # 7 s of waits
    assert ended.result.returncode == 1, ended.result
    lookups = len([p for m, p, _ in sites.civitai.requests if m == "GET"])
    assert lookups == 4, f"failing Civitai: {lookups} tries"
    assert [line.split(" — ", 1)[1] for line in ended.lines[:-1]] == [
        f"trying again in {wait} s (try {n} of 4)…" for n, wait in ((2, 1), (3, 2), (4, 4))
    ], ended.lines
    assert ended.lines[-1].startswith(
        "atelier download: Civitai is not answering (HTTP 502) — gave up after 4 tries in "
    ), ended.lines[-1]
    assert not sites.files.requests, "failing Civitai: nothing was fetched from the file host"


@pytest.mark.slow
def test_a_download_gives_up_within_30_seconds_and_at_once_on_a_wait_past_the_budget(tmp_path: Path) -> None:
    """The default budget, as a user meets it, four ways at once (each its own main.py and sites): a
    silent file host, a failing file host, a failing Civitai, and a rate limit asking past the budget."""
    with ExitStack() as stack:
        silent = stack.enter_context(silent_server())
        quiet, failing, civitai_down, limited = (
            stack.enter_context(loopback_sites(tmp_path / name))
            for name in ("silent", "failing", "civitai", "limited")
        )
        quiet.file_state.faults[FILE_PATH] = Fault(redirect_to=f"{silent}/pixel_art.safetensors")
        failing.file_state.faults[FILE_PATH] = Fault(status=500)
        civitai_state: CivitaiState = civitai_down.civitai.state
        civitai_state.fail_next(502, 50)
        limited.file_state.faults[FILE_PATH] = Fault(status=429, retry_after="3600")

        cases: list[tuple[Sites, Callable[[GaveUp], None]]] = [
            (quiet, lambda ended: _check_silent_file_host(ended, silent)),
            (failing, lambda ended: _check_failing_file_host(ended, failing)),
            (civitai_down, lambda ended: _check_failing_civitai(ended, civitai_down)),
            (limited, lambda ended: _check_rate_limit_past_the_budget(ended, limited)),
        ]
        with ThreadPoolExecutor(len(cases)) as pool:
            runs = [pool.submit(_download_timed, sites, then_list=sites is limited) for sites, _ in cases]
            ended = [future.result() for future in runs]

    for (_, check), one in zip(cases, ended, strict=True):
        check(one)
