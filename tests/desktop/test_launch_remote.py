"""``desktop.launch`` wires the remote tabs from a profile: clients follow the settings and the
environment, the download queue opens in the profile's catalog on first use."""

from __future__ import annotations

from pathlib import Path

import pytest

import desktop.launch
from app.secrets import TokenStore
from core.downloads import DownloadRequest
from desktop.launch import DeferredContext, build_services
from tests.fakes.civitai_api import fake_civitai


def test_build_services_wires_remote_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATELIER_CIVITAI_TOKEN", raising=False)
    # Never the developer's real keyring: tokens go to the profile's 0600 file.
    monkeypatch.setattr(
        desktop.launch, "TokenStore", lambda data_dir: TokenStore(data_dir, use_keyring=False)
    )
    deferred = DeferredContext(tmp_path / "profile")
    try:
        services = build_services(deferred)
        remote = services.remote
        assert remote is not None
        assert remote.settings is services.settings
        with fake_civitai() as server:
            monkeypatch.setenv("ATELIER_CIVITAI_URL", server.base_url)
            page = remote.civitai().search_models(limit=2)
            assert len(page.items) == 2
        monkeypatch.delenv("ATELIER_CIVITAI_URL")
        remote.settings.civitai_base_url = "https://civitai.red"
        assert remote.civitai().base_url == "https://civitai.red"
        remote.settings.hf_endpoint = "http://127.0.0.1:9"
        assert remote.huggingface().endpoint == "http://127.0.0.1:9"
        assert remote.downloader.list() == []
        download_id = remote.downloader.enqueue(
            DownloadRequest(url="http://127.0.0.1:9/x", target_dir=tmp_path)
        )
        assert [record.id for record in remote.downloader.list()] == [download_id]
        remote.tokens.set("civitai", "abc")
        assert remote.civitai()._token() == "abc"  # a new session carries the new key
    finally:
        deferred.close()


def test_download_session_sends_each_token_to_its_own_site_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    for name in ("ATELIER_CIVITAI_TOKEN", "HF_TOKEN", "HF_ENDPOINT", "ATELIER_CIVITAI_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        desktop.launch, "TokenStore", lambda data_dir: TokenStore(data_dir, use_keyring=False)
    )
    deferred = DeferredContext(tmp_path / "profile")
    try:
        services = build_services(deferred)
        assert services.remote is not None
        services.remote.settings.civitai_base_url = "https://civitai.red"
        services.remote.tokens.set("civitai", "civ-key")
        services.remote.tokens.set("huggingface", "hf-key")
        wiring = deferred.remote
        assert wiring is not None

        def auth_of(url: str) -> str | None:
            prepared = requests.Request("GET", url).prepare()
            return wiring.authorize(prepared).headers.get("Authorization")

        assert auth_of("https://civitai.red/api/download/models/1") == "Bearer civ-key"
        assert auth_of("https://huggingface.co/a/b/resolve/main/x.safetensors") == "Bearer hf-key"
        assert auth_of("https://storage.example/signed/x") is None
    finally:
        deferred.close()
