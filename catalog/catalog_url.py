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

A URL is read without SQLAlchemy (:class:`ServerAddress`, by SQLAlchemy's own URL grammar), so a command
that only reads a server's catalog (``catalog.pg_reader``) never loads it; ``CatalogLocation.url``, the
SQLAlchemy URL engines are built from, is made from the same parts on first use.
"""

from __future__ import annotations

import re
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from catalog.errors import CatalogError

if TYPE_CHECKING:  # a command that only reads a server's catalog never loads SQLAlchemy (catalog.pg_reader)
    from sqlalchemy import URL, Engine

CATALOG_URL_ENV = "ATELIER_CATALOG_URL"
# What a catalog on a server answers as its ``path`` (``Library.path``): a name in the machine's data
# folder, beside which this machine's own files go (renders, the organize lock); no file is kept under it.
SERVER_CATALOG_NAME = "catalog.server"
POSTGRESQL_DRIVER = "postgresql+psycopg"
MASK = "***"
# Every connection to a catalog server: UTC sessions and a lock timeout (create_server_engine), a bounded
# wait for a server that does not answer.
CONNECT_ARGS: dict[str, Any] = {"options": "-c timezone=UTC -c lock_timeout=15000", "connect_timeout": 10}


class CatalogUrlError(CatalogError, ValueError):
    """A catalog URL that names no database Atelier can use; the message says what to write instead."""


@dataclass(frozen=True)
class ServerAddress:
    """A PostgreSQL server as its URL names it, read without SQLAlchemy: what a light reader needs to
    connect (:mod:`catalog.pg_reader`) and what messages show. ``query`` holds the URL's other options
    (``sslmode=require``...), a repeated one as a tuple, as SQLAlchemy's ``URL.query`` holds them."""

    username: str | None
    password: str | None
    host: str
    port: int | None
    database: str | None
    query: tuple[tuple[str, str | tuple[str, ...]], ...] = ()

    def render(self, *, hide_password: bool = True) -> str:
        """The URL as the user writes it (``postgresql://``), each part quoted as SQLAlchemy's
        ``render_as_string`` quotes it (an empty host or no database is left out)."""
        text = "postgresql://"
        if self.username is not None:
            text += quote(self.username, safe=" +")
            if self.password is not None:
                text += ":" + (MASK if hide_password else quote(self.password, safe=" +"))
            text += "@"
        if self.host:
            text += f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            text += f":{self.port}"
        if self.database is not None:
            text += "/" + quote(self.database, safe=" +/")
        if self.query:
            text += "?" + "&".join(
                f"{quote_plus(key)}={quote_plus(value)}"
                for key, given in sorted(self.query)
                for value in ((given,) if isinstance(given, str) else given)
            )
        return text


class _UrlParts(Protocol):
    """What names a server: a :class:`ServerAddress` or SQLAlchemy's ``URL`` alike."""

    @property
    def username(self) -> str | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def database(self) -> str | None: ...


@dataclass(frozen=True)
class CatalogLocation:
    """A parsed catalog location: a file (``path``) or a server (``server``; its SQLAlchemy ``url``, made
    on first use, is what engines are built from)."""

    path: Path | None
    server: ServerAddress | None = None

    @property
    def on_server(self) -> bool:
        return self.server is not None

    @cached_property
    def url(self) -> URL | None:
        """The server as SQLAlchemy's URL (driver ``postgresql+psycopg``), None for a file."""
        if self.server is None:
            return None
        from sqlalchemy import URL

        server = self.server
        return URL.create(
            POSTGRESQL_DRIVER,
            username=server.username,
            password=server.password,
            host=server.host,
            port=server.port,
            database=server.database,
            query=dict(server.query),
        )

    def __str__(self) -> str:
        return str(self.path) if self.server is None else masked(self.server)


_SERVER_SCHEMES = ("postgresql", "postgres")  # libpq takes both; postgres:// is its short form
_SCHEME_WITHOUT_SLASHES = re.compile(r"^\s*(postgres(?:ql)?(?:\+\w+)?):(?!//)", re.IGNORECASE)
EXAMPLE = "postgresql://user:password@host:5432/atelier"
# The grammar of SQLAlchemy's make_url (RFC 1738 style), so a URL means here what it meant when SQLAlchemy
# read it (tests/catalog/test_catalog_url.py checks both readings agree).
_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)


def parse(text: str) -> CatalogLocation:
    """``text`` as a catalog location: a path, ``sqlite:///path`` or a PostgreSQL URL.

    Raises :class:`CatalogUrlError` (one line, password masked) for a URL that cannot be read: a port that
    is not a number, an unclosed ``[`` IPv6 host, ``postgresql:/`` with one slash."""
    if _SCHEME_WITHOUT_SLASHES.match(text):
        raise CatalogUrlError(f"The catalog URL {mask_in(text)} is not a URL: write {EXAMPLE}")
    if "://" not in text:
        return CatalogLocation(Path(text).expanduser(), None)
    found = _URL.match(text)
    if found is None:
        raise CatalogUrlError(f"The catalog URL {mask_in(text)} is not a URL: write {EXAMPLE}")
    parts = found.groupdict()
    try:
        port = int(parts["port"]) if parts["port"] is not None else None
    except ValueError:  # "notaport", "x5", or the ":1" of an unclosed "[::1"
        raise CatalogUrlError(
            f"The catalog URL {mask_in(text)} has no readable host and port: the port is a number and an "
            f"IPv6 host is written in brackets, [::1]:5432 ({EXAMPLE})"
        ) from None
    username, password, database = (
        None if parts[name] is None else unquote(parts[name]) for name in ("username", "password", "database")
    )
    backend = parts["name"].split("+", 1)[0]
    if backend == "sqlite":
        if not database:
            raise CatalogUrlError("An SQLite catalog URL needs a file: sqlite:////path/to/catalog.sqlite3")
        return CatalogLocation(Path(database).expanduser(), None)
    if backend not in _SERVER_SCHEMES:
        raise CatalogUrlError(
            f"Atelier keeps its catalog in SQLite or PostgreSQL, not {backend}: "
            "use postgresql://user@host:port/database"
        )
    query = _query(parts["query"])
    if "password" in dict(query):  # libpq's ?password= form: kept and masked like user:password@
        given = dict(query)["password"]
        password = password if password is not None else (given if isinstance(given, str) else given[-1])
        query = tuple(item for item in query if item[0] != "password")
    host = parts["ipv4host"] or parts["ipv6host"]
    if not host or not database:
        shown = masked(ServerAddress(username, password, host or "", port, database, query))
        raise CatalogUrlError(
            f"The catalog URL {shown} needs a host and a database name: postgresql://user@host:5432/atelier"
        )
    return CatalogLocation(None, ServerAddress(username, password, host, port, database, query))


def _query(text: str | None) -> tuple[tuple[str, str | tuple[str, ...]], ...]:
    """The URL's options as SQLAlchemy reads them: a key given twice holds a tuple of its values."""
    values: dict[str, str | tuple[str, ...]] = {}
    for key, value in parse_qsl(text or ""):
        held = values.get(key)
        values[key] = value if held is None else (*((held,) if isinstance(held, str) else held), value)
    return tuple(values.items())


def masked(url: URL | ServerAddress | str) -> str:
    """The URL as it may be shown, as the user writes it (``postgresql://``, not the driver's
    ``postgresql+psycopg://``), with the password, if any, as ``***``."""
    if isinstance(url, str):
        return mask_in(url)
    if isinstance(url, ServerAddress):
        return mask_in(url.render())
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


def secret_key(url: _UrlParts) -> str:
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


def _has_unread_input(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has something to read (an idle one has nothing to wait for:
    what is there is the server saying goodbye, or closing), asked of the socket without a round trip."""
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # closed already
        return True
    return bool(readable)


# A pooled connection idle this long is checked before use (create_server_engine).
IDLE_BEFORE_PING_S = 1.0
_CHECKED_IN_AT = "atelier_checked_in_at"


def create_server_engine(url: URL, *, pool_size: int = 4) -> Engine:
    """An engine for a PostgreSQL catalog: UTC sessions (the catalog's one clock), a statement timeout
    nobody reaches in normal use so a stuck lock becomes an error instead of a hang, and pooled
    connections checked before use when they have been idle (a server restarted overnight must not fail
    the morning's first click; :data:`IDLE_BEFORE_PING_S`)."""
    from sqlalchemy import create_engine, event, exc

    engine = create_engine(url, pool_size=pool_size, max_overflow=8, connect_args=dict(CONNECT_ARGS))

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # SQLAlchemy's pre-ping checks every checkout: a round trip more for each unit of work, a fifth of
        # a search page on a server. A connection back in the pool for under a second was just answering,
        # and a server that went away since then has said so on its socket (a stopping server sends each
        # client "terminating connection" and closes it): such a connection, or one idle longer, is
        # checked with a round trip, and a dead one replaced (the pool retries on DisconnectionError).
        idle_since = record.info.get(_CHECKED_IN_AT)
        recent = idle_since is not None and time.monotonic() - idle_since < IDLE_BEFORE_PING_S
        if recent and not _has_unread_input(dbapi_connection):
            return
        try:
            dbapi_connection.execute("SELECT 1").fetchall()
            if not dbapi_connection.autocommit:  # leave no transaction open behind the check
                dbapi_connection.rollback()
        except Exception as error:  # psycopg's own: the server restarted, a network cut
            raise exc.DisconnectionError(str(error)) from error

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _portable(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> Any:
        from catalog.pg_reads import hints_removed

        return hints_removed(statement), parameters

    return engine
