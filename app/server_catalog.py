"""Opening the profile's catalog on a PostgreSQL server (``--catalog URL``, ``ATELIER_CATALOG_URL`` or the
``catalog_url`` setting, in that order; none of them: the data folder's SQLite file).

A password written in the URL is taken out at once and kept with the other secrets (``app.secrets``,
under :func:`catalog.catalog_url.secret_key`) once the server has accepted it, so the user gives it once
and later runs name the server without it; every message names the server with the password masked. The
setting never holds a password: the Settings dialog (and a hand-edited ``settings.json``, on the next
start) hand it to the secrets and keep the URL without it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from catalog.catalog_url import (
    CATALOG_URL_ENV,
    SERVER_CATALOG_NAME,
    CatalogLocation,
    CatalogUrlError,
    ServerAddress,
    mask_in,
    parse,
    secret_key,
)

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

    from app.live_settings import LiveSettings
    from app.secrets import TokenStore
    from catalog.errors import DatabaseAccessError
    from catalog.library import Library
    from catalog.machine_paths import Machine
    from catalog.pg_reader import ServerCatalogReader


def _not_a_cleanup_after_an_error(record: logging.LogRecord) -> bool:
    """Drop psycopg's warning that closing a batch failed after the batch itself did ("error ignored
    terminating <psycopg.Pipeline [BAD]>: server closed the connection unexpectedly", three lines when
    the server goes away during a many-row write): psycopg logs it inside ``executemany`` before the
    batch's own error reaches the command, which then says it in its one line."""
    return not (record.name.startswith("psycopg") and str(record.msg).startswith("error ignored terminating"))


# On the handler, as ``app.interrupts`` does: the CLI configures no logging, so psycopg's warnings reach
# stderr through lastResort; a window's log file (if one is configured) still gets the record.
if logging.lastResort is not None:
    logging.lastResort.addFilter(_not_a_cleanup_after_an_error)


def open_server_catalog(
    location: CatalogLocation, tokens: TokenStore, data_dir: Path, machine: Machine | None = None
) -> Library:
    from sqlalchemy import exc as sa_exc

    from catalog.catalog_url import create_server_engine, split_password, with_password
    from catalog.errors import CatalogError
    from catalog.library import Library

    assert location.url is not None
    bare, password = split_password(location.url)
    url = location.url if password is not None else with_password(bare, tokens.get)
    engine = create_server_engine(url)
    try:
        library = Library.on_server(engine, data_dir, str(location), machine)
    except (sa_exc.DBAPIError, CatalogError) as error:
        engine.dispose()
        cause: BaseException = error
        if isinstance(error, CatalogError) and isinstance(error.__cause__, sa_exc.DBAPIError):
            cause = error.__cause__  # the driver's own words, not the catalog's wrapping of them
        if isinstance(cause, sa_exc.DBAPIError) and cause.orig is not None:
            cause = cause.orig
        raise _not_opened(location, str(cause), password, url.password) from None
    if password is not None:
        tokens.set(secret_key(bare), password)
    return library


def connected_server_engine(location: CatalogLocation, tokens: TokenStore) -> Engine:
    """An engine on ``location``'s server for a command that works on the database itself
    (``copy-catalog``), connected once now: a refused connection is the one line every command gives
    (with how to give the password when it was the password), and a password given in the URL is kept
    with the secrets as soon as the server took it, whatever the command does next (as
    :func:`open_server_catalog` keeps it)."""
    from sqlalchemy import exc as sa_exc

    from catalog.catalog_url import create_server_engine, split_password, with_password

    assert location.url is not None
    bare, password = split_password(location.url)
    url = location.url if password is not None else with_password(bare, tokens.get)
    engine = create_server_engine(url)
    try:
        with engine.connect():
            pass
    except sa_exc.DBAPIError as error:
        engine.dispose()
        said = str(error.orig if error.orig is not None else error)
        raise _not_opened(location, said, password, url.password) from None
    if password is not None:
        tokens.set(secret_key(bare), password)
    return engine


def open_server_reader(
    location: CatalogLocation, tokens: TokenStore, data_dir: Path, machine_id: str | None = None
) -> ServerCatalogReader | None:
    """The server's catalog for reading only, through psycopg alone (``catalog.pg_reader``: no SQLAlchemy,
    no Alembic), with the password given in the URL or kept in the secrets; None when
    :func:`open_server_catalog` must open it (a migration due, a new or foreign database...). A refused
    connection is the same one line as there; a password given in the URL is kept once the server took it."""
    from catalog.pg_reader import ServerConnectError
    from catalog.pg_reader import open_server_reader as open_reader

    server = location.server
    assert server is not None
    given = server.password
    password = given if given is not None else (tokens.get(secret_key(server)) or None)
    try:
        reader = open_reader(server, password, name=data_dir / SERVER_CATALOG_NAME, machine_id=machine_id)
    except ServerConnectError as error:
        raise _not_opened(location, error.reason, given, password) from None
    if reader is not None and given is not None:
        tokens.set(secret_key(server), given)
    return reader


def _not_opened(location: CatalogLocation, driver_says: str, *secrets: str | None) -> DatabaseAccessError:
    """The one line a refused server is: the driver's first line, passwords masked, and how to give the
    password when it was the password."""
    from catalog.errors import DatabaseAccessError, ServerLoginRefusedError

    lines = driver_says.strip().splitlines()
    reason = mask_in(lines[0] if lines else "no answer", *secrets)
    if "password authentication failed" in reason or "no password supplied" in reason:
        # The server answered: a refused login, which the window asks a password for (not "try again").
        hint = f"; give the password once as {_with_password_placeholder(location)}"
        return ServerLoginRefusedError(
            f"The catalog {location} could not be opened: {reason}{hint}", reason=reason
        )
    return DatabaseAccessError(f"The catalog {location} could not be opened: {reason}")


def _with_password_placeholder(location: CatalogLocation) -> str:
    """``location`` as the user would write it with its password: postgresql://USER:PASSWORD@HOST/DB."""
    assert location.server is not None
    shown = replace(location.server, username=location.server.username or "USER", password="PASSWORD")
    return shown.render(hide_password=False)


def catalog_location(
    explicit: str | None, settings: LiveSettings, tokens: TokenStore
) -> CatalogLocation | None:
    """The server this run's catalog is on: ``--catalog``, else ``ATELIER_CATALOG_URL``, else the
    ``catalog_url`` setting; None: the data folder's own SQLite file.

    Raises ``CatalogUrlError`` (one line saying what to write) for a URL that names no server: the SQLite
    catalog is always the data folder's, chosen with ``--data-dir``. A password found in the setting is
    moved to the secrets at once (the settings file is plain text)."""
    from_setting = not (explicit or os.environ.get(CATALOG_URL_ENV))
    named = (explicit or os.environ.get(CATALOG_URL_ENV) or settings.catalog_url).strip()
    if not named:
        return None
    location = parse(named)
    if location.server is None:
        where = "The catalog_url setting" if from_setting else "A catalog URL"
        raise CatalogUrlError(
            f"{where} names the file {mask_in(str(location.path))}: a catalog URL is a PostgreSQL server "
            "(postgresql://user@host:5432/atelier); the SQLite catalog is the data folder's own, chosen "
            "with --data-dir"
        )
    if from_setting and location.server.password is not None:
        settings.catalog_url = catalog_url_to_save(named, tokens)
        settings.save()
    return location


class SecretKeeper(Protocol):
    """Where the password goes: ``app.secrets.TokenStore`` (the window passes its own handle on it)."""

    def set(self, site: str, token: str | None) -> None: ...


def catalog_url_to_save(text: str, tokens: SecretKeeper) -> str:
    """What the ``catalog_url`` setting keeps for ``text``: the URL without its password, which goes to
    the secrets now; empty for empty (this computer's catalog file). Raises ``CatalogUrlError`` for text
    that names no PostgreSQL server."""
    text = text.strip()
    if not text:
        return ""
    location = parse(text)
    if location.server is None:
        raise CatalogUrlError(
            f"{mask_in(text)} is not a server: write postgresql://user@host:5432/atelier, or leave the "
            "field empty for this computer's catalog file"
        )
    server: ServerAddress = location.server
    if server.password is not None:
        tokens.set(secret_key(server), server.password)
    return replace(server, password=None).render(hide_password=False)
