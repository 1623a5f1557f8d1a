"""Where the catalog lives: an SQLite file (the default, one machine) or a PostgreSQL server (a team).

The location is given as a URL: ``--catalog``, else ``ATELIER_CATALOG_URL``, else the data dir's
``catalog.sqlite3``. A PostgreSQL URL is ``postgresql://user@host:port/database`` (``postgresql+psycopg``
is accepted and meant: psycopg 3 is the driver).

The password never travels with the location once the user has given it: :func:`split_password` takes it
out of a URL so the caller can keep it with the other secrets (``app.secrets.TokenStore`` under
:func:`secret_key`), and :func:`with_password` puts the stored one back only when the engine is built.
Every text a user or a log may see is built by :func:`masked` (``postgresql://user:***@host/db``), and
:func:`mask_in` scrubs a driver's own message, which may quote the DSN, before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from catalog.errors import CatalogError

CATALOG_URL_ENV = "ATELIER_CATALOG_URL"
POSTGRESQL_DRIVER = "postgresql+psycopg"
MASK = "***"


class CatalogUrlError(CatalogError, ValueError):
    """A catalog URL that names no database Atelier can use; the message says what to write instead."""


@dataclass(frozen=True)
class CatalogLocation:
    """A parsed catalog location: a file (``path``) or a server (``url``, without its password)."""

    path: Path | None
    url: URL | None

    @property
    def on_server(self) -> bool:
        return self.url is not None

    def __str__(self) -> str:
        return str(self.path) if self.url is None else masked(self.url)


def parse(text: str) -> CatalogLocation:
    """``text`` as a catalog location: a path, ``sqlite:///path`` or a PostgreSQL URL."""
    if "://" not in text:
        return CatalogLocation(Path(text).expanduser(), None)
    try:
        url = make_url(text)
    except ArgumentError as error:
        raise CatalogUrlError(
            f"The catalog URL {mask_in(text)} is not a URL: {mask_in(str(error))}"
        ) from error
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database:
            raise CatalogUrlError("An SQLite catalog URL needs a file: sqlite:////path/to/catalog.sqlite3")
        return CatalogLocation(Path(url.database).expanduser(), None)
    if backend != "postgresql":
        raise CatalogUrlError(
            f"Atelier keeps its catalog in SQLite or PostgreSQL, not {backend}: "
            "use postgresql://user@host:port/database"
        )
    if not url.host or not url.database:
        raise CatalogUrlError(
            f"The catalog URL {masked(url)} needs a host and a database name: postgresql://user@host:5432/atelier"
        )
    return CatalogLocation(None, url.set(drivername=POSTGRESQL_DRIVER))


def masked(url: URL | str) -> str:
    """The URL as it may be shown: the password, if any, as ``***``."""
    if isinstance(url, str):
        return mask_in(url)
    return url.render_as_string(hide_password=True)


_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_IN_DSN = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_in(text: str, *secrets: str | None) -> str:
    """``text`` with every password hidden: in URLs, in ``password=...`` DSN pairs and any of ``secrets``."""
    text = _PASSWORD_IN_URL.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _PASSWORD_IN_DSN.sub(rf"\g<1>{MASK}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def secret_key(url: URL) -> str:
    """The name the password of ``url`` is kept under with the other secrets."""
    return f"database:{url.username or ''}@{url.host}:{url.port or 5432}/{url.database}"


def split_password(url: URL) -> tuple[URL, str | None]:
    """``url`` without its password, and the password (None when it had none)."""
    if url.password is None:
        return url, None
    return url._replace(password=None), str(url.password)  # .set() ignores None


def with_password(url: URL, lookup: Callable[[str], str | None]) -> URL:
    """``url`` with a password: its own, else the stored one (``lookup(secret_key(url))``), else none
    (a server that trusts the user, or a ``~/.pgpass`` that libpq reads)."""
    if url.password is not None:
        return url
    stored = lookup(secret_key(url))
    return url if not stored else url.set(password=stored)


def create_server_engine(url: URL, *, pool_size: int = 4) -> Engine:
    """An engine for a PostgreSQL catalog: UTC sessions (the catalog's one clock), a statement timeout
    nobody reaches in normal use so a stuck lock becomes an error instead of a hang, and pooled
    connections checked before use (a server restarted overnight must not fail the morning's first click)."""
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=8,
        pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC -c lock_timeout=15000", "connect_timeout": 10},
    )

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _portable(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> Any:
        from catalog.pg_reads import hints_removed

        return hints_removed(statement), parameters

    return engine
