from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.secrets import TokenStore


@pytest.fixture(autouse=True)
def _no_env_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATELIER_CIVITAI_TOKEN", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)


def test_tokens_go_to_a_file_only_the_user_can_read(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, use_keyring=False)
    store.set("civitai", "secret-civitai")
    store.set("huggingface", "hf_secret")

    assert TokenStore(tmp_path, use_keyring=False).get("civitai") == "secret-civitai"
    assert store.get("huggingface") == "hf_secret"
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert not list(tmp_path.glob(".tokens-*"))


def test_forgetting_a_token_removes_it(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, use_keyring=False)
    store.set("civitai", "x")
    store.set("civitai", None)
    assert store.get("civitai") is None
    assert not store.path.exists()


def test_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = TokenStore(tmp_path, use_keyring=False)
    store.set("civitai", "stored")
    monkeypatch.setenv("ATELIER_CIVITAI_TOKEN", "from-env")
    monkeypatch.setenv("HF_TOKEN", "hf-env")
    assert store.get("civitai") == "from-env"
    assert store.get("huggingface") == "hf-env"


def test_unknown_site_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown site"):
        TokenStore(tmp_path, use_keyring=False).get("example")
