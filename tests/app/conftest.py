"""Fixtures shared by the app tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.download_sites import Sites, loopback_sites


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    """A loopback Civitai, Hugging Face and file host, and the environment that points main.py at them."""
    with loopback_sites(tmp_path) as made:
        yield made
