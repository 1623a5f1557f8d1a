"""Catalog locations: paths and URLs parsed, passwords taken out and masked in every text."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.catalog_url import (
    CatalogUrlError,
    mask_in,
    masked,
    parse,
    secret_key,
    split_password,
    with_password,
)


def test_a_path_or_sqlite_url_is_a_file_and_postgresql_uses_psycopg() -> None:
    assert parse("/data/catalog.sqlite3").path == Path("/data/catalog.sqlite3")
    assert parse("sqlite:////data/c.sqlite3").path == Path("/data/c.sqlite3")
    location = parse("postgresql://anna:s3cr%40t@nas:5433/atelier")
    assert location.url is not None
    assert location.url.drivername == "postgresql+psycopg"
    assert str(location) == "postgresql://anna:***@nas:5433/atelier"  # as the user writes it


def test_the_password_is_split_off_stored_by_server_and_put_back() -> None:
    location = parse("postgresql://anna:pw@nas/atelier")
    assert location.url is not None
    bare, password = split_password(location.url)
    assert password == "pw"
    assert bare.password is None
    assert "pw" not in masked(bare)
    assert secret_key(bare) == "database:anna@nas:5432/atelier"
    assert with_password(bare, {secret_key(bare): "pw"}.get).password == "pw"
    assert with_password(bare, {}.get).password is None


@pytest.mark.parametrize(
    "text",
    [
        "connection to postgresql://anna:hunter2@nas/db failed",
        "dsn: host=nas user=anna password=hunter2 dbname=db",
        "dsn: password='hunter2' host=nas",
        "postgresql:/anna:hunter2@nas",
        "postgresql:anna:hunter2@nas/db",
        "postgresql://anna@nas/db?password=hunter2&sslmode=disable",
        "postgresql://anna:hunt@er2@nas/db",
    ],
)
def test_passwords_are_masked_in_driver_messages(text: str) -> None:
    assert "hunter2" not in mask_in(text)
    assert "***" in mask_in(text)


def test_other_databases_and_urls_without_a_database_are_refused_in_one_line() -> None:
    with pytest.raises(CatalogUrlError, match="not mysql"):
        parse("mysql://u:secret@h/x")
    with pytest.raises(CatalogUrlError, match="host and a database") as error:
        parse("postgresql://anna:secret@nas")
    assert "secret" not in str(error.value)
