"""Versions of a model for update checks: parsed from real payload shapes, fetched 100 models a request."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.net import make_session
from core.sources.civitai import CivitaiClient
from core.sources.civitai_records import parse_model
from core.sources.civitai_updates import (
    ModelVersions,
    model_versions,
    model_versions_from_json,
)
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload


def test_versions_are_ordered_by_publish_date_not_by_the_order_sent() -> None:
    # /models/215485 lists its versions oldest first; the newest is the one published last.
    versions = model_versions(parse_model(load_payload("RepoCivitaiModelMetadata1.json")))

    assert [v.id for v in versions.versions] == [245733, 243508, 242807]
    newest = versions.newest
    assert newest is not None
    assert (newest.name, newest.base_model) == ("v1-16dim", "SD 1.5")
    assert newest.published_at == datetime(2023, 12, 1, 12, 9, 51, 46000, tzinfo=UTC)
    assert versions.newer_than(242807) == versions.versions[:2]
    assert versions.newer_than(245733) == ()


def test_without_publish_dates_the_creation_date_decides() -> None:
    # The official /models/{id} example has only createdAt: V3 Alpha (Dec 7) is newer than V2 (Nov 30).
    versions = model_versions(parse_model(load_payload("04_models_modelId.json")))

    assert [v.name for v in versions.versions] == ["V3 Alpha", "V2", "V1"]


def test_undated_versions_keep_the_order_civitai_sent() -> None:
    payload = load_payload("04_models_modelId.json")
    for version in payload["modelVersions"]:
        version.pop("createdAt", None)
        version.pop("publishedAt", None)

    versions = model_versions(parse_model(payload))

    assert [v.name for v in versions.versions] == ["V2", "V3 Alpha", "V1"]


def test_a_version_carries_its_changelog_as_text_its_files_and_trigger_words() -> None:
    versions = model_versions(parse_model(load_payload("04_models_modelId.json")))
    v2 = next(v for v in versions.versions if v.name == "V2")

    assert v2.changes.startswith("Upgraded to InkPunk V2.")
    assert "<p>" not in v2.changes
    assert v2.trained_words == ("snthwve style", "nvinkpunk")
    file = v2.primary_file
    assert file is not None
    assert file.name.endswith(".ckpt")
    assert file.size_bytes is not None
    assert file.size_bytes > 1_000_000_000
    assert file.sha256 is not None
    assert len(file.sha256) == 64


def test_the_stored_form_reads_back_equal() -> None:
    versions = model_versions(parse_model(load_payload("RepoCivitaiModelMetadata1.json")))

    again = model_versions_from_json(versions.to_json())

    assert again == versions
    assert model_versions_from_json({"versions": []}) is None


def _numbered_models(count: int) -> CivitaiState:
    template: dict[str, Any] = load_payload("RepoCivitaiModelMetadata1.json")
    state = CivitaiState()
    for number in range(count):
        model = copy.deepcopy(template)
        model["id"] = 500000 + number
        for position, version in enumerate(model["modelVersions"]):
            version["id"] = 600000 + number * 10 + position
        state.add_model(model)
    return state


def test_many_models_are_fetched_a_hundred_per_request_one_after_another() -> None:
    state = _numbered_models(250)
    wanted = [500000 + n for n in range(250)] + [999999]  # one that Civitai does not know
    with fake_civitai(state) as server:
        client = CivitaiClient(make_session(backoff_factor=0.001), server.base_url)

        batches = list(client.model_batches(wanted))

    sizes = [len(asked) for asked, _found in batches]
    assert sizes == [100, 100, 51]
    found: dict[int, ModelVersions] = {}
    for _asked, models in batches:
        found.update({model_id: model_versions(model) for model_id, model in models.items()})
    assert len(found) == 250
    assert 999999 not in found
    asked_ids = [parse_qs(urlsplit(path).query)["ids"][0].split(",") for _m, path, _h in server.requests]
    assert [len(ids) for ids in asked_ids] == [100, 100, 51]


def test_a_rate_limited_batch_waits_as_told_and_goes_on() -> None:
    state = _numbered_models(120)
    with fake_civitai(state) as server:
        state.fail_next(429, retry_after="0.2")
        client = CivitaiClient(make_session(backoff_factor=0.001), server.base_url)
        started = datetime.now(UTC)

        found = client.models_by_ids([500000 + n for n in range(120)])

        waited = (datetime.now(UTC) - started).total_seconds()
    assert len(found) == 120
    assert len(server.requests) == 3  # the 429, then both batches
    assert waited >= 0.2
