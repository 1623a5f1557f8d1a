"""Opening the profile's catalog on a PostgreSQL server (``--catalog URL``, ``ATELIER_CATALOG_URL`` or the
``catalog_url`` setting, in that order; none of them: the data folder's SQLite file).

A password written in the URL is taken out at once and kept with the other secrets (``app.secrets``,
under :func:`catalog.catalog_url.secret_key`) once the server has accepted it, so the user gives it once
and later runs name the server without it; every message names the server with the password masked. The
setting never holds a password: the Settings dialog (and a hand-edited ``settings.json``, on the next
start) hand it to the secrets and keep the URL without it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from catalog.catalog_url import CATALOG_URL_ENV, CatalogLocation, CatalogUrlError, mask_in, parse

if TYPE_CHECKING:
    from pathlib import Path

    from app.live_settings import LiveSettings
    from app.secrets import TokenStore
    from catalog.library import Library
    from catalog.machine_paths import Machine


def open_server_catalog(
    location: CatalogLocation, tokens: TokenStore, data_dir: Path, machine: Machine | None = None
) -> Library:
    from sqlalchemy import exc as sa_exc

    from catalog.catalog_url import create_server_engine, secret_key, split_password, with_password
    from catalog.errors import CatalogError, DatabaseAccessError
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
        reason = mask_in(str(cause).strip().splitlines()[0], password, url.password)
        if "password authentication failed" in reason or "no password supplied" in reason:
            reason += f"; give the password once as {_with_password_placeholder(location)}"
        raise DatabaseAccessError(f"The catalog {location} could not be opened: {reason}") from None
    if password is not None:
        tokens.set(secret_key(bare), password)
    return library


def _with_password_placeholder(location: CatalogLocation) -> str:
    """``location`` as the user would write it with its password: postgresql://USER:PASSWORD@HOST/DB."""
    assert location.url is not None
    shown = location.url.set(drivername="postgresql", username=location.url.username or "USER")
    return shown.set(password="PASSWORD").render_as_string(hide_password=False)


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
    if location.url is None:
        where = "The catalog_url setting" if from_setting else "A catalog URL"
        raise CatalogUrlError(
            f"{where} names the file {mask_in(str(location.path))}: a catalog URL is a PostgreSQL server "
            "(postgresql://user@host:5432/atelier); the SQLite catalog is the data folder's own, chosen "
            "with --data-dir"
        )
    if from_setting and location.url.password is not None:
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
    from catalog.catalog_url import secret_key, split_password

    text = text.strip()
    if not text:
        return ""
    location = parse(text)
    if location.url is None:
        raise CatalogUrlError(
            f"{mask_in(text)} is not a server: write postgresql://user@host:5432/atelier, or leave the "
            "field empty for this computer's catalog file"
        )
    bare, password = split_password(location.url)
    if password is not None:
        tokens.set(secret_key(bare), password)
    return bare.set(drivername="postgresql").render_as_string(hide_password=False)
