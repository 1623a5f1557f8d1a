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
from huggingface_hub import get_hf_file_metadata, hf_hub_download

import core.net
from core.net import MIN_TRY_TIMEOUT_S, RetryPolicy
from core.sources import hf_transport
from core.sources.hf_errors import HfOfflineError, HfProtocolError, HfRateLimitedError, HfServerError
from core.sources.hf_transport import token_only_to
from core.sources.huggingface import HuggingFaceClient
from core.waits import WaitNotice, waits_reported_to
from tests.fakes.file_server import serve_files
from tests.fakes.hostile_server import Endless, GzipBomb, RedirectTo, hostile_server
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve
from tests.fakes.silent_server import TRICKLE_BODY, TRICKLE_HEADERS, silent_server, trickle_server

MIB = 1024 * 1024
FAST = RetryPolicy(retries=3, backoff_factor=0.05, backoff_max=0.05)
# A budget of the tests' own, as short as a try may be (MIN_TRY_TIMEOUT_S), for the hosts that never answer
# or trickle; a trickling host sends a byte every TRICKLE_S, well inside the read timeout it renews.
BUDGET_S = MIN_TRY_TIMEOUT_S
TRICKLE_S = 0.2


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
        client = HuggingFaceClient(url, retry_policy=RetryPolicy(retries=3, give_up_after_s=BUDGET_S))
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
def test_a_hub_that_trickles_its_answer_a_byte_at_a_time_is_given_up_within_the_budget(phase: str) -> None:
    """Each byte renews the read timeout; the try's whole-answer deadline ends the search anyway."""
    with trickle_server(phase, interval_s=TRICKLE_S) as url:
        client = HuggingFaceClient(url, retry_policy=RetryPolicy(retries=3, give_up_after_s=BUDGET_S))
        started = time.monotonic()
        with pytest.raises(HfOfflineError) as info:
            client.search_models("lora")
        elapsed = time.monotonic() - started
    assert BUDGET_S < elapsed < 5.0  # past the read timeout the trickle kept renewing, then the deadline
    host = url.removeprefix("http://")
    assert str(info.value) == f"{host} sent its answer too slowly — gave up after 1 s. Try again later."


def test_an_api_answer_redirected_off_the_api_stays_held_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model-info request is redirected to a path outside ``/api/`` that sends a gzip bomb: still an
    answer, still capped (the kind is decided on the first address and kept for the redirects)."""
    monkeypatch.setattr(core.net, "MAX_ANSWER_BYTES", 1 * MIB)
    with hostile_server() as (server, state):
        state.routes["/api/models/a/b"] = RedirectTo(f"{server.base_url}/elsewhere/bomb")
        state.routes["/elsewhere/bomb"] = GzipBomb(inflated=64 * MIB)
        client = HuggingFaceClient(server.base_url, retry_policy=FAST)
        with pytest.raises(HfProtocolError) as info:
            client.model_info("a/b")
    host = server.base_url.removeprefix("http://")
    assert str(info.value) == (
        f"{host} sent an answer too large to be its data (over 1 MiB once unpacked); Atelier stopped reading "
        "it. The address in Settings may be wrong."
    )


def test_an_answer_under_the_cap_still_arrives_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip answer the transport decodes itself reads as the JSON it packs."""
    monkeypatch.setattr(core.net, "MAX_ANSWER_BYTES", 1 * MIB)
    with hostile_server() as (server, state):
        state.routes["/api/models/a/b"] = GzipBomb(inflated=512 * 1024, prefix=b'{"id": "a/b", "pad": "')
        found = HuggingFaceClient(server.base_url, retry_policy=FAST).model_info("a/b")
    assert found.repo_id == "a/b"


@pytest.mark.parametrize("where", ["on the Hub", "redirected to a file host"])
def test_a_file_larger_than_the_answer_cap_still_downloads(
    hub: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """A file is not an answer: ``hf_hub_download`` (what the renderer's tokenizer fetch does through
    ``snapshot_download``) streams a file three times the cap to disk, from the Hub's ``/resolve/`` route
    or from the host it redirects to."""
    monkeypatch.setattr(core.net, "MAX_ANSWER_BYTES", 1 * MIB)
    data = bytes(range(256)) * (3 * MIB // 256)
    state: HubState = hub.state
    repo = state.add({"id": "a/b", "sha": "c" * 40}, contents={"x.safetensors": data})
    HuggingFaceClient(hub.base_url, retry_policy=FAST)  # installs the transport
    with serve_files() as (files, file_state):
        if where == "redirected to a file host":
            repo.redirects["x.safetensors"] = f"{files.base_url}{file_state.add('/cdn/x', data)}"
        path = hf_hub_download("a/b", "x.safetensors", endpoint=hub.base_url, cache_dir=tmp_path / "cache")
        assert Path(path).read_bytes() == data
        assert file_state.total_sent("/cdn/x") == (len(data) if where == "redirected to a file host" else 0)


def test_an_api_answer_that_never_ends_is_read_only_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """No encoding, no ``Content-Length``, zeros for ever: the reader stops at the cap and closes, so the
    server could send only what the socket buffers held past it (before: read until the budget ran out)."""
    monkeypatch.setattr(core.net, "MAX_ANSWER_BYTES", 1 * MIB)
    with hostile_server() as (server, state):
        state.routes["/api/models/a/b"] = Endless(head=b'{"id": "a/b", "pad": "', cap=256 * MIB)
        client = HuggingFaceClient(server.base_url, retry_policy=FAST)
        with pytest.raises(HfProtocolError, match="sent an answer too large to be its data"):
            client.model_info("a/b")
        time.sleep(0.2)  # the server notices the closed connection
        assert state.sent["/api/models/a/b"] < 64 * MIB


@pytest.mark.parametrize(
    "body",
    [Endless(head=b'{"version": "1.0", "pad": "', cap=256 * MIB), GzipBomb(inflated=256 * MIB)],
    ids=["endless", "gzip-bomb"],
)
def test_the_renderers_tokenizer_fetch_stops_a_file_past_the_file_cap(
    hub: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: Endless | GzipBomb
) -> None:
    """The renderer fetches T5's tokenizer from the configured endpoint, whose ``tokenizer.json`` is
    redirected to a host that sends zeros for ever, or a gzip bomb: the fetch stops past ``HUB_FILE_CAP``
    and says so in one line, with at most the cap on disk (before: written until the disk was full, the
    free-space guard of downloads not applying to the library's own fetches)."""
    from core.render import tokenizer as tok
    from core.render.families import T5_TOKENIZER
    from tests.factory.tiny_families import add_tokenizer_repo

    monkeypatch.setattr(hf_transport, "HUB_FILE_CAP", 4 * MIB)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    state: HubState = hub.state
    add_tokenizer_repo(state)
    with hostile_server() as (server, hostile):
        hostile.routes["/cdn/tokenizer.json"] = body
        repo = state.repos[T5_TOKENIZER.repo]
        repo.redirects[f"{T5_TOKENIZER.subfolder}/tokenizer.json"] = f"{server.base_url}/cdn/tokenizer.json"

        with pytest.raises(tok.TokenizerUnavailableError) as caught:
            tok.hub_tokenizer_dir(T5_TOKENIZER.repo, T5_TOKENIZER.subfolder)
        time.sleep(0.2)  # the server notices the closed connection
        sent = hostile.sent.get("/cdn/tokenizer.json", 0)

    host = server.base_url.removeprefix("http://")
    assert str(caught.value) == (
        f"the tokenizer {T5_TOKENIZER.repo}/{T5_TOKENIZER.subfolder} is not cached and could not be fetched "
        f"({host} sent a file larger than 4 MiB once unpacked, more than any tokenizer or config file; "
        "Atelier stopped reading it. The address in Settings may be wrong.); connect to the network once, "
        "or set HF_ENDPOINT to a reachable mirror"
    )
    on_disk = sum(f.stat().st_size for f in (tmp_path / "hf").rglob("*") if f.is_file())
    assert on_disk < 8 * MIB
    assert sent < 64 * MIB, "the fetch stopped reading"


def test_a_tokenizer_file_under_the_file_cap_is_fetched_as_before(
    hub: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cap stops only what is too large: a real tokenizer's files arrive whole."""
    from core.render import tokenizer as tok
    from core.render.families import T5_TOKENIZER
    from tests.factory.tiny_families import add_tokenizer_repo

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    state: HubState = hub.state
    add_tokenizer_repo(state)

    folder = tok.hub_tokenizer_dir(T5_TOKENIZER.repo, T5_TOKENIZER.subfolder)

    served = state.repos[T5_TOKENIZER.repo].contents[f"{T5_TOKENIZER.subfolder}/tokenizer.json"]
    assert (folder / "tokenizer.json").read_bytes() == served
