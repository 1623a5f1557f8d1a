"""Fixtures for the tests that need a real PostgreSQL server (see :mod:`tests.pg_server`).

``pg`` is one throwaway server per test process (a session fixture: starting one costs about a second);
``pg_url`` is a fresh, empty database on it for each test, dropped afterwards; ``pg_catalog_url`` a fresh
database already at this version's schema, copied from a template migrated once per process (PostgreSQL
copies a template database in milliseconds, where running the ten migrations costs half a second).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests import pg_server


@pytest.fixture(scope="session")
def pg() -> Iterator[pg_server.PgServer]:
    bin_dir = pg_server.find_bin_dir()
    if bin_dir is None:
        if os.environ.get(pg_server.REQUIRE_ENV) == "1":
            pytest.fail("PostgreSQL is required (ATELIER_REQUIRE_POSTGRES=1) but initdb was not found")
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    server = pg_server.start(bin_dir)
    yield server
    pg_server.stop(server)


@pytest.fixture
def pg_url(pg: pg_server.PgServer) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg.create_database(name)
    yield url
    pg.drop_database(name)


@pytest.fixture(scope="session")
def pg_template(pg: pg_server.PgServer) -> str:
    from catalog.catalog_url import create_server_engine, parse
    from catalog.migrate import upgrade

    name = f"tmpl_{uuid.uuid4().hex[:12]}"
    location = parse(pg.create_database(name))
    assert location.url is not None
    engine = create_server_engine(location.url)
    upgrade(engine, backup=False)
    engine.dispose()
    return name


@pytest.fixture
def pg_catalog_url(pg: pg_server.PgServer, pg_template: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg.create_database(name, template=pg_template)
    yield url
    pg.drop_database(name)
