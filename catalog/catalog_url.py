"""Where the catalog lives: an SQLite file (the default, one machine) or a PostgreSQL server (a team).

The location is given as a URL: ``--catalog``, else ``ATELIER_CATALOG_URL``, else the data dir's
``catalog.sqlite3``. A PostgreSQL URL is ``postgresql://user@host:port/database`` (``postgresql+psycopg``
is accepted and meant: psycopg 3 is the driver; so is libpq's short ``postgres://``, and its
``?password=`` query form, whose password is treated like one written as ``user:password@``).

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


_SERVER_SCHEMES = ("postgresql", "postgres")  # libpq takes both; postgres:// is its short form
_SCHEME_WITHOUT_SLASHES = re.compile(r"^\s*(postgres(?:ql)?(?:\+\w+)?):(?!//)", re.IGNORECASE)
EXAMPLE = "postgresql://user:password@host:5432/atelier"


def parse(text: str) -> CatalogLocation:
    """``text`` as a catalog location: a path, ``sqlite:///path`` or a PostgreSQL URL.

    Raises :class:`CatalogUrlError` (one line, password masked) for a URL that cannot be read: a port that
    is not a number, an unclosed ``[`` IPv6 host, ``postgresql:/`` with one slash."""
    if _SCHEME_WITHOUT_SLASHES.match(text):
        raise CatalogUrlError(f"The catalog URL {mask_in(text)} is not a URL: write {EXAMPLE}")
    if "://" not in text:
        return CatalogLocation(Path(text).expanduser(), None)
    try:
        url = make_url(text)
    except ArgumentError as error:
        raise CatalogUrlError(
            f"The catalog URL {mask_in(text)} is not a URL: {mask_in(str(error))}"
        ) from None
    except ValueError:  # make_url's int(port): "notaport", "x5", or the ":1" of an unclosed "[::1"
        raise CatalogUrlError(
            f"The catalog URL {mask_in(text)} has no readable host and port: the port is a number and an "
            f"IPv6 host is written in brackets, [::1]:5432 ({EXAMPLE})"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database:
            raise CatalogUrlError("An SQLite catalog URL needs a file: sqlite:////path/to/catalog.sqlite3")
        return CatalogLocation(Path(url.database).expanduser(), None)
    if backend not in _SERVER_SCHEMES:
        raise CatalogUrlError(
            f"Atelier keeps its catalog in SQLite or PostgreSQL, not {backend}: "
            "use postgresql://user@host:port/database"
        )
    url = _query_password_moved(url.set(drivername=POSTGRESQL_DRIVER))
    if not url.host or not url.database:
        raise CatalogUrlError(
            f"The catalog URL {masked(url)} needs a host and a database name: postgresql://user@host:5432/atelier"
        )
    return CatalogLocation(None, url)


def _query_password_moved(url: URL) -> URL:
    """``url`` with libpq's ``?password=`` form moved into the URL's password, so it is kept with the
    secrets and masked like one written as ``user:password@``."""
    if "password" not in url.query:
        return url
    given = url.query["password"]
    password = given if isinstance(given, str) else given[-1]
    url = url.difference_update_query(["password"])
    return url if url.password is not None else url.set(password=password)


def masked(url: URL | str) -> str:
    """The URL as it may be shown, as the user writes it (``postgresql://``, not the driver's
    ``postgresql+psycopg://``), with the password, if any, as ``***``."""
    if isinstance(url, str):
        return mask_in(url)
    if url.drivername == POSTGRESQL_DRIVER:
        url = url.set(drivername="postgresql")
    return mask_in(url.render_as_string(hide_password=True))


_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
# a malformed URL (postgresql:/anna:secret@host): whatever follows a name and ":" up to the last "@"
_PASSWORD_BEFORE_AT = re.compile(r"((?:^|[\s/'\"(])[^\s:/@'\"]+:)(?!/)(\S*)(@)")
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)([^&\s#'\"]*)", re.IGNORECASE)
_PASSWORD_IN_DSN = re.compile(r"((?<![?&\w])password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_in(text: str, *secrets: str | None) -> str:
    """``text`` with every password hidden: in URLs (``user:password@``, also in a malformed URL, and
    ``?password=``), in ``password=...`` DSN pairs and any of ``secrets``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _PASSWORD_IN_URL.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _PASSWORD_BEFORE_AT.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _PASSWORD_IN_QUERY.sub(rf"\g<1>{MASK}", text)
    return _PASSWORD_IN_DSN.sub(rf"\g<1>{MASK}", text)


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
