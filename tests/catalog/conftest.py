"""Fixtures and record factories for the catalog tests: real SQLite files under ``tmp_path``, and real
PostgreSQL databases on a throwaway server (``lib``: every test that uses it runs on both)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from catalog.catalog_url import create_server_engine, parse
from catalog.library import Library
from catalog.machine_paths import Machine
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


SERVER_ENV = "ATELIER_TEST_CATALOG"
SQLITE, POSTGRESQL = "sqlite", "postgresql"


def chosen_backends() -> list[str]:
    """The catalogs ``lib`` runs on: both in every run, CI included (issue 14: the whole catalog suite on
    SQLite and a real PostgreSQL server); ``ATELIER_TEST_CATALOG=sqlite`` or ``=postgresql`` runs one of
    them only (a quicker run while working on one backend)."""
    chosen = os.environ.get(SERVER_ENV, "").strip().lower()
    if chosen in (SQLITE, POSTGRESQL):
        return [chosen]
    if chosen:
        raise pytest.UsageError(f"{SERVER_ENV} is {chosen!r}: give {SQLITE!r} or {POSTGRESQL!r}")
    return [SQLITE, POSTGRESQL]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the catalog suite that uses ``lib`` is one test on each catalog (``[sqlite]``,
    ``[postgresql]``): they reach the catalog through the Library API, which both backends answer the same,
    and a fresh server catalog is a copy of a template database (``pg_fixtures.pg_catalog_url``, ~50 ms).
    A test marked ``sqlite_only`` (it reads SQLite's own file or FTS5 internals) stays on SQLite; its
    server side is proven by a twin (tests/catalog/test_postgresql*.py, test_pg_*.py)."""
    if "catalog_backend" not in metafunc.fixturenames:
        return
    backends = chosen_backends()
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        backends = [backend for backend in backends if backend == SQLITE]
    metafunc.parametrize("catalog_backend", backends)


@pytest.fixture
def catalog_backend() -> str:
    """Which catalog ``lib`` is on (parametrized by :func:`pytest_generate_tests`)."""
    raise AssertionError("catalog_backend is parametrized for every test that uses it")


@pytest.fixture
def lib(tmp_path: Path, request: pytest.FixtureRequest, catalog_backend: str) -> Iterator[Library]:
    """The library under test: an SQLite file, or a fresh database on the throwaway PostgreSQL server
    (``tests.pg_fixtures``: skipped with the reason where no server can be started, unless
    ``ATELIER_REQUIRE_POSTGRES=1``)."""
    if catalog_backend == POSTGRESQL:
        url: str = request.getfixturevalue("pg_catalog_url")
        location = parse(url)
        assert location.url is not None
        library = Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location))
    else:
        library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield library
    library.close()


def on_server(lib: Library) -> bool:
    """Whether ``lib`` is the PostgreSQL catalog (for the few checks only one database can make)."""
    return lib._db.on_a_server


def catalog_rows(
    lib: Library, sql: str, parameters: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Rows of plain SQL run on ``lib``'s own database, outside the Library (SQLite or the server):
    how a test looks at what was stored, or writes as another program would, on either catalog."""
    with lib._db.engine.begin() as connection:
        result = connection.execute(text(sql), dict(parameters or {}))
        return [tuple(row) for row in result] if result.returns_rows else []


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def root_id(lib: Library, models_dir: Path) -> int:
    return lib.add_root(models_dir, LibraryLayout.A1111).id


@pytest.fixture(params=["sqlite", "postgresql"])
def open_as(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Machine], Library]]:
    """Opens one shared catalog as a machine (:mod:`tests.catalog.shared_machines`), each call its own
    Library and engine, as two Ateliers on two computers: on a real PostgreSQL server and on one SQLite
    file opened twice."""
    opened: list[Library] = []
    url = request.getfixturevalue("pg_catalog_url") if request.param == "postgresql" else None

    def open_as_machine(machine: Machine) -> Library:
        if url is None:
            library = Library.open(tmp_path / "shared" / "catalog.sqlite3", machine)
        else:
            location = parse(url)
            assert location.url is not None
            engine = create_server_engine(location.url)
            library = Library.on_server(engine, tmp_path / machine.name, str(location), machine)
        opened.append(library)
        return library

    yield open_as_machine
    for library in opened:
        library.close()
