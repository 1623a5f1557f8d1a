"""huggingface_hub's client under Atelier's fail-fast policy: offline in well under 2 s, 5xx bounded.

Real loopback servers: the fake Hub for answers, a port with nothing listening for a refused connection,
a ``.invalid`` host for a failed name lookup. The library's paged calls (search, file tree) are the ones
that used to retry a dead host five times with backoff (23 s), so they are the ones timed here.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import get_hf_file_metadata

from core.net import RetryPolicy
from core.sources.hf_errors import HfOfflineError, HfRateLimitedError, HfServerError
from core.sources.hf_transport import token_only_to
from core.sources.huggingface import HuggingFaceClient
from core.waits import WaitNotice, waits_reported_to
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve
from tests.fakes.silent_server import TRICKLE_BODY, TRICKLE_HEADERS, silent_server, trickle_server

FAST = RetryPolicy(retries=3, backoff_factor=0.05, backoff_max=0.05)


@pytest.fixture(autouse=True)
def hf_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def hub() -> Iterator[FakeServer]:
    with serve(HubHandler, HubState()) as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("call", ["search", "tree"])
def test_failed_name_lookup_is_reported_at_once(call: str) -> None:
    client = HuggingFaceClient("http://hub.invalid", retry_policy=FAST)
    started = time.monotonic()
    with pytest.raises(HfOfflineError) as info:
        client.search_models("lora") if call == "search" else client.file_tree("a/b")
    assert time.monotonic() - started < 2.0
    assert str(info.value).startswith("Cannot reach hub.invalid — its name could not be looked up.")


def test_refused_connection_is_reported_within_two_seconds() -> None:
    port = free_port()
    client = HuggingFaceClient(f"http://127.0.0.1:{port}", retry_policy=FAST)
    started = time.monotonic()
    with pytest.raises(HfOfflineError, match="the connection was refused"):
        client.search_models("lora")
    assert time.monotonic() - started < 2.0


def test_server_errors_are_retried_a_bounded_number_of_times_and_announced(hub: FakeServer) -> None:
    state: HubState = hub.state
    state.fail_status = 503
    client = HuggingFaceClient(hub.base_url, retry_policy=FAST)
    notices: list[WaitNotice] = []
    started = time.monotonic()
    with waits_reported_to(notices.append), pytest.raises(HfServerError) as info:
        client.search_models("lora")
    assert time.monotonic() - started < 2.0
    assert len(hub.requests) == 4  # the first try and FAST's 3 retries; the library adds none
    assert str(info.value).startswith("Hugging Face is not answering (HTTP 503) — gave up after 4 tries")
    assert [n.attempt for n in notices] == [2, 3, 4]


def test_rate_limit_is_reported_with_the_tries(hub: FakeServer) -> None:
    state: HubState = hub.state
    state.fail_status = 429
    client = HuggingFaceClient(hub.base_url, retry_policy=FAST)
    with pytest.raises(HfRateLimitedError, match=r"rate-limiting requests.*gave up after 4 tries"):
        client.model_info("a/b")


def test_a_hub_that_accepts_and_never_answers_is_given_up_within_the_budget() -> None:
    with silent_server() as url:
        client = HuggingFaceClient(url, retry_policy=RetryPolicy(retries=3, give_up_after_s=1.5))
        started = time.monotonic()
        with pytest.raises(HfOfflineError, match="stopped answering"):
            client.search_models("lora")
        elapsed = time.monotonic() - started
    assert elapsed < 4.5  # not the library's 10 s timeout, nor five of them


def test_the_token_goes_to_the_hub_and_nowhere_else(hub: FakeServer) -> None:
    """The library puts the token on every request it makes, to any URL it is given; the transport lets
    it through only to the calling client's endpoint. Another port of the same host gets none, and so
    does any request made outside a client's call."""
    state: HubState = hub.state
    state.add({"id": "a/b", "sha": "c" * 40}, contents={"x.safetensors": b"weights"})
    client = HuggingFaceClient(hub.base_url, token="hf_secret", retry_policy=FAST)
    assert client.resolve_file("a/b", "x.safetensors").size == len(b"weights")
    with serve(HubHandler, state) as other:
        url = f"{other.base_url}/a/b/resolve/main/x.safetensors"
        with token_only_to(hub.base_url):
            assert get_hf_file_metadata(url, token="hf_secret").size == len(b"weights")
        assert get_hf_file_metadata(url, token="hf_secret").size == len(b"weights")
    assert [h.get("authorization") for _m, _p, h in hub.requests] == ["Bearer hf_secret"]
    assert len(other.requests) == 2
    assert all("hf_secret" not in str(h) for _m, _p, h in other.requests)


@pytest.mark.parametrize("phase", [TRICKLE_HEADERS, TRICKLE_BODY])
def test_a_hub_that_answers_one_byte_a_second_is_given_up_within_the_budget(phase: str) -> None:
    """Each byte renews the read timeout; the try's whole-answer deadline ends the search anyway."""
    with trickle_server(phase) as url:
        client = HuggingFaceClient(url, retry_policy=RetryPolicy(retries=3, give_up_after_s=2.5))
        started = time.monotonic()
        with pytest.raises(HfOfflineError) as info:
            client.search_models("lora")
        elapsed = time.monotonic() - started
    assert 2.0 < elapsed < 5.0
    host = url.removeprefix("http://")
    assert str(info.value) == f"{host} sent its answer too slowly — gave up after 2 s. Try again later."
