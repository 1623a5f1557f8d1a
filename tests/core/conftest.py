"""Fixtures the download engine's tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.download_store import SqlDownloadStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlDownloadStore]:
    """A download queue in a fresh catalog file of the test's own."""
    store = SqlDownloadStore.open(tmp_path / "catalog.db")
    yield store
    store.close()
