"""Preview images come through a session of their own: not spaced like the API's lookups, never keyed.

A model page on the Civitai tab shows 20 or more example images; through the API session, whose lookups
are spaced 0.25 s apart per host, they filled at four a second. The images here come from a real
loopback server standing for Civitai's image CDN, with a Civitai key stored, as a user has it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.context import CIVITAI_BURST, CIVITAI_SPACING_S, AppContext
from app.secrets import TokenStore
from tests.fakes.image_host import PNG, image_host
from tests.fakes.server import FakeServer

IMAGES = 12


@pytest.fixture
def images() -> Iterator[FakeServer]:
    with image_host() as server:
        yield server


@pytest.fixture
def context(tmp_path: Path, images: FakeServer) -> Iterator[AppContext]:
    tokens = TokenStore(tmp_path / "tokens", use_keyring=False)
    tokens.set("civitai", "secret-civitai-key")
    # The images' host is the Civitai origin itself here: the strictest case for the key.
    (tmp_path / "data").mkdir()
    opened = AppContext(tmp_path / "data", tokens=tokens)
    opened.save_settings(opened.load_settings()._replace(civitai_base_url=images.base_url))
    try:
        yield opened
    finally:
        opened.close()


def test_a_pages_images_are_fetched_back_to_back_without_the_apis_spacing(
    context: AppContext, images: FakeServer
) -> None:
    started = time.monotonic()
    fetched = [context.fetch_image(f"{images.base_url}/img/{n}.png") for n in range(IMAGES)]
    elapsed = time.monotonic() - started
    assert fetched == [PNG] * IMAGES
    assert [path for _method, path, _headers in images.requests] == [f"/img/{n}.png" for n in range(IMAGES)]
    # Spaced as the API is, these would take at least (IMAGES - 1) * 0.25 = 2.75 s; from loopback they
    # take a few milliseconds each.
    assert elapsed < (IMAGES - 1) * CIVITAI_SPACING_S * 0.7, f"{IMAGES} images took {elapsed:.2f} s"


def test_no_image_request_carries_the_civitai_key(context: AppContext, images: FakeServer) -> None:
    context.fetch_image(f"{images.base_url}/img/cover.png")
    (_method, _path, headers), *_ = images.requests
    assert not {name.lower() for name in headers} & {"authorization", "cookie"}
    assert "secret-civitai-key" not in repr(headers)


def test_the_api_session_still_paces_its_lookups(context: AppContext, images: FakeServer) -> None:
    """Only images left the pacing: past its first few requests, the API session keeps its interval."""
    session = context.civitai_session()
    started = time.monotonic()
    for n in range(CIVITAI_BURST + 3):
        session.get(f"{images.base_url}/api/v1/models/{n}", timeout=5).close()
    assert time.monotonic() - started >= 3 * CIVITAI_SPACING_S * 0.9
