"""``--catalog`` written wrong, or with its password in any form: the CLI says so in one line, exits 2
(or 1 for a server that refuses), and the password never reaches stdout or stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from catalog.catalog_url import parse

SECRET = "s3cret-Xq9"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"postgresql://anna:{SECRET}@127.0.0.1:notaport/atelier", "the port is a number"),
        (f"postgresql://anna:{SECRET}@127.0.0.1:x5/atelier", "the port is a number"),
        (f"postgresql://anna:{SECRET}@[::1/atelier", "[::1]:5432"),
        (f"postgresql:/anna:{SECRET}@127.0.0.1", "is not a URL"),
        (f"postgresql:anna:{SECRET}@127.0.0.1/atelier", "is not a URL"),
        (f"mysql://anna:{SECRET}@127.0.0.1/atelier", "not mysql"),
        (f"postgresql://anna:{SECRET}@127.0.0.1", "needs a host and a database"),
    ],
)
def test_a_catalog_url_that_cannot_be_read_is_one_line_exit_2_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    code, text = _run(["--data-dir", str(tmp_path), "--catalog", url, "search", "x"], capsys)
    assert code == 2, text
    assert said in text
    assert SECRET not in text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://anna@127.0.0.1:1/atelier?password={SECRET}&sslmode=disable",
        f"postgres://anna:{SECRET}@127.0.0.1:1/atelier",
        f"postgresql+psycopg://anna:{SECRET}@127.0.0.1:1/atelier",
    ],
)
def test_an_unreachable_server_is_named_as_the_user_writes_it_and_never_with_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, text = _run(["--data-dir", str(tmp_path), "--catalog", url, "search", "x"], capsys)
    assert code == 1, text
    assert "postgresql://anna:***@127.0.0.1:1/atelier" in text
    assert "psycopg" not in text
    assert SECRET not in text
    assert len(text.strip().splitlines()) == 1


def test_libpq_short_scheme_and_query_password_are_read_like_the_long_forms() -> None:
    short = parse(f"postgres://anna:{SECRET}@nas/atelier").url
    query = parse(f"postgresql://anna@nas/atelier?password={SECRET}").url
    assert short is not None
    assert query is not None
    assert short.password == query.password == SECRET
    assert "password" not in query.query  # kept with the secrets like user:password@, not in the URL


def test_a_refused_password_says_how_to_give_it_once(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    location = parse(pg_catalog_url)
    assert location.url is not None
    wrong = pg_catalog_url.replace(f":{location.url.password}@", f":{SECRET}@")
    code, text = _run(["--data-dir", str(tmp_path), "--catalog", wrong, "search", "x"], capsys)
    assert code == 1, text
    assert "password authentication failed" in text
    assert "give the password once as postgresql://" in text
    assert ":PASSWORD@" in text
    assert SECRET not in text
    assert len(text.strip().splitlines()) == 1
    bare = location.url.set(drivername="postgresql", password=None)
    code, text = _run(
        ["--data-dir", str(tmp_path / "fresh"), "--catalog", bare.render_as_string(), "search", "x"], capsys
    )
    assert code == 1, text
    assert "give the password once as" in text
