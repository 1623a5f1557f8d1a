"""Fixtures shared by the render tests of the transformer families.

Their tokenizers (T5, Qwen) come from the Hub once into its cache; the tests serve generated tokenizer
files from a loopback Hub and point ``HF_ENDPOINT`` at it. A test module asks for this with
``pytestmark = pytest.mark.usefixtures("family_hub_env")`` (not autouse: the SD tests need no Hub).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factory.tiny_families import add_tokenizer_repo
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve


@pytest.fixture(scope="module")
def family_hub() -> Iterator[FakeServer]:
    state = HubState()
    add_tokenizer_repo(state)
    with serve(HubHandler, state) as server:
        yield server


@pytest.fixture
def family_hub_env(
    family_hub: FakeServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", family_hub.base_url)
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: a test that imported it offline (a CLI run
    # with HF_HUB_OFFLINE=1 in this process) would leave it True for these tests.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
