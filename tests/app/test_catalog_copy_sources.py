"""``main.py copy-catalog`` from a catalog an older Atelier wrote, and the password of a copy that failed.

A source on an older schema is migrated first where its folder can be written (its backup made beside it,
as on any open), then copied; one in a read-only folder is left as it is and the command says why. A
password given in the URL is kept as soon as the server accepted it, whatever the copy did next, and a
later run without it gets the line every command gives ("give the password once"), never the driver's
"no password supplied" as an unreachable server."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest

from app.cli import main
from app.secrets import TokenStore
from catalog.catalog_url import parse, secret_key, split_password
from catalog.db import sqlite_url
from catalog.library import Library
from catalog.migrate import current_revision, head_revision, upgrade
from tests import pg_server
from tests.app.main_process import run_main
from tests.app.restricted_process import read_only_mount

CATALOG = "catalog.sqlite3"


def _run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _old_catalog(path: Path, revision: str) -> None:
    """A catalog as the Atelier of ``revision`` left it, holding one library folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(sqlite_url(path), revision, backup=False)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO roots (id, path, layout, added_at) "
            "VALUES (1, '/models', 'a1111', '2024-05-01 10:00:00')"
        )
    connection.close()


@pytest.mark.parametrize("revision", ["0011", "0015"])
def test_a_catalog_on_an_older_schema_is_updated_then_copied(
    tmp_path: Path, pg_url: str, revision: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    _old_catalog(data / CATALOG, revision)

    code, text = _run("--data-dir", str(data), "copy-catalog", "--to", pg_url, capsys=capsys)

    assert code == 0, text
    assert "read-only" not in text
    assert "Copied" in text
    assert current_revision(sqlite_url(data / CATALOG)) == head_revision()
    assert [p.name for p in data.glob(f"{CATALOG}.before-*.bak")]  # the update's backup, as on any open
    location = parse(pg_url)
    assert location.url is not None
    bare = split_password(location.url)[0].render_as_string(hide_password=False)
    code, text = _run("--data-dir", str(data), "--catalog", bare, "roots", "--json", capsys=capsys)
    assert code == 0, text
    assert '"canonical_path": "/models"' in text


def test_a_catalog_due_for_an_update_in_a_read_only_folder_is_left_as_it_is(tmp_path: Path) -> None:
    old = tmp_path / "old"
    _old_catalog(old / CATALOG, "0011")
    prefix = read_only_mount(old)
    if prefix is None:
        pytest.skip("no read-only bind mount here (needs root or unprivileged user and mount namespaces)")
    before = (old / CATALOG).read_bytes()
    target = tmp_path / "copy" / CATALOG

    result = run_main(
        "copy-catalog", "--from", str(old / CATALOG), "--to", str(target),
        data_dir=tmp_path / "data", wrapper=prefix, timeout=60,
    )  # fmt: skip

    assert result.returncode == 1
    assert "(schema 0011 to " in result.stderr
    assert "cannot run in a read-only folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert (old / CATALOG).read_bytes() == before


def test_the_password_of_a_refused_copy_is_kept_and_its_absence_said_as_everywhere(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    location = parse(pg_url)
    assert location.url is not None
    bare, password = split_password(location.url)
    assert password is not None
    without = bare.render_as_string(hide_password=False)
    first, second = tmp_path / "first", tmp_path / "second"
    for data in (first, second):
        with Library.open(data / CATALOG) as library:
            library.add_root(tmp_path / f"models-{data.name}")
    code, text = _run("--data-dir", str(first), "copy-catalog", "--to", pg_url, capsys=capsys)
    assert code == 0, text

    # Refused (the server holds a library now), the password given again in the URL on another profile:
    code, text = _run("--data-dir", str(second), "copy-catalog", "--to", pg_url, capsys=capsys)
    assert code == 1
    assert "--replace" in text
    assert password not in text
    assert TokenStore(second).get(secret_key(bare)) == password  # the server took it: kept

    # A profile that never gave it: the line every command gives, with how to give it once.
    third = tmp_path / "third"
    with Library.open(third / CATALOG) as library:
        library.add_root(tmp_path / "models-third")
    code, text = _run("--data-dir", str(third), "copy-catalog", "--to", without, "--replace", capsys=capsys)
    assert code == 1
    assert "cannot be reached" not in text
    assert "give the password once as postgresql://" in text
    assert text.count("\n") == 1
    code, roots_text = _run("--data-dir", str(third), "--catalog", without, "roots", capsys=capsys)
    assert code == 1
    assert "give the password once as postgresql://" in roots_text


def _many_assets(catalog: Path, count: int) -> None:
    """``count`` asset rows written straight into the catalog (a copy long enough to be cut off)."""
    with Library.open(catalog) as library:
        root = library.add_root(catalog.parent / "models")
    with sqlite3.connect(catalog) as connection:
        connection.executemany(
            "INSERT INTO assets (root_id, path, file_name, size, mtime_ns, format, kind, architecture, "
            "status, added_at, updated_at) VALUES (?, ?, ?, 10, 1, 'safetensors', 'lora', 'sd1', 'ok', "
            "'2024-05-01 10:00:00', '2024-05-01 10:00:00')",
            [(root.id, f"{root.path}/m{i}.safetensors", f"m{i}.safetensors") for i in range(count)],
        )
    connection.close()


def test_a_copy_cut_off_by_the_server_is_one_line(
    tmp_path: Path, pg: pg_server.PgServer, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small, data = tmp_path / "small", tmp_path / "data"
    _many_assets(small / CATALOG, 1)
    assert _run("--data-dir", str(small), "copy-catalog", "--to", pg_url, capsys=capsys)[0] == 0
    _many_assets(data / CATALOG, 5000)
    database = parse(pg_url).url.database  # type: ignore[union-attr]
    cut: list[bool] = []

    def cut_the_copy_off() -> None:
        """The server ends the copy's connection while it writes the assets (as when it stops)."""
        with psycopg.connect(pg.url().replace("+psycopg", ""), autocommit=True) as admin:
            for _ in range(1500):
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND query LIKE 'INSERT INTO assets%%'",
                    (database,),
                ).fetchall()
                if ended:
                    cut.append(True)
                    return
                time.sleep(0.005)

    killer = threading.Thread(target=cut_the_copy_off)
    killer.start()
    # A real process: psycopg's warning reaches stderr only where nothing configured logging (pytest does).
    result = run_main("copy-catalog", "--to", pg_url, "--replace", data_dir=data, timeout=60)
    killer.join()

    text = result.stdout + result.stderr
    assert cut, "the copy ended before the server could cut it off"
    assert result.returncode == 1
    assert text.startswith("atelier copy-catalog: The catalog postgresql://")
    assert "could not be written" in text
    assert "Pipeline" not in text
    assert text.count("\n") == 1
