"""How a download gives up: a rate limit past the budget ends at once, a failing or silent file host is
given up within 30 s with every wait said (as a user meets the default budget, through main.py).

Kept apart from test_download_cli.py, and the silent host in test_download_silent_host.py, so the
suite's two workers share these slow tests' waits.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from core.net import host_of
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites
from tests.app.main_process import run_main
from tests.fakes.file_server import Fault


def run(sites: Sites, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_main(*args, env=sites.env, check=check)


def file_host(sites: Sites) -> str:
    """What messages call the loopback file server: the version's download link is on it, not on the
    configured Civitai, so it is Civitai's file host, never "Civitai"."""
    return f"{host_of(sites.files.base_url)} (the file host Civitai pointed to)"


def test_a_rate_limit_past_the_budget_ends_at_once_with_the_wait_asked(sites: Sites, tmp_path: Path) -> None:
    sites.file_state.faults[FILE_PATH] = Fault(status=429, retry_after="3600")
    said = f"{file_host(sites)} asked to wait 3600 s (rate limit, HTTP 429); try again later."

    started = time.monotonic()
    failed = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(tmp_path / "lib"), check=False)

    assert time.monotonic() - started < 15.0  # a process start and two lookups; no waiting at all
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [f"atelier download: {said}"]
    assert len([p for m, p, _ in sites.files.requests if m == "GET"]) == 1
    (record,) = json.loads(run(sites, "downloads", "--json").stdout)
    assert (record["status"], record["error"]) == ("failed", said)


@pytest.mark.slow
def test_a_server_that_keeps_failing_is_given_up_within_30_seconds(sites: Sites, tmp_path: Path) -> None:
    """The default budget, as a user meets it: every wait said, one line with the reason at the end,
    the whole command (process start included) within 30 s."""
    sites.file_state.faults[FILE_PATH] = Fault(status=500)
    host = file_host(sites)

    started = time.monotonic()
    failed = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(tmp_path / "lib"), check=False)
    elapsed = time.monotonic() - started

    assert elapsed < 30.0  # 15 s of waits and a process start; 170 s before
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    tries = len([p for m, p, _ in sites.files.requests if m == "GET"])
    assert tries == 5
    assert lines[:-1] == [
        f"atelier download: {host} answered HTTP 500 — trying again in {wait} s (try {n} of 5)…"
        for n, wait in ((2, 1), (3, 2), (4, 4), (5, 8))
    ]
    assert lines[-1].startswith(
        f"atelier download: {host} is not answering (HTTP 500) — gave up after 5 tries in "
    )
    assert lines[-1].endswith(" s. Try again later.")
