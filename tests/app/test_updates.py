"""UpdateService on the loopback Civitai: batches, the daily rule, cancel, download beside the old file."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.context import AppContext
from app.download_targets import CivitaiTarget
from app.settings import CIVITAI_URL_ENV
from app.updates import UpdateService
from catalog.db import utc_now
from catalog.records import RemoteMatch
from core.jobs import CancelledError, CancelToken, Progress
from core.taxonomy import LibraryLayout
from tests.app.download_sites import VERSION_ID, Sites, loopback_sites
from tests.app.update_sites import publish_version
from tests.catalog.conftest import scanned
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.server import FakeServer

MODELS = 250


def numbered_state(count: int) -> CivitaiState:
    """``count`` models, each with three versions (the newest published last: 10*n + 2)."""
    template: dict[str, Any] = load_payload("RepoCivitaiModelMetadata1.json")
    state = CivitaiState()
    for number in range(count):
        model = copy.deepcopy(template)
        model["id"] = 100_000 + number
        for position, version in enumerate(model["modelVersions"]):
            version["id"] = 1_000_000 + number * 10 + position
        state.add_model(model)
    return state


@pytest.fixture
def civitai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    with fake_civitai(numbered_state(MODELS)) as server:
        monkeypatch.setenv(CIVITAI_URL_ENV, server.base_url)
        yield server


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext(tmp_path / "profile")
    try:
        yield context
    finally:
        context.close()


def link_library(context: AppContext, folder: Path, count: int) -> list[int]:
    """``count`` files, each linked to the oldest version of its own model."""
    folder.mkdir(parents=True, exist_ok=True)
    root = context.library.add_root(folder, LibraryLayout.FLAT)
    files = [scanned(folder / f"lora_{n:03}.safetensors", inode=n + 1) for n in range(count)]
    ids = context.library.apply_scan_batch(root.id, files)
    for number, asset_id in enumerate(ids):
        match = RemoteMatch(
            site="civitai", model_id=str(100_000 + number), version_id=str(1_000_000 + number * 10)
        )
        context.library.record_remote_match(asset_id, match)
    return ids


def model_requests(server: FakeServer) -> list[str]:
    return [
        path for method, path, _ in server.requests if method == "GET" and path.startswith("/api/v1/models?")
    ]


def test_a_library_of_250_linked_models_is_checked_in_three_requests(
    context: AppContext, civitai: FakeServer, tmp_path: Path
) -> None:
    ids = link_library(context, tmp_path / "loras", MODELS)
    reports: list[Progress] = []

    summary = UpdateService.for_context(context).check(reports.append)

    assert len(model_requests(civitai)) == 3
    assert (summary.models, summary.requests, summary.updates) == (MODELS, 3, MODELS)
    assert [(p.done, p.total) for p in reports] == [(0, 250), (100, 250), (200, 250), (250, 250)]
    assert context.library.update_asset_ids() == set(ids)
    first = UpdateService.for_context(context).for_asset(ids[0])
    assert first is not None
    assert (first.newest.id, first.newest.name) == (1_000_002, "v1-16dim")


def test_a_cancelled_check_stops_between_requests(
    context: AppContext, civitai: FakeServer, tmp_path: Path
) -> None:
    link_library(context, tmp_path / "loras", MODELS)
    token = CancelToken()

    def cancel_after_first(progress: Progress) -> None:
        if progress.done:
            token.cancel()

    with pytest.raises(CancelledError):
        UpdateService.for_context(context).check(cancel_after_first, token)

    assert len(model_requests(civitai)) == 1
    assert len(context.library.update_asset_ids()) == 100  # what the first request found is kept


def test_the_automatic_check_runs_at_most_once_a_day_and_only_when_allowed(
    context: AppContext, civitai: FakeServer, tmp_path: Path
) -> None:
    service = UpdateService.for_context(context)
    assert not service.is_due(), "nothing linked: nothing to ask"
    link_library(context, tmp_path / "loras", 3)
    assert service.is_due()

    assert service.check_if_due() is not None
    assert service.check_if_due() is None
    assert len(model_requests(civitai)) == 1
    assert service.is_due(utc_now() + timedelta(days=1, minutes=1))

    context.settings.check_updates_daily = False
    assert not service.is_due(utc_now() + timedelta(days=2))


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sites]:
    with loopback_sites(tmp_path) as made:
        for name, value in made.env.items():
            monkeypatch.setenv(name, value)
        yield made


def test_the_new_version_lands_in_the_old_files_folder_even_at_a_library_folders_top(
    sites: Sites, tmp_path: Path
) -> None:
    # A flat folder of LoRAs: the new version goes beside the old file, not into a kind folder.
    folder = tmp_path / "my-loras"
    folder.mkdir()
    context = AppContext()
    try:
        context.add_root(folder, LibraryLayout.FLAT)
        old = context.downloads.enqueue(CivitaiTarget(version_id=VERSION_ID), to=folder)
        old_path = context.downloads.run(old.download_id).path
        new_bytes = publish_version(sites, tmp_path, 910003, name="v2", published="2024-05-01T10:00:00.000Z")
        service = UpdateService.for_context(context)
        service.check()
        old_asset = context.library.get_by_path(old_path)
        assert old_asset is not None

        finished = service.download_beside(old_asset.id)

        assert finished.path == folder / "pixel_art_v2.safetensors"
        assert finished.path.read_bytes() == new_bytes
        assert old_path.exists()
        assert service.available() == []
    finally:
        context.close()
