"""``desktop.launch`` hands the window the parts of one ``AppContext``: clients follow the live settings
and the environment, the download queue is the context's own, and creating all of it imports neither
the catalog nor the network libraries (the window is on screen first)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.context import AppContext
from app.secrets import TokenStore
from core.downloads import DownloadRequest
from desktop.launch import build_services
from tests.fakes.civitai_api import fake_civitai

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    for name in ("ATELIER_CIVITAI_TOKEN", "HF_TOKEN", "HF_ENDPOINT", "ATELIER_CIVITAI_URL"):
        monkeypatch.delenv(name, raising=False)
    # Never the developer's real keyring: tokens go to the profile's 0600 file.
    made = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    yield made
    made.close()


def test_the_window_gets_the_contexts_own_parts(
    context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = build_services(context)
    remote = services.remote
    assert remote is not None
    assert remote.settings is services.settings is context.settings
    assert remote.tokens is context.tokens
    assert remote.downloads() is context.downloads, "one download pipeline for the window and the CLI"
    with fake_civitai() as server:
        monkeypatch.setenv("ATELIER_CIVITAI_URL", server.base_url)
        page = remote.civitai().search_models(limit=2)
        assert len(page.items) == 2
    monkeypatch.delenv("ATELIER_CIVITAI_URL")
    remote.settings.civitai_base_url = "https://civitai.red"
    assert remote.civitai().base_url == "https://civitai.red"
    remote.settings.hf_endpoint = "http://127.0.0.1:9"
    assert remote.huggingface().endpoint == "http://127.0.0.1:9"
    downloads = remote.downloads()
    assert downloads.list() == []
    download_id = downloads.enqueue_request(DownloadRequest(url="http://127.0.0.1:9/x", target_dir=tmp_path))
    assert [record.id for record in downloads.list()] == [download_id]
    remote.tokens.set("civitai", "abc")
    assert remote.civitai()._token() == "abc"  # a new session carries the new key
    services.settings.save()
    assert AppContext(context.data_dir).load_settings().civitai_base_url == "https://civitai.red"


def test_download_session_sends_each_token_to_its_own_site_only(context: AppContext) -> None:
    context.settings.civitai_base_url = "https://civitai.red"
    context.tokens.set("civitai", "civ-key")
    context.tokens.set("huggingface", "hf-key")
    session = context.downloads.session

    def auth_of(url: str, headers: dict[str, str] | None = None) -> str | None:
        prepared = session.prepare_request(requests.Request("GET", url, headers=headers))
        return prepared.headers.get("Authorization")

    assert auth_of("https://civitai.red/api/download/models/1") == "Bearer civ-key"
    assert auth_of("https://civitai.com/api/download/models/1") is None, "not the configured host"
    assert auth_of("https://huggingface.co/a/b/resolve/main/x.safetensors") == "Bearer hf-key"
    assert auth_of("https://storage.example/signed/x") is None
    assert auth_of("https://storage.example/x", {"Authorization": "Bearer civ-key"}) is None
    context.settings.hf_endpoint = "http://mirror.example"
    assert auth_of("http://mirror.example/a/b/resolve/main/x") == "Bearer hf-key"
    assert auth_of("https://huggingface.co/a/b/resolve/main/x") is None


SCRIPT = textwrap.dedent(
    """
    import sys
    from app.context import AppContext
    from desktop.launch import build_services

    context = AppContext(sys.argv[1])
    services = build_services(context)
    services.settings.thumbnail_size
    heavy = {"sqlalchemy", "alembic", "requests", "huggingface_hub", "urllib3", "keyring"}
    print(",".join(sorted({m.split(".")[0] for m in sys.modules} & heavy)) or "-")
    context.downloads  # the queue, opened on first use
    print("sqlalchemy" in sys.modules and "requests" in sys.modules)
    context.close()
    """
)


def test_composing_the_window_imports_no_catalog_or_network_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "profile")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["-", "True"]
