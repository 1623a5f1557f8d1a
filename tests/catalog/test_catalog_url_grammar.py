"""catalog.catalog_url reads a server URL without SQLAlchemy: it must read every URL as SQLAlchemy's
``make_url`` does (the parts the engine connects with, the text messages show), and say the same
one-line refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from catalog.catalog_url import POSTGRESQL_DRIVER, CatalogUrlError, parse

URLS = [
    "postgresql://anna:s3cr%40t@nas:5433/atelier",
    "postgresql://anna@nas/atelier",
    "postgres://nas/atelier",
    "postgresql+psycopg://a%2Fb:p%3Aw%20d@[::1]:5432/my%2Fdb",
    "postgresql://u@h/d?sslmode=require&application_name=x%20y",
    "postgresql://u@h/d?a=1&a=2&b=3",
    "postgresql://u:p+q@h:1/d+e",
    "postgresql://ü:ö@host.example/ä",
]


@pytest.mark.parametrize("text", URLS)
def test_a_server_url_is_read_as_sqlalchemy_reads_it(text: str) -> None:
    expected = make_url(text).set(drivername=POSTGRESQL_DRIVER)
    location = parse(text)
    assert location.url == expected
    assert location.server is not None
    assert location.server.render(hide_password=False) == expected.set(
        drivername="postgresql"
    ).render_as_string(hide_password=False)
    assert str(location) == expected.set(drivername="postgresql").render_as_string(hide_password=True)


def test_libpq_password_in_the_query_becomes_the_urls_password() -> None:
    location = parse("postgresql://anna@nas/db?password=hunter2&sslmode=disable")
    assert location.url is not None
    assert location.url.password == "hunter2"
    assert dict(location.url.query) == {"sslmode": "disable"}
    assert "hunter2" not in str(location)
    kept = parse("postgresql://anna:mine@nas/db?password=other")
    assert kept.url is not None
    assert kept.url.password == "mine"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("my-db://x/y", "is not a URL"),
        ("postgresql://u:secret@h:x5/db", "no readable host and port"),
        ("postgresql://u:secret@[::1:5432/db", "no readable host and port"),
        ("postgresql://u:secret@h:/db", "no readable host and port"),
        ("postgresql://anna:secret@nas", "needs a host and a database name"),
        ("postgresql://anna:secret@nas/", "needs a host and a database name"),
        ("postgresql://anna:secret@/db", "needs a host and a database name"),
        ("mysql://u:secret@h/x", "not mysql"),
    ],
)
def test_unreadable_urls_are_one_line_without_the_password(text: str, words: str) -> None:
    with pytest.raises(CatalogUrlError, match=words) as error:
        parse(text)
    assert "secret" not in str(error.value)
    assert len(str(error.value).splitlines()) == 1
