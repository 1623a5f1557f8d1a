"""The shared HTTP session fails fast and says why: real loopback servers, real refused ports, real DNS.

A refused connection is a loopback port with nothing listening; a failed name lookup is a host under
``.invalid`` (RFC 6761: never resolves). Elapsed times are asserted, since "fast" is the feature.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial

import pytest
import requests

import core.sources.images
from core.net import (
    ANSWER_GRACE_S,
    MIN_TRY_TIMEOUT_S,
    ConnectFailure,
    RetryPolicy,
    classify_failure,
    make_session,
)
from core.sources.civitai import CivitaiClient
from core.sources.errors import NetworkError, RateLimitedError, RemoteError, ServerError
from core.sources.images import fetch_image_bytes
from core.waits import WaitNotice, waits_reported_to
from tests.fakes.civitai_api import CivitaiState, fake_civitai
from tests.fakes.file_server import Fault, serve_files
from tests.fakes.server import FakeServer
from tests.fakes.side_by_side import Outcome, side_by_side
from tests.fakes.silent_server import TRICKLE_BODY, TRICKLE_HEADERS, silent_server, trickle_server

# A budget of the tests' own, as short as a try may be (MIN_TRY_TIMEOUT_S): the waits below are this
# long. The default budget is timed end to end (tests/app/test_download_give_up.py).
BUDGET_S = MIN_TRY_TIMEOUT_S
# A trickling site sends a byte this often: well inside the read timeout (the budget) it renews, so only
# the deadline for the whole answer can end the wait.
TRICKLE_S = 0.2


@pytest.fixture(scope="module")
def running_server() -> Iterator[FakeServer]:
    with fake_civitai() as srv:
        yield srv


@pytest.fixture
def server(running_server: FakeServer) -> FakeServer:
    running_server.state = CivitaiState.from_reference()
    with running_server.lock:
        running_server.requests.clear()
    return running_server


def free_port() -> int:
    """A loopback port with nothing listening on it (bound, read, closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_failed_name_lookup_is_reported_at_once_with_default_session() -> None:
    client = CivitaiClient(make_session(), "http://civitai.invalid")
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        client.search_models("detail")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert str(info.value).startswith("Cannot reach civitai.invalid — its name could not be looked up.")
    assert "Check your internet connection" in str(info.value)


def test_refused_connection_is_tried_once_more_then_reported_within_two_seconds() -> None:
    port = free_port()
    client = CivitaiClient(make_session(), f"http://127.0.0.1:{port}")
    notices: list[WaitNotice] = []
    started = time.monotonic()
    with waits_reported_to(notices.append), pytest.raises(NetworkError) as info:
        client.get_model(1102)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert str(info.value) == (
        f"Cannot reach 127.0.0.1:{port} — the connection was refused. The site may be down, or the "
        "address in Settings is wrong."
    )
    assert [n.reason for n in notices] == ["the connection was refused"]  # one quick second try, no storm


def test_server_errors_give_up_within_the_time_budget_and_say_so(server: FakeServer) -> None:
    state: CivitaiState = server.state
    state.fail_next(503, 50)
    session = make_session(retries=20, backoff_factor=0.1, backoff_max=0.1, give_up_after_s=0.6)
    client = CivitaiClient(session, server.base_url)
    notices: list[WaitNotice] = []
    started = time.monotonic()
    with waits_reported_to(notices.append), pytest.raises(ServerError) as info:
        client.get_model(1102)
    elapsed = time.monotonic() - started
    tries = len(server.requests)
    assert 4 <= tries <= 8  # bounded by the budget, not by the 20 retries allowed
    assert elapsed < 1.0
    assert str(info.value).startswith(f"Civitai is not answering (HTTP 503) — gave up after {tries} tries in")
    assert len(notices) == tries - 1
    assert notices[0].text("Civitai") == "Civitai answered HTTP 503 — trying again in a moment (try 2 of 21)…"


def test_retry_after_is_honoured_and_announced(server: FakeServer) -> None:
    state: CivitaiState = server.state
    state.fail_next(429, retry_after="1")
    client = CivitaiClient(make_session(), server.base_url)
    notices: list[WaitNotice] = []
    started = time.monotonic()
    with waits_reported_to(notices.append):
        assert client.get_model(1102).id == 1102
    assert time.monotonic() - started >= 1.0
    assert [n.text("Civitai") for n in notices] == ["Civitai asked us to wait 1 s… (try 2 of 4)"]


def test_a_wait_past_the_budget_is_not_started(server: FakeServer) -> None:
    """Civitai's daily limit answers Retry-After: 3600; sleeping an hour in a search is not an option."""
    state: CivitaiState = server.state
    state.fail_next(429, retry_after="3600", body={"error": "Too Many Requests"})
    client = CivitaiClient(make_session(), server.base_url)
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        client.get_model(1102)
    assert time.monotonic() - started < 2.0
    assert info.value.retry_after_s == 3600
    assert str(info.value).startswith("Civitai asked to wait 3600 s (rate limit")
    assert len(server.requests) == 1


def test_rate_limit_after_retries_names_the_tries(server: FakeServer) -> None:
    state: CivitaiState = server.state
    state.fail_next(429, 3, retry_after="0")
    client = CivitaiClient(make_session(retries=2), server.base_url)
    with pytest.raises(RateLimitedError, match=r"\(gave up after 3 tries in 0 s\)"):
        client.get_model(1102)


def test_session_default_hears_waits_when_no_block_claims_them(server: FakeServer) -> None:
    state: CivitaiState = server.state
    state.fail_next(500)
    heard: list[WaitNotice] = []
    client = CivitaiClient(make_session(backoff_factor=0.01, on_wait=heard.append), server.base_url)
    assert client.get_model(1102).id == 1102
    assert [(n.reason, n.attempt) for n in heard] == [("HTTP 500", 2)]


SILENT = "silent"


@pytest.fixture(scope="module")
def waited() -> Iterator[dict[str, tuple[str, Outcome]]]:
    """A Civitai lookup from a site that accepts and never answers, and from one trickling its headers or
    its body: each waits out the budget against a server of its own, side by side
    (tests/fakes/side_by_side.py), so the module waits once, before its first test; each test asserts
    on its own. Keyed by
    ``SILENT`` and the trickle's phase: the site's address and how its lookup ended."""
    with ExitStack() as stack:
        urls = {SILENT: stack.enter_context(silent_server())}
        for phase in (TRICKLE_HEADERS, TRICKLE_BODY):
            urls[phase] = stack.enter_context(trickle_server(phase, interval_s=TRICKLE_S))
        clients = {
            name: CivitaiClient(make_session(give_up_after_s=BUDGET_S), url) for name, url in urls.items()
        }
        ended = side_by_side({name: partial(c.get_model, 1102) for name, c in clients.items()})
        yield {name: (urls[name], ended[name]) for name in urls}


def test_a_site_that_accepts_and_never_answers_is_given_up_within_the_budget(
    waited: dict[str, tuple[str, Outcome]],
) -> None:
    """The read timeout (60 s) is cut to the retry budget: no request waits longer than the budget."""
    url, ended = waited[SILENT]
    error = ended.raised(NetworkError)
    assert BUDGET_S - 0.1 < ended.elapsed_s < 4.5
    assert (
        str(error)
        == f"{url.removeprefix('http://')} stopped answering (nothing arrived in time). Try again later."
    )


@pytest.mark.parametrize("phase", [TRICKLE_HEADERS, TRICKLE_BODY])
def test_a_site_that_trickles_its_answer_a_byte_at_a_time_is_given_up_within_the_budget(
    waited: dict[str, tuple[str, Outcome]], phase: str
) -> None:
    """Every byte renews the read timeout, so only the whole-answer deadline ends the wait: through the
    real Civitai client, headers or body trickling, the lookup ends within the budget, naming the host."""
    url, ended = waited[phase]
    error = ended.raised(NetworkError)
    # Past the read timeout the trickle kept renewing, then the deadline.
    assert BUDGET_S < ended.elapsed_s < 4.5
    host = url.removeprefix("http://")
    assert str(error) == f"{host} sent its answer too slowly — gave up after 1 s. Try again later."


def test_a_trickling_answer_is_not_retried_and_the_session_still_works_after(server: FakeServer) -> None:
    """The deadline shuts down only the connection it timed out: one try, and the same session then
    fetches from a healthy site as usual (no deadline left behind on the thread). The healthy fetch made
    before the trickle left its connection in the pool, and its deadline's time passes during the trickle:
    a late timer must not touch that pooled connection, which the fetch after reuses."""
    session = make_session(give_up_after_s=BUDGET_S)
    started = time.monotonic()
    assert CivitaiClient(session, server.base_url).get_model(1102).id == 1102
    with (
        trickle_server(TRICKLE_BODY, interval_s=TRICKLE_S) as url,
        pytest.raises(requests.ConnectionError) as info,
    ):
        session.get(f"{url}/api/v1/models/1")
    assert classify_failure(info.value) is ConnectFailure.TOO_SLOW
    # Past the first fetch's deadline (the budget plus its grace), as the trickle's own deadline is later.
    assert time.monotonic() - started > BUDGET_S + ANSWER_GRACE_S
    assert CivitaiClient(session, server.base_url).get_model(1102).id == 1102
    assert time.monotonic() - started < 3.5


# The default session's own budget (a site failing with 502 is tried 4 times and given up within 30 s) is
# timed end to end, through main.py and the session the app builds with make_session's defaults, in
# tests/app/test_download_give_up.py: there its 7 s of waits run beside the download's own default waits.


def test_an_image_cut_off_midway_is_a_network_error_saying_so() -> None:
    with serve_files() as (srv, state):
        state.add("/cover.png", b"x" * 5000, Fault(cut_after=10, cut_times=1))
        with pytest.raises(NetworkError, match="closed the connection before answering"):
            fetch_image_bytes(make_session(), f"{srv.base_url}/cover.png")
        assert fetch_image_bytes(make_session(), f"{srv.base_url}/cover.png") == b"x" * 5000


def test_image_fetch_failures_are_network_errors_with_the_reason() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(NetworkError, match="connection was refused"):
        fetch_image_bytes(make_session(), f"http://127.0.0.1:{port}/a.png")
    assert time.monotonic() - started < 2.0


def test_classification_of_plain_socket_errors() -> None:
    assert classify_failure(socket.gaierror(-2, "Name or service not known")) is ConnectFailure.NAME_LOOKUP
    assert classify_failure(ConnectionRefusedError(111, "refused")) is ConnectFailure.REFUSED
    assert classify_failure(ConnectionResetError(104, "reset")) is ConnectFailure.DROPPED


def test_policy_never_waits_past_the_budget() -> None:
    policy = RetryPolicy(retries=5, backoff_factor=1.0, backoff_max=10.0, give_up_after_s=30.0)
    assert policy.after_status(503, None, tries=1, elapsed=0.0) == 1.0
    assert policy.after_status(503, None, tries=3, elapsed=0.0) == 4.0
    assert policy.after_status(503, 10.0, tries=1, elapsed=25.0) is None
    assert policy.after_status(404, None, tries=1, elapsed=0.0) is None
    assert policy.after_failure(ConnectFailure.NAME_LOOKUP, tries=1, elapsed=0.0) is None
    assert policy.after_failure(ConnectFailure.REFUSED, tries=2, elapsed=0.3) is None


def test_an_image_trickled_a_byte_at_a_time_is_given_up_by_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every byte renews the read timeout; only a deadline for the whole body ends the wait.
    monkeypatch.setattr(core.sources.images, "IMAGE_DEADLINE_S", BUDGET_S)
    with trickle_server(TRICKLE_BODY, content_type="image/png", interval_s=TRICKLE_S) as url:
        started = time.monotonic()
        with pytest.raises(RemoteError, match="sent the preview image too slowly"):
            fetch_image_bytes(make_session(), f"{url}/cover.png")
        assert time.monotonic() - started < 4.0
