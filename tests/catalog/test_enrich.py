"""Enrichment against the loopback Civitai: batching, storage, covers within the NSFW level, failures."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from catalog.enrich import CoverFetcher, enrich
from catalog.library import Library
from core.net import make_session
from core.sources.civitai import CivitaiClient
from tests.catalog.conftest import hashes_for, scanned
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.image_host import PNG, image_host
from tests.fakes.server import FakeServer


@pytest.fixture
def images() -> Iterator[FakeServer]:
    with image_host() as server:
        yield server


def _session() -> requests.Session:
    return make_session(retries=2, backoff_factor=0.001, backoff_max=0.01)


def _model_with_file(sha256: str, image_base: str) -> dict[str, Any]:
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    model["id"] = 900001
    version = model["modelVersions"][0]
    version["id"] = 900002
    version["modelId"] = 900001
    version["baseModel"] = "Pony"
    version["trainedWords"] = ["pixel art", "8bit"]
    version["files"][0]["hashes"] = {"SHA256": sha256.upper(), "AutoV2": sha256[:10].upper()}
    version["images"] = [
        {"url": f"{image_base}/x.png", "nsfwLevel": 8, "width": 512, "height": 768, "type": "image"},
        {"url": f"{image_base}/pg.png", "nsfwLevel": 1, "width": 512, "height": 768, "type": "image"},
    ]
    return model


def _populate(lib: Library, root_id: int, models_dir: Path, count: int) -> list[int]:
    names = [f"m{i:03}" for i in range(count)]
    ids = lib.apply_scan_batch(
        root_id, [scanned(models_dir / f"{n}.safetensors", inode=i) for i, n in enumerate(names)]
    )
    for asset_id, name in zip(ids, names, strict=True):
        lib.set_hashes(asset_id, hashes_for(name))
    return ids


def test_enrich_batches_stores_and_fetches_an_allowed_cover(
    lib: Library, root_id: int, models_dir: Path, tmp_path: Path, images: FakeServer
) -> None:
    ids = _populate(lib, root_id, models_dir, 250)
    known_sha = hashes_for("m007").sha256
    state = CivitaiState()
    state.add_model(_model_with_file(known_sha, images.base_url))
    session = _session()
    covers = CoverFetcher(
        lambda url: session.get(url, timeout=5).content, tmp_path / "cache", nsfw_max_level=1
    )

    with fake_civitai(state) as server:
        summary = enrich(lib, CivitaiClient(session, server.base_url), covers=covers)
        again = enrich(lib, CivitaiClient(session, server.base_url), covers=covers)

    assert [len(body) for body in state.post_bodies] == [100, 100, 50], "at most 100 hashes per lookup"
    assert (summary.looked_up, summary.matched, summary.not_found, summary.requests) == (250, 1, 249, 3)
    assert again.requests == 0, "misses are not asked again until they are due"
    record = lib.get(ids[7])
    assert record is not None
    assert record.trigger_words == (), "Civitai's words are kept apart from the user's"
    assert record.remote_trigger_words == ("pixel art", "8bit")
    assert record.base_model_label == "Pony"
    assert record.tags, "the model's tags come from one /models?ids= request"
    assert summary.model_requests == 1
    (link,) = lib.remote_links(ids[7])
    assert (link.model_id, link.version_id) == ("900001", "900002")
    assert link.payload["trainedWords"] == ["pixel art", "8bit"]
    assert [path for _, path, _ in images.requests] == ["/pg.png"], "the X-rated image is never fetched"
    (preview,) = lib.previews(ids[7])
    assert preview.source == "civitai"
    assert Path(preview.path).read_bytes() == PNG
    assert record.cover_path is None or record.cover_path == preview.path


def test_a_failed_lookup_records_nothing(lib: Library, root_id: int, models_dir: Path) -> None:
    _populate(lib, root_id, models_dir, 3)
    state = CivitaiState()
    state.fail_next(500, count=10)

    with fake_civitai(state) as server:
        summary = enrich(lib, CivitaiClient(_session(), server.base_url))

    assert (summary.failed, summary.matched, summary.not_found) == (3, 0, 0)
    assert summary.problems
    assert len(lib.lookup_candidates()) == 3, "nothing was marked: the files will be asked about again"


def test_rate_limit_stops_the_run(lib: Library, root_id: int, models_dir: Path) -> None:
    _populate(lib, root_id, models_dir, 150)
    state = CivitaiState()
    state.fail_next(429, count=10, retry_after="0")

    with fake_civitai(state) as server:
        summary = enrich(lib, CivitaiClient(_session(), server.base_url))

    assert summary.requests == 1
    assert summary.failed == 150
    assert "429" in summary.problems[0] or "limit" in summary.problems[0].lower()
