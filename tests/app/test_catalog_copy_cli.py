"""``main.py copy-catalog``: a profile's catalog onto a PostgreSQL server and back, the password kept with
the other secrets and never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.secrets import TokenStore
from catalog.catalog_url import masked, parse, secret_key, split_password
from catalog.library import Library


def _run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_copy_to_a_server_and_back_keeps_the_password_out_of_every_message(
    tmp_path: Path,
    pg_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    with Library.open(data / "catalog.sqlite3") as library:
        library.add_root(tmp_path / "models")
    location = parse(pg_url)
    assert location.url is not None
    password = str(location.url.password)
    wrong = pg_url.replace(f":{password}@", ":not-the-password@")
    code, text = _run("--data-dir", str(data), "copy-catalog", "--to", wrong, capsys=capsys)
    assert code == 1
    assert "password authentication failed" in text
    assert "not-the-password" not in text
    assert TokenStore(data, use_keyring=False).get(secret_key(split_password(location.url)[0])) is None

    code, text = _run("--data-dir", str(data), "copy-catalog", "--to", pg_url, capsys=capsys)
    assert code == 0
    assert password not in text
    assert "***" in text
    bare = split_password(location.url)[0]
    assert TokenStore(data).get(secret_key(bare)) == password  # given once, kept

    code, text = _run(
        "--data-dir", str(data), "copy-catalog", "--to", masked(bare).replace(":***", ""), capsys=capsys
    )
    assert code == 1
    assert "--replace" in text

    back = tmp_path / "back" / "catalog.sqlite3"
    bare_text = bare.render_as_string(hide_password=False)
    code, text = _run(
        "--data-dir", str(data), "copy-catalog", "--from", bare_text, "--to", str(back), capsys=capsys
    )
    assert code == 0
    assert back.is_file()
    assert password not in text


def test_an_unknown_database_kind_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(
        "--data-dir", str(tmp_path / "d"), "copy-catalog", "--to", "mysql://u:secret@h/x", capsys=capsys
    )
    assert code == 1
    assert "SQLite or PostgreSQL" in text
    assert "secret" not in text
    assert "Traceback" not in text


def test_a_folder_given_as_the_catalog_is_a_usage_error_naming_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with Library.open(data / "catalog.sqlite3") as library:
        library.add_root(tmp_path / "models")
    folder = tmp_path / "exports"
    folder.mkdir()

    code, text = _run("--data-dir", str(data), "copy-catalog", "--to", str(folder), capsys=capsys)

    assert code == 2
    assert text.splitlines() == [
        f"atelier copy-catalog: {folder} is a folder: give --to the catalog's file name (e.g. "
        f"{folder / 'catalog.sqlite3'})"
    ]
    assert list(folder.iterdir()) == []
    code, text = _run(
        "--data-dir",
        str(data),
        "copy-catalog",
        "--from",
        str(data),
        "--to",
        str(folder / "c.sqlite3"),
        capsys=capsys,
    )
    assert code == 2
    assert text.splitlines() == [
        f"atelier copy-catalog: {data} is a folder: give --from the catalog's file name (e.g. "
        f"{data / 'catalog.sqlite3'})"
    ]
    code, text = _run(
        "--data-dir", str(data), "copy-catalog", "--to", str(folder / "c.sqlite3"), capsys=capsys
    )
    assert code == 0, text
    assert (folder / "c.sqlite3").is_file()
