"""``search``, ``show`` and ``roots`` on a catalog on a PostgreSQL server read it with psycopg alone
(``catalog.pg_reader``): no SQLAlchemy, no Alembic (nor the keyring, when the password is in the
profile's file), the same records as the Library, the password from the secrets, and the same one-line
refusals; a catalog that is not at this version's schema is still opened (and migrated) by the Library."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.context import AppContext
from app.secrets import TokenStore
from app.server_catalog import open_server_catalog, open_server_reader
from catalog.catalog_url import parse, secret_key, split_password
from catalog.errors import CatalogError
from catalog.library import Library
from catalog.pg_reader import ServerCatalogReader
from catalog.records import AssetQuery
from tests.app.imports_of import imports_of
from tests.factory.files import write_raw_safetensors

HEAVY = ("sqlalchemy", "alembic")


def _seeded(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> Path:
    """A data folder that scanned two real files into the server's catalog, the password given once."""
    models = tmp_path / "models"
    models.mkdir()
    header = {"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}
    for name in ("pixel_art_style", "ink_sketch"):
        write_raw_safetensors(models / f"{name}.safetensors", header, bytes(8))
    data = tmp_path / "data"
    location = parse(url)
    assert location.server is not None
    # Kept in the profile's file (as on a machine without a keyring), so no test writes to a real keyring.
    TokenStore(data, use_keyring=False).set(secret_key(location.server), location.server.password)
    code = main(["--data-dir", str(data), "--catalog", _bare(url), "scan", str(models), "--no-hash"])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    return data


def _bare(url: str) -> str:
    location = parse(url)
    assert location.url is not None
    return split_password(location.url)[0].set(drivername="postgresql").render_as_string(hide_password=False)


def test_search_and_show_on_a_server_load_neither_sqlalchemy_nor_alembic(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _seeded(tmp_path, pg_catalog_url, capsys)
    on_server = ["--data-dir", str(data), "--catalog", _bare(pg_catalog_url)]  # the password: the secrets'

    result, modules = imports_of(*on_server, "search", "pixel")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pixel_art_style" in result.stdout
    assert "1 of 1 shown" in result.stdout
    assert "psycopg" in modules, "the server was not read"
    assert not modules & set(HEAVY), f"search imported {sorted(modules & set(HEAVY))}"
    assert "keyring" not in modules, "the password kept in the profile's file is read without the keyring"

    asset_id = result.stdout.split()[0]
    result, modules = imports_of(*on_server, "show", asset_id)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pixel_art_style.safetensors" in result.stdout
    assert not modules & set(HEAVY), f"show imported {sorted(modules & set(HEAVY))}"


def test_the_light_reader_answers_as_the_library(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _seeded(tmp_path, pg_catalog_url, capsys)
    context = AppContext(data, tokens=TokenStore(data, use_keyring=False), catalog=_bare(pg_catalog_url))
    try:
        reader = context.reads
        assert isinstance(reader, ServerCatalogReader)
        library = context.library
        assert isinstance(library, Library)
        for query in (AssetQuery(text="pixel"), AssetQuery(), AssetQuery(text="ink sk", limit=1)):
            assert reader.search(query) == library.search(query)
            assert reader.search_rows(query) == library.search_rows(query)
            assert reader.count(query) == library.count(query)
        records = library.search(AssetQuery())
        assert len(records) == 2
        for record in records:
            assert reader.get(record.id) == record
            assert reader.get_by_path(record.path) == record
            assert reader.previews(record.id) == library.previews(record.id)
            assert reader.remote_links(record.id) == library.remote_links(record.id)
        assert reader.get_many([r.id for r in records]) == library.get_many([r.id for r in records])
        assert reader.roots() == library.roots()
        assert reader.root_places() == library.root_places()
        assert reader.has_mirrors() == library.has_mirrors()
    finally:
        context.close()


def test_a_catalog_not_at_this_version_is_opened_and_made_by_the_library(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    location = parse(pg_url)
    tokens = TokenStore(tmp_path / "data", use_keyring=False)
    assert open_server_reader(location, tokens, tmp_path / "data") is None  # an empty database

    code = main(["--data-dir", str(tmp_path / "data"), "--catalog", pg_url, "search", "anything"])
    assert code == 0, capsys.readouterr()
    assert "0 of 0 shown" in capsys.readouterr().out
    reader = open_server_reader(location, tokens, tmp_path / "data")
    assert reader is not None, "made at this version's schema by the Library: read lightly from now on"
    reader.close()


def test_the_password_given_in_the_url_once_is_kept_by_a_reading_command(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    code = main(["--data-dir", str(data), "--catalog", pg_catalog_url, "search", "x"])
    assert code == 0, capsys.readouterr()
    location = parse(pg_catalog_url)
    assert location.server is not None
    assert location.server.password is not None
    assert TokenStore(data, use_keyring=False).get(secret_key(location.server)) == location.server.password
    code = main(["--data-dir", str(data), "--catalog", _bare(pg_catalog_url), "roots"])
    text = capsys.readouterr()
    assert code == 0, text
    assert location.server.password not in text.out + text.err


@pytest.mark.parametrize("refusal", ["wrong password", "no password", "server down"])
def test_a_refused_connection_is_the_same_line_as_the_librarys(
    tmp_path: Path, pg_catalog_url: str, refusal: str
) -> None:
    location = parse(pg_catalog_url)
    assert location.server is not None
    assert location.server.password is not None
    secret = location.server.password
    if refusal == "wrong password":
        url = pg_catalog_url.replace(f":{secret}@", ":hunter2-wrong@")
    elif refusal == "no password":
        url = _bare(pg_catalog_url)
    else:
        url = pg_catalog_url.replace(f":{location.server.port}/", ":1/")
    wrong = parse(url)
    tokens = TokenStore(tmp_path / "data", use_keyring=False)

    with pytest.raises(CatalogError) as light:
        open_server_reader(wrong, tokens, tmp_path / "data")
    with pytest.raises(CatalogError) as full:
        open_server_catalog(wrong, tokens, tmp_path / "data")
    assert str(light.value) == str(full.value)
    assert type(light.value) is type(full.value)
    message = str(light.value)
    assert len(message.splitlines()) == 1
    assert secret not in message
    assert "hunter2" not in message
    if refusal != "server down":
        assert "give the password once as postgresql://" in message
    else:
        assert "Connection refused" in message
    assert wrong.server is not None
    assert tokens.get(secret_key(wrong.server)) is None, "a refused password is never kept"


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://anna:pw@nas:5433/atelier",
        "postgresql://nas/atelier?sslmode=require&application_name=atelier",
        "postgresql://a%40b@[::1]/db%2Fx",
    ],
)
def test_the_light_reader_connects_with_what_the_engine_would(text: str) -> None:
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    from catalog.catalog_url import CONNECT_ARGS
    from catalog.pg_reader import connection_parameters

    location = parse(text)
    assert location.server is not None
    assert location.url is not None
    _, expected = PGDialect_psycopg().create_connect_args(location.url)
    expected.pop("context", None)  # SQLAlchemy's own type adapters; the reader brings its own
    assert connection_parameters(location.server, location.server.password) == {**expected, **CONNECT_ARGS}


def test_several_hosts_are_left_to_the_engine() -> None:
    from catalog.pg_reader import connection_parameters

    location = parse("postgresql://anna@nas/atelier?host=a&host=b")
    assert location.server is not None
    assert connection_parameters(location.server, None) is None
