"""CivitaiClient against the fake Civitai on a real loopback server (no mocking of requests)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from core.net import make_session
from core.site_tokens import SiteToken, TokenPolicy
from core.sources.civitai import CivitaiClient
from core.sources.errors import (
    ArchivedError,
    AuthRequiredError,
    EarlyAccessError,
    ForbiddenError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RemoteError,
    ServerError,
    UnexpectedResponseError,
)
from tests.fakes.civitai_api import CivitaiState, fake_civitai
from tests.fakes.server import FakeServer

TOKEN = "civitai-secret-" + secrets.token_hex(8)
LORA_SHA256 = "A599C42A9F4F7494C7F410DBC0FD432CF0242720509E9D52FA41AAC7A88D1B69"  # version 242807
CKPT_SHA256 = "EE2AB6D8723611D9A2FA9B0C8CE5A3770A84189A92B53D5E6CF44B02B9F8E033"  # version 1292


def fast_session(base_url: str, token: str | None = TOKEN, retries: int = 3) -> requests.Session:
    """A session sending ``token`` to ``base_url``'s origin (and nowhere else), with quick retries."""
    auth = TokenPolicy(SiteToken.fixed("Civitai", base_url, token))
    return make_session(auth=auth, retries=retries, backoff_factor=0.001, backoff_max=0.01)


@pytest.fixture(scope="module")
def running_server() -> Iterator[FakeServer]:
    """One server for the module: stopping one costs up to half a second (serve_forever's poll)."""
    with fake_civitai() as srv:
        yield srv


@pytest.fixture
def server(running_server: FakeServer) -> FakeServer:
    """The shared server with fresh reference data, no fault switches and an empty request log."""
    running_server.state = CivitaiState.from_reference()
    with running_server.lock:
        running_server.requests.clear()
    return running_server


@pytest.fixture
def state(server: FakeServer) -> CivitaiState:
    result: CivitaiState = server.state
    return result


@pytest.fixture
def client(server: FakeServer) -> CivitaiClient:
    return CivitaiClient(fast_session(server.base_url), server.base_url + "/")


def _query(server: FakeServer, index: int = -1) -> tuple[str, dict[str, list[str]]]:
    _method, path, _headers = server.requests[index]
    url = urlsplit(path)
    return url.path, parse_qs(url.query)


def test_base_url_trailing_slash_and_bearer_header(client: CivitaiClient, server: FakeServer) -> None:
    assert client.base_url == server.base_url
    model = client.get_model(1102)
    assert model.name == "SynthwavePunk"
    _method, path, headers = server.requests[-1]
    assert path == "/api/v1/models/1102"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"


def test_search_params_sent(client: CivitaiClient, server: FakeServer) -> None:
    client.search_models(
        "turbo",
        tag="tool",
        username="test_author",
        types=("LORA", "LoCon"),
        base_models=("SDXL 1.0", "Pony"),
        sort="Most Downloaded",
        period="Month",
        nsfw=True,
        limit=5,
        cursor="40|932023",
    )
    path, query = _query(server)
    assert path == "/api/v1/models"
    assert query == {
        "query": ["turbo"],
        "tag": ["tool"],
        "username": ["test_author"],
        "types": ["LORA", "LoCon"],
        "baseModels": ["SDXL 1.0", "Pony"],
        "sort": ["Most Downloaded"],
        "period": ["Month"],
        "nsfw": ["true"],
        "limit": ["5"],
        "cursor": ["40|932023"],
    }
    assert "page" not in query


def test_search_filters_and_results(client: CivitaiClient, server: FakeServer) -> None:
    page = client.search_models("turbo", types=("LORA",), base_models=("SDXL 1.0",))
    assert [m.id for m in page.items] == [215485]
    assert page.items[0].versions[0].model_id == 215485
    assert page.next_cursor is None
    page = client.search_models(tag="synthwave", nsfw=False)
    assert [m.name for m in page.items] == ["SynthwavePunk"]
    _path, query = _query(server)
    assert query["nsfw"] == ["false"]
    assert "query" not in query
    by_downloads = client.search_models(sort="Most Downloaded")
    assert by_downloads.items[0].id == 3036  # 56206 downloads, the most of the sample


def test_cursor_paging_over_three_pages(client: CivitaiClient, server: FakeServer) -> None:
    seen: list[int] = []
    cursors: list[str | None] = [None]
    while True:
        page = client.search_models(limit=2, nsfw=True, cursor=cursors[-1])
        seen.extend(m.id for m in page.items)
        if page.next_cursor is None:
            break
        cursors.append(page.next_cursor)
    assert len(cursors) == 3
    assert sorted(seen) == [1102, 3036, 4514, 8109, 215485]
    assert [_query(server, i)[1].get("cursor") for i in range(-3, 0)] == [None, ["2|5"], ["4|5"]]


def test_get_version_and_by_hash(client: CivitaiClient, server: FakeServer) -> None:
    version = client.get_version(242807)
    assert version.model_name == "SDXL Turbo-LoRA-Stable Diffusion XL faster than light"
    for digest in (LORA_SHA256, LORA_SHA256.lower(), "6DC5F47A", "a599c42a9f", "BF967A66"):
        found = client.version_by_hash(digest)
        assert found is not None
        assert found.id == 242807
        assert found.model_id == 215485
    assert server.requests[-1][1] == "/api/v1/model-versions/by-hash/BF967A66"
    assert client.version_by_hash("0" * 64) is None
    with pytest.raises(ValueError, match="not a hash"):
        client.version_by_hash("../models/1")


def test_versions_by_hashes_batches_of_100(client: CivitaiClient, state: CivitaiState) -> None:
    unknown = [secrets.token_hex(32) for _ in range(248)]
    wanted = [*unknown[:120], LORA_SHA256.lower(), *unknown[120:], CKPT_SHA256]
    assert len(wanted) == 250
    found = client.versions_by_hashes(wanted)
    assert [len(body) for body in state.post_bodies] == [100, 100, 50]
    assert all(h == h.upper() for body in state.post_bodies for h in body)
    assert set(found) == {LORA_SHA256, CKPT_SHA256}
    assert found[LORA_SHA256].id == 242807
    assert found[CKPT_SHA256].id == 1292
    assert client.versions_by_hashes([]) == {}
    with pytest.raises(ValueError, match="SHA-256"):
        client.versions_by_hashes(["6DC5F47A"])


def test_images_and_tags(client: CivitaiClient, server: FakeServer) -> None:
    first = client.images(1318, limit=1)
    assert [i.id for i in first.items] == [469632]
    assert first.items[0].nsfw_level == 1
    assert first.next_cursor == "1|2"
    second = client.images(1318, limit=1, cursor=first.next_cursor)
    assert [i.nsfw_level for i in second.items] == [8]
    assert second.next_cursor is None
    _path, query = _query(server)
    assert query == {"modelVersionId": ["1318"], "limit": ["1"], "cursor": ["1|2"]}
    explicit = client.images(1318, nsfw_level=8)
    assert [i.id for i in explicit.items] == [469633]
    assert _query(server)[1]["browsingLevel"] == ["8"]
    assert client.tags() == ["Pepe Larraz", "comic book", "style"]
    assert client.tags("comic", limit=3) == ["comic book"]
    assert _query(server)[1] == {"limit": ["3"], "query": ["comic"]}


def test_download_urls(client: CivitaiClient, server: FakeServer) -> None:
    base = server.base_url
    assert client.download_url(1292) == f"{base}/api/download/models/1292"
    assert client.download_url(1292, 194) == f"{base}/api/download/models/1292"  # the primary file
    assert (
        client.download_url(1292, 5149) == f"{base}/api/download/models/1292?type=Model&format=PickleTensor"
    )
    version = client.get_version(243508)
    count = len(server.requests)
    url = client.download_url(243508, 189448, version=version)
    assert url == f"{base}/api/download/models/243508?type=Training%20Data&format=Other"
    assert len(server.requests) == count  # no refetch when the version is given
    with pytest.raises(NotFoundError):
        client.download_url(1292, 999)


def test_429_with_retry_after_then_success(
    client: CivitaiClient, server: FakeServer, state: CivitaiState
) -> None:
    state.fail_next(429, 2, retry_after="0")
    assert client.get_model(1102).id == 1102
    assert len(server.requests) == 3


def test_500_then_success(client: CivitaiClient, server: FakeServer, state: CivitaiState) -> None:
    state.fail_next(500)
    assert client.get_version(1318).name == "toad"
    assert len(server.requests) == 2
    state.fail_next(503)
    assert client.versions_by_hashes([LORA_SHA256])[LORA_SHA256].id == 242807  # POSTs are retried too


def test_rate_limited_after_retries(server: FakeServer, state: CivitaiState) -> None:
    # No retries: a retry would sleep Retry-After.
    client = CivitaiClient(fast_session(server.base_url, retries=0), server.base_url)
    state.fail_next(429, retry_after="7", body={"error": "Too Many Requests"})
    with pytest.raises(RateLimitedError) as info:
        client.get_model(1102)
    assert info.value.retry_after_s == 7
    assert str(info.value).startswith("Civitai asked to wait 7 s (rate limit")
    state.fail_next(429)
    with pytest.raises(RateLimitedError, match="daily download limit") as info:
        client.get_model(1102)
    assert info.value.retry_after_s is None
    state.fail_next(502)
    with pytest.raises(ServerError, match="server error 502"):
        client.get_model(1102)


@pytest.mark.parametrize(
    "case",
    [
        (401, {"error": "Unauthorized"}, AuthRequiredError, "refused the API key"),
        (
            403,
            {"error": "Early Access", "deadline": "2026-12-01T00:00:00.000Z"},
            EarlyAccessError,
            "2026-12-01",
        ),
        (403, {"error": "Forbidden"}, ForbiddenError, "does not allow access"),
        (404, {"error": "No model with id 1102"}, NotFoundError, "does not have model 1102"),
        (410, {"error": "Archived"}, ArchivedError, "archived"),
    ],
)
def test_status_errors(
    client: CivitaiClient, state: CivitaiState, case: tuple[int, dict[str, str], type, str]
) -> None:
    status, body, error, words = case
    state.id_errors[1102] = (status, body)
    with pytest.raises(error, match=words) as info:
        client.get_model(1102)
    assert isinstance(info.value, RemoteError)
    assert info.value.status == status


def test_auth_required_without_token_says_how_to_add_one(server: FakeServer, state: CivitaiState) -> None:
    client = CivitaiClient(fast_session(server.base_url, token=None), server.base_url)
    state.id_errors[242807] = (401, {"error": "Unauthorized"})
    with pytest.raises(AuthRequiredError) as info:
        client.get_version(242807)
    assert "Settings" in str(info.value)
    assert "ATELIER_CIVITAI_TOKEN" in str(info.value)
    assert "Authorization" not in server.requests[-1][2]


def test_early_access_keeps_deadline(client: CivitaiClient, state: CivitaiState) -> None:
    state.id_errors[1292] = (403, {"error": "Early Access", "deadline": "2026-12-01T00:00:00.000Z"})
    with pytest.raises(EarlyAccessError) as info:
        client.get_version(1292)
    assert info.value.deadline == datetime(2026, 12, 1, tzinfo=UTC)
    assert str(info.value).startswith("Model version 1292 is in Early Access until 2026-12-01 00:00 UTC")


def test_html_instead_of_json(client: CivitaiClient, state: CivitaiState) -> None:
    state.html_next = 1
    with pytest.raises(UnexpectedResponseError, match="login") as info:
        client.get_model(1102)
    assert "address in Settings" in str(info.value)


def test_wrong_base_url_gives_typed_errors(server: FakeServer) -> None:
    client = CivitaiClient(fast_session(server.base_url), server.base_url + "/api/v1")  # a common mistake
    with pytest.raises(NotFoundError):
        client.get_model(1102)
    dead = CivitaiClient(fast_session("http://127.0.0.1:9", retries=0), "http://127.0.0.1:9")
    with pytest.raises(NetworkError, match=r"Cannot reach 127\.0\.0\.1:9 — the connection was refused"):
        dead.get_model(1)


def test_malformed_json_is_unexpected(client: CivitaiClient, state: CivitaiState) -> None:
    state.models[5] = {"name": "no id"}
    with pytest.raises(UnexpectedResponseError, match="does not understand"):
        client.get_model(5)


def test_token_never_in_messages_or_logs(
    client: CivitaiClient, state: CivitaiState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state.id_errors[1102] = (401, {"error": "Unauthorized", "message": f"bad token {TOKEN}"})
    state.id_errors[1292] = (403, {"error": "Forbidden", "message": f"Bearer {TOKEN}"})
    messages: list[str] = []
    for call in (lambda: client.get_model(1102), lambda: client.get_version(1292)):
        with pytest.raises(RemoteError) as info:
            call()
        messages += [str(info.value), repr(info.value), json.dumps(info.value.args)]
    state.html_next = 1
    with pytest.raises(UnexpectedResponseError) as html_info:
        client.get_model(4514)
    messages.append(str(html_info.value))
    assert any("<redacted>" in m for m in messages)  # the echoed token was there, and was removed
    assert all(TOKEN not in m for m in messages)
    assert TOKEN not in caplog.text


def test_models_by_ids_fetches_many_in_one_request(client: CivitaiClient, server: FakeServer) -> None:
    state: CivitaiState = server.state
    wanted = sorted(state.models)[:2]

    found = client.models_by_ids([*wanted, wanted[0], 987654321])

    assert sorted(found) == wanted
    assert all(model.tags is not None for model in found.values())
    gets = [path for method, path, _ in server.requests if method == "GET"]
    assert len(gets) == 1
    assert "ids=" in gets[0]
