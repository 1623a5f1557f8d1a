"""Fixtures for the tests that need a real PostgreSQL server (see :mod:`tests.pg_server`).

``pg`` is one throwaway server per test process (a session fixture: starting one costs about a second);
``pg_url`` is a fresh, empty database on it for each test, dropped afterwards; ``pg_catalog_url`` a fresh
database already at this version's schema, copied from a template migrated once per process (copying a
template costs a fifth of running the migrations).

The catalog suite runs every ``lib`` test on the server too, so a copy is made for hundreds of tests.
Making one (``CREATE DATABASE … TEMPLATE`` writes its 9 MB through the server's log) and dropping one
(``DROP DATABASE`` waits for a checkpoint) is mostly waiting on the server, about 0.25 s a test on a
loaded machine; :class:`CatalogCopies` does both on a thread of its own, one copy ahead, so a test finds
its catalog ready and leaves the drop behind. A copy the thread could not make (the server stopped or
restarted by a test just then) is made by the test itself, as before, and says why if it fails.
"""

from __future__ import annotations

import os
import queue
import threading
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


class CatalogCopies:
    """Copies of the migrated template made one ahead, and used ones dropped, on a thread of their own
    (see the module's docstring); one per test process, closed before its server stops."""

    def __init__(self, server: pg_server.PgServer, template: str) -> None:
        self._server, self._template = server, template
        self._ready: queue.Queue[str | None] = queue.Queue()  # a name, or None: the thread's copy failed
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="pg-catalog-copies", daemon=True)
        self._thread.start()
        self._jobs.put(("create", self._new_name()))

    @staticmethod
    def _new_name() -> str:
        return f"t_{uuid.uuid4().hex[:12]}"

    def take(self) -> str:
        """A fresh copy's URL: the one made ahead (the next is started at once), else one made here."""
        name = self._ready.get(timeout=120)
        self._jobs.put(("create", self._new_name()))
        if name is None:
            name = self._new_name()
            return self._server.create_database(name, template=self._template)
        return self._server.url(name)

    def drop_later(self, url: str) -> None:
        self._jobs.put(("drop", url.rsplit("/", 1)[1]))

    def close(self) -> None:
        """Finish the queued work (the cluster is deleted next; this only keeps the thread quiet)."""
        self._jobs.put(None)
        self._thread.join(timeout=60)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            action, name = job
            try:
                if action == "create":
                    self._server.create_database(name, template=self._template)
                else:
                    self._server.drop_database(name)
            except Exception:  # the server is being stopped or restarted by a test: see take()
                if action == "create":
                    self._ready.put(None)
                continue  # a copy left undropped goes with the cluster at the end
            if action == "create":
                self._ready.put(name)


@pytest.fixture(scope="session")
def pg_catalog_copies(pg: pg_server.PgServer, pg_template: str) -> Iterator[CatalogCopies]:
    copies = CatalogCopies(pg, pg_template)
    yield copies
    copies.close()


@pytest.fixture
def pg_catalog_url(pg_catalog_copies: CatalogCopies) -> Iterator[str]:
    url = pg_catalog_copies.take()
    yield url
    pg_catalog_copies.drop_later(url)
