"""``--catalog postgresql://...``: the CLI's commands on a catalog on a PostgreSQL server, the password
given once and kept with the other secrets, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from catalog.catalog_url import parse, split_password
from tests.factory.files import write_raw_safetensors


def _run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_scan_and_search_on_a_server_with_the_password_given_once(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    header = {"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}
    write_raw_safetensors(models / "pixel_art_style.safetensors", header, bytes(8))
    data = str(tmp_path / "data")
    location = parse(pg_catalog_url)
    assert location.url is not None
    bare, password = split_password(location.url)
    assert password is not None
    bare_text = bare.render_as_string(hide_password=False)

    code, text = _run(
        "--data-dir", data, "--catalog", pg_catalog_url, "scan", str(models), "--no-hash", capsys=capsys
    )
    assert code == 0, text
    assert password not in text
    code, text = _run("--data-dir", data, "--catalog", bare_text, "search", "pixel", capsys=capsys)
    assert code == 0, text
    assert "pixel_art_style" in text


def test_a_wrong_password_is_one_line_without_it(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    location = parse(pg_catalog_url)
    assert location.url is not None
    wrong = pg_catalog_url.replace(f":{location.url.password}@", ":hunter2-wrong@")
    code, text = _run("--data-dir", str(tmp_path / "d"), "--catalog", wrong, "roots", capsys=capsys)
    assert code == 1
    assert "password authentication failed" in text
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1
