"""The ``catalog_url`` setting through ``main.py``: it opens the catalog on the server, its password moves
from settings.json to the secrets on the first start, and ``--catalog`` > ``ATELIER_CATALOG_URL`` > the
setting > the data folder's SQLite file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from catalog.catalog_url import CATALOG_URL_ENV, parse, split_password
from main import main
from tests.factory.files import write_raw_safetensors
from tests.pg_server import PgServer

HEADER = {"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _models(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    write_raw_safetensors(folder / f"{name}_style.safetensors", HEADER, bytes(8))
    return folder


def _set_catalog_url(data_dir: Path, url: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps({"catalog_url": url}), encoding="utf-8")


def test_the_setting_opens_the_server_and_its_password_moves_to_the_secrets(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CATALOG_URL_ENV, raising=False)
    data = tmp_path / "data"
    location = parse(pg_catalog_url)
    assert location.url is not None
    bare, password = split_password(location.url)
    assert password is not None
    _set_catalog_url(data, pg_catalog_url)  # written by hand, password and all
    models = _models(tmp_path, "shared")

    code, text = _run(capsys, "--data-dir", str(data), "scan", str(models), "--no-hash")
    assert code == 0, text
    assert password not in text
    stored = json.loads((data / "settings.json").read_text(encoding="utf-8"))["catalog_url"]
    assert password not in stored
    assert parse(stored).url == bare.set(drivername=location.url.drivername)

    code, text = _run(capsys, "--data-dir", str(data), "search", "shared")
    assert code == 0, text
    assert "shared_style" in text
    assert not (data / "catalog.sqlite3").exists()  # the catalog is the server's


def test_catalog_beats_the_environment_which_beats_the_setting(
    tmp_path: Path,
    pg: PgServer,
    pg_template: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CATALOG_URL_ENV, raising=False)
    urls = {}
    for name in ("setting", "environment", "option"):
        database = f"t_{uuid.uuid4().hex[:12]}"
        urls[name] = pg.create_database(database, template=pg_template)
        folder = _models(tmp_path, name)
        code, text = _run(
            capsys, "--data-dir", str(tmp_path / name), "--catalog", urls[name], "roots", "add", str(folder)
        )
        assert code == 0, text
    data = tmp_path / "data"
    _set_catalog_url(data, urls["setting"])

    def roots(*extra: str) -> str:
        code, text = _run(capsys, "--data-dir", str(data), *extra, "roots")
        assert code == 0, text
        return text

    assert str(tmp_path / "setting") in roots()
    monkeypatch.setenv(CATALOG_URL_ENV, urls["environment"])
    listed = roots()
    assert str(tmp_path / "environment") in listed
    assert str(tmp_path / "setting") not in listed
    listed = roots("--catalog", urls["option"])
    assert str(tmp_path / "option") in listed
    assert str(tmp_path / "environment") not in listed


def test_a_setting_naming_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CATALOG_URL_ENV, raising=False)
    data = tmp_path / "data"
    _set_catalog_url(data, str(tmp_path / "other.sqlite3"))
    code, text = _run(capsys, "--data-dir", str(data), "roots")
    assert code == 2
    assert "The catalog_url setting names the file" in text
    assert "--data-dir" in text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1
