"""Fixtures and record factories for the catalog tests (real SQLite files under ``tmp_path``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from catalog.library import Library
from catalog.records import ScannedFile
from core.file_hashes import FileHashes
from core.formats.sidecar_info import SidecarInfo
from core.identify.result import Identification
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus, LibraryLayout, NetworkType


def identification(
    kind: AssetKind = AssetKind.LORA,
    architecture: Architecture = Architecture.SDXL,
    *,
    trigger_words: tuple[str, ...] = (),
    metadata: Mapping[str, Any] | None = None,
) -> Identification:
    return Identification(
        kind=kind,
        architecture=architecture,
        format=FileFormat.SAFETENSORS,
        network=NetworkType.LORA if kind is AssetKind.LORA else None,
        reasons=(f"looks like a {architecture.value} {kind.value}",),
        trigger_words=trigger_words,
        metadata=dict(metadata or {}),
    )


def scanned(
    path: str | Path,
    *,
    size: int = 1000,
    mtime_ns: int = 1,
    inode: int = 1,
    kind: AssetKind = AssetKind.LORA,
    architecture: Architecture = Architecture.SDXL,
    status: FileStatus = FileStatus.OK,
    status_reason: str | None = None,
    trigger_words: tuple[str, ...] = (),
    sidecars: SidecarInfo | None = None,
    identified: bool = True,
) -> ScannedFile:
    return ScannedFile(
        path=str(path),
        size=size,
        mtime_ns=mtime_ns,
        inode=inode,
        format=FileFormat.SAFETENSORS,
        status=status,
        status_reason=status_reason,
        identification=identification(kind, architecture, trigger_words=trigger_words)
        if identified
        else None,
        sidecars=sidecars,
    )


def hashes_for(seed: str, *, lower: bool = False) -> FileHashes:
    """Plausible, distinct hashes derived from ``seed`` (upper-case like Civitai unless ``lower``)."""
    sha = hashlib.sha256(seed.encode()).hexdigest()
    blake = hashlib.blake2b(seed.encode(), digest_size=32).hexdigest()
    v3 = hashlib.sha256(("v3" + seed).encode()).hexdigest()
    values = FileHashes(
        sha256=sha, blake3=blake, crc32=sha[-8:], autov1=blake[:8], autov2=sha[:10], autov3=v3
    )
    if lower:
        return values
    return FileHashes(
        sha256=sha.upper(),
        blake3=blake.upper(),
        crc32=sha[-8:].upper(),
        autov1=blake[:8].upper(),
        autov2=sha[:10].upper(),
        autov3=v3.upper(),
    )


@pytest.fixture
def lib(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Library]:
    """The library under test: an SQLite file, or with ``ATELIER_TEST_CATALOG=postgresql`` a fresh
    database on the throwaway PostgreSQL server (``tests.pg_fixtures``)."""
    if os.environ.get("ATELIER_TEST_CATALOG") == "postgresql":
        url: str = request.getfixturevalue("pg_catalog_url")
        from catalog.catalog_url import create_server_engine, parse

        location = parse(url)
        assert location.url is not None
        library = Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location))
    else:
        library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield library
    library.close()


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def root_id(lib: Library, models_dir: Path) -> int:
    return lib.add_root(models_dir, LibraryLayout.A1111).id
