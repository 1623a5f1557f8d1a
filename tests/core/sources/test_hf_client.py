"""HuggingFaceClient against a fake Hub on the loopback interface (the real library, real HTTP)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

from core.net import RetryPolicy
from core.sources.hf_errors import (
    GATED_MESSAGE,
    HfAuthError,
    HfFileNotFoundError,
    HfGatedRepoError,
    HfOfflineError,
    HfRateLimitedError,
    HfRepoNotFoundError,
    HfRevisionNotFoundError,
    HfServerError,
    HuggingFaceError,
    translate,
)
from core.sources.hf_records import pipeline_components
from core.sources.huggingface import HuggingFaceClient
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve

DATA = Path(__file__).resolve().parents[2] / "data" / "huggingface"
TURBO = "stabilityai/sdxl-turbo"
NOFP16 = "stabilityai/sdxl-turbo-nofp16"
LORA = "InvokeAI-test/textual_inversion_tests"
GATED = "org/gated-lora"
TOKEN = "hf_secret_token_123"
FAST_RETRIES = RetryPolicy(retries=2, backoff_factor=0.01, backoff_max=0.01)
LORA_BYTES = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + bytes(range(256)) * 4
INDEX = json.dumps(
    {"_class_name": "StableDiffusionXLPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}
)


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def make_state() -> HubState:
    state = HubState()
    state.add(payload("RepoHFMetadata1.json"), contents={"model_index.json": INDEX.encode()})
    state.add({**payload("RepoHFMetadata1_nofp16.json"), "id": NOFP16, "downloads": 5})
    state.add(payload("HFTestLoraMetadata.json"))
    state.add(
        {
            "id": GATED,
            "sha": "a" * 40,
            "tags": ["lora", "base_model:stabilityai/stable-diffusion-xl-base-1.0"],
        },
        contents={"lora.safetensors": LORA_BYTES, "README.md": b"# gated"},
        gated_token=TOKEN,
    )
    for i in range(7):
        state.extra_models.append(
            {"id": f"someone/lora-{i}", "downloads": 100 - i, "likes": i, "tags": ["lora", "diffusers"]}
        )
    return state


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServer]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    with serve(HubHandler, make_state()) as server:
        yield server


@pytest.fixture
def client(hub: FakeServer) -> HuggingFaceClient:
    return HuggingFaceClient(endpoint=hub.base_url)


def api_queries(hub: FakeServer, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(p).query) for _, p, _ in hub.requests if urlsplit(p).path == path]


def test_endpoint_from_argument_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example/")
    assert HuggingFaceClient().endpoint == "http://mirror.example"
    assert HuggingFaceClient(endpoint="http://other.example").endpoint == "http://other.example"
    monkeypatch.delenv("HF_ENDPOINT")
    assert HuggingFaceClient().endpoint == "https://huggingface.co"
    assert TOKEN not in repr(HuggingFaceClient(token=TOKEN))


def test_search_sends_filters(client: HuggingFaceClient, hub: FakeServer) -> None:
    results = client.search_models(
        "turbo",
        author="stabilityai",
        tags=("diffusers", "text-to-image"),
        sort="likes",
        limit=5,
    )
    assert [r.repo_id for r in results] == [TURBO, NOFP16]
    turbo = results[0]
    assert turbo.author == "test_author"
    assert turbo.likes == 1297
    assert turbo.last_modified is not None
    assert "diffusers" in turbo.tags
    [query] = api_queries(hub, "/api/models")
    assert query["search"] == ["turbo"]
    assert query["author"] == ["stabilityai"]
    assert query["filter"] == ["diffusers", "text-to-image"]
    assert query["sort"] == ["likes"]
    assert query["limit"] == ["5"]
    assert "lastModified" in query["expand"]


def test_search_base_model_filter(client: HuggingFaceClient, hub: FakeServer) -> None:
    results = client.search_models(tags=["base_model:stabilityai/stable-diffusion-xl-base-1.0"])
    assert [r.repo_id for r in results] == [GATED]
    assert results[0].gated == "manual"
    [query] = api_queries(hub, "/api/models")
    assert query["filter"] == ["base_model:stabilityai/stable-diffusion-xl-base-1.0"]
    assert "search" not in query


def test_search_follows_link_pages(client: HuggingFaceClient, hub: FakeServer) -> None:
    state: HubState = hub.state
    state.page_size = 3
    results = client.search_models(tags=["lora"], sort="downloads", limit=6, offset=1)
    assert [r.repo_id for r in results] == [f"someone/lora-{i}" for i in range(1, 7)]
    queries = api_queries(hub, "/api/models")
    assert len(queries) == 3  # 7 results wanted (offset 1 + limit 6), 3 per page
    assert [q.get("cursor") for q in queries] == [None, ["3"], ["6"]]
    assert all(q["filter"] == ["lora"] for q in queries)


def test_model_info_sdxl_turbo(client: HuggingFaceClient, hub: FakeServer) -> None:
    detail = client.model_info(TURBO)
    assert detail.sha == "f4b0486b498f84668e828044de1d0c8ba486e05b"
    assert detail.is_diffusers_pipeline
    assert len(detail.files) == 39
    single = detail.file("sd_xl_turbo_1.0.safetensors")
    assert single is not None
    assert single.sha256 == "2e58e3704b4c0831bf848e0507c9b5ff2cd8d007b8d0719dba3874156f631050"
    assert single.size == 13875761366
    assert single.is_lfs
    unet = detail.file("unet/diffusion_pytorch_model.fp16.safetensors")
    assert unet is not None
    assert unet.precision_hint == "fp16"
    assert unet.sha256 is not None
    assert detail.card_data["license"] == "other"
    assert json.dumps(detail.raw)  # storable as is
    [query] = api_queries(hub, f"/api/models/{TURBO}")
    assert query["blobs"] == ["true"]


def test_model_info_nofp16_and_revision(client: HuggingFaceClient) -> None:
    detail = client.model_info(NOFP16, revision="f4b0486b498f84668e828044de1d0c8ba486e05b")
    assert detail.is_diffusers_pipeline
    assert not any(f.precision_hint == "fp16" for f in detail.files)
    assert pipeline_components(detail, prefer_variant="fp16")["vae"][0].path == (
        "vae/diffusion_pytorch_model.safetensors"
    )


def test_model_info_lora_repo(client: HuggingFaceClient) -> None:
    detail = client.model_info(LORA)
    assert not detail.is_diffusers_pipeline
    assert detail.base_models == ("stabilityai/stable-diffusion-xl-base-1.0",)
    [file] = detail.files
    assert file.sha256 == "f368050465cd473785298808c37abd17b98e5f532c144cc1be1f5e897092e67f"
    assert file.is_model_weight


def test_file_tree(client: HuggingFaceClient, hub: FakeServer) -> None:
    files = client.file_tree(TURBO)
    assert len(files) == 39
    by_path = {f.path: f for f in files}
    vae = by_path["vae/diffusion_pytorch_model.fp16.safetensors"]
    assert vae.size == 167335342
    assert vae.is_lfs
    assert vae.sha256 is not None
    assert by_path["vae/config.json"].sha256 is None
    [query] = api_queries(hub, f"/api/models/{TURBO}/tree/main")
    assert query["recursive"] == ["true"]
    assert [f.path for f in client.file_tree(TURBO, path="unet")] == [
        "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.safetensors",
        "unet/model.onnx",
        "unet/model.onnx_data",
    ]


def test_file_url(client: HuggingFaceClient, hub: FakeServer) -> None:
    assert (
        client.file_url(TURBO, "unet/config.json") == f"{hub.base_url}/{TURBO}/resolve/main/unet/config.json"
    )


def test_resolve_file_reads_linked_etag(client: HuggingFaceClient, hub: FakeServer) -> None:
    resolved = client.resolve_file(TURBO, "sd_xl_turbo_1.0.safetensors")
    assert resolved.sha256 == "2e58e3704b4c0831bf848e0507c9b5ff2cd8d007b8d0719dba3874156f631050"
    assert resolved.size == 13875761366
    assert resolved.commit == "f4b0486b498f84668e828044de1d0c8ba486e05b"
    assert resolved.url == f"{hub.base_url}/{TURBO}/resolve/main/sd_xl_turbo_1.0.safetensors"
    _url, size, sha256, _commit = client.resolve_file(TURBO, "model_index.json")
    assert (size, sha256) == (len(INDEX), None)  # a git file: its ETag is a sha1 blob id
    assert hub.requests[-1][0] == "HEAD"


def test_gated_repo_needs_token(hub: FakeServer) -> None:
    anonymous = HuggingFaceClient(endpoint=hub.base_url)
    assert anonymous.model_info(GATED).gated == "manual"  # info is public, files are not
    with pytest.raises(HfGatedRepoError) as raised:
        anonymous.resolve_file(GATED, "lora.safetensors")
    assert raised.value.message == GATED_MESSAGE
    with pytest.raises(HfGatedRepoError) as wrong:
        HuggingFaceClient(endpoint=hub.base_url, token="hf_wrong").resolve_file(GATED, "lora.safetensors")
    assert "hf_wrong" not in str(wrong.value)
    resolved = HuggingFaceClient(endpoint=hub.base_url, token=TOKEN).resolve_file(GATED, "lora.safetensors")
    assert resolved.sha256 == hashlib.sha256(LORA_BYTES).hexdigest()
    assert resolved.size == len(LORA_BYTES)
    headers = {key.lower(): value for key, value in hub.requests[-1][2].items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_missing_repo_file_and_revision(client: HuggingFaceClient) -> None:
    with pytest.raises(HfRepoNotFoundError, match="'org/missing'"):
        client.model_info("org/missing")
    with pytest.raises(HfRepoNotFoundError):
        client.resolve_file("org/missing", "x.safetensors")
    with pytest.raises(HfFileNotFoundError, match=r"nope\.safetensors"):
        client.resolve_file(TURBO, "nope.safetensors")
    with pytest.raises(HfRevisionNotFoundError, match="v9"):
        client.model_info(TURBO, revision="v9")
    with pytest.raises(HfFileNotFoundError):
        client.file_tree(TURBO, path="no-such-folder")


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, HfAuthError), (403, HfAuthError), (429, HfRateLimitedError), (500, HfServerError)],
)
def test_http_status_mapping(hub: FakeServer, status: int, error: type[HuggingFaceError]) -> None:
    # 429/5xx are retried by Atelier's policy (fast here), then mapped. With a token
    # sent, the library reads a bare 401 as "bad token" rather than "repository not found".
    state: HubState = hub.state
    state.fail_status = status
    client = HuggingFaceClient(endpoint=hub.base_url, token=TOKEN, retry_policy=FAST_RETRIES)
    with pytest.raises(error) as raised:
        client.resolve_file(TURBO, "model_index.json")
    assert raised.value.status == status
    assert TOKEN not in raised.value.message


def test_unreachable_host_is_offline_error(hub: FakeServer) -> None:
    port = hub.server_address[1]
    hub.shutdown()
    hub.server_close()
    client = HuggingFaceClient(endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(HfOfflineError, match="connection was refused"):
        client.resolve_file(TURBO, "model_index.json")


def test_offline_exceptions_translate() -> None:
    # Raised before any HTTP (HF_HUB_OFFLINE is read at import, so it is not toggled here).
    assert isinstance(translate(OfflineModeIsEnabled("offline")), HfOfflineError)
    assert isinstance(translate(LocalEntryNotFoundError("not cached"), repo_id=TURBO), HfOfflineError)
    assert translate(ValueError("unrelated")) is None
