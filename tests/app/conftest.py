"""Fixtures shared by the app tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from tests.app.download_sites import Sites, loopback_sites
from tests.app.machines_on_server import Run
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.hub_tokenizers import list_family_tokenizers
from tests.fakes.server import FakeServer, serve


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    """A loopback Civitai, Hugging Face and file host, and the environment that points main.py at them."""
    with loopback_sites(tmp_path) as made:
        yield made


@pytest.fixture(scope="module")
def _answering_hub() -> Iterator[FakeServer]:
    with serve(HubHandler, list_family_tokenizers(HubState())) as server:
        yield server


@pytest.fixture
def hub_up(_answering_hub: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A loopback Hub that answers (HF_ENDPOINT) and holds the families' tokenizer repositories (listed,
    not served), and an empty Hub cache: a transformer family's render plan says its tokenizer will be
    fetched once, and is ready. Returns the Hub's address."""
    monkeypatch.setenv("HF_ENDPOINT", _answering_hub.base_url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: a test module that imported it while offline
    # (test_render_cli's fixture) leaves the constant True for every later test of this process.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return _answering_hub.base_url


@pytest.fixture
def on(tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]) -> Run:
    """Runs ``atelier ARGS`` as machine ``a`` or ``b`` on one server catalog: (exit code, out, err)."""

    def run(machine: str, *argv: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / machine), "--catalog", pg_catalog_url, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
