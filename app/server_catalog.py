"""Opening the profile's catalog on a PostgreSQL server (``--catalog URL`` or ``ATELIER_CATALOG_URL``).

A password written in the URL is taken out at once and kept with the other secrets (``app.secrets``,
under :func:`catalog.catalog_url.secret_key`) once the server has accepted it, so the user gives it once
and later runs name the server without it; every message names the server with the password masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalog.catalog_url import CatalogLocation, mask_in

if TYPE_CHECKING:
    from pathlib import Path

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
        cause = error.orig if isinstance(error, sa_exc.DBAPIError) else error
        reason = mask_in(str(cause).strip().splitlines()[0], password, url.password)
        raise DatabaseAccessError(f"The catalog {location} could not be opened: {reason}") from None
    if password is not None:
        tokens.set(secret_key(bare), password)
    return library
