"""Hugging Face results scroll endlessly: pages arrive from a worker, against the loopback Hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.sources.huggingface import HuggingFaceClient
from desktop.models.hf_results_model import HfResultsModel
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    state = HubState()
    state.extra_models = [
        {"id": f"org/model-{i:03}", "downloads": 1000 - i, "tags": ["lora"]} for i in range(120)
    ]
    with serve(HubHandler, state) as server:
        yield server


def test_pages_load_as_the_view_asks_for_more(qtbot: QtBot, hub: FakeServer, qtmodeltester: object) -> None:
    client = HuggingFaceClient(endpoint=hub.base_url)
    model = HfResultsModel(page_size=50)
    model.start(lambda offset, limit: client.search_models("", limit=limit, offset=offset))
    qtbot.waitUntil(lambda: model.rowCount() == 50, timeout=10_000)

    assert model.canFetchMore()
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 100, timeout=10_000)
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 120, timeout=10_000)
    qtbot.waitUntil(lambda: not model.loading, timeout=5_000)

    assert not model.canFetchMore(), "a short page ends the results"
    assert [model.summary(i).repo_id for i in (0, 119)] == ["org/model-000", "org/model-119"]  # type: ignore[union-attr]
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    model.jobs.shutdown(2000)


def test_a_page_of_an_older_search_is_dropped(qtbot: QtBot, hub: FakeServer) -> None:
    client = HuggingFaceClient(endpoint=hub.base_url)
    model = HfResultsModel(page_size=50)
    model.start(lambda offset, limit: client.search_models("", limit=limit, offset=offset))
    model.start(lambda offset, limit: client.search_models("model-11", limit=limit, offset=offset))
    qtbot.waitUntil(lambda: not model.loading, timeout=10_000)
    qtbot.wait(200)
    assert {model.summary(i).repo_id for i in range(model.rowCount())} <= {  # type: ignore[union-attr]
        f"org/model-{i:03}" for i in range(110, 120)
    }
    model.jobs.shutdown(2000)
