"""The catalog on a real PostgreSQL server: migrations 0001-0010, the search index kept by triggers, a
copy from SQLite into PostgreSQL and back, and a client killed inside a write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from catalog.catalog_copy import TargetNotEmptyError, copy_catalog
from catalog.catalog_url import create_server_engine, parse
from catalog.db import create_catalog_engine
from catalog.library import Library
from catalog.migrate import head_revision, recorded_revision, upgrade
from catalog.records import AssetQuery, UserDataChanges
from tests.catalog.conftest import hashes_for, scanned
from tests.pg_server import PgServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server_engine(pg_url: str) -> Iterator[Engine]:
    location = parse(pg_url)
    assert location.url is not None
    engine = create_server_engine(location.url)
    yield engine
    engine.dispose()


def _words(engine: Engine, asset_id: int) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(text("SELECT words FROM asset_fts WHERE rowid = :i"), {"i": asset_id}).scalar()
        )


def test_migrations_reach_head_and_triggers_keep_the_search_index(server_engine: Engine) -> None:
    upgrade(server_engine)
    assert recorded_revision(server_engine) == head_revision()
    with server_engine.begin() as connection:
        connection.execute(text("INSERT INTO roots (path, layout, added_at) VALUES ('/m', 'flat', now())"))
        connection.execute(
            text(
                "INSERT INTO assets (root_id, path, file_name, size, mtime_ns, format, kind, architecture,"
                " status, added_at, updated_at, display_name, trigger_words)"
                " VALUES (1, '/m/pixel_art_v2.safetensors', 'pixel_art_v2.safetensors', 5000000000,"
                " 1733000000000000000, 'safetensors', 'lora', 'sdxl',"
                " 'ok', now(), now(), 'Café', '[\"pxl style\"]')"
            )
        )
        connection.execute(text("INSERT INTO tags (name, key) VALUES ('Anime', 'anime')"))
        connection.execute(text("INSERT INTO asset_tags (asset_id, tag_id) VALUES (1, 1)"))
    # Words as FTS5's unicode61 with remove_diacritics splits them; sizes and times past 32 bits fit.
    assert _words(server_engine, 1) == "cafe pixel art v2 safetensors anime pxl style"
    with server_engine.begin() as connection:
        connection.execute(text("UPDATE tags SET name = 'Manga' WHERE id = 1"))
        connection.execute(
            text(
                "INSERT INTO remote_links (asset_id, site, model_id, version_id, model_name, payload,"
                " fetched_at) VALUES (1, 'civitai', 7, 8, 'Retro Sprites', '{}', now())"
            )
        )
        found = connection.execute(
            text("SELECT rowid FROM asset_fts WHERE document @@ to_tsquery('simple', 'manga & retro:*')")
        ).scalars()
        assert list(found) == [1]
        connection.execute(text("DELETE FROM assets WHERE id = 1"))
        assert connection.execute(text("SELECT count(*) FROM asset_fts")).scalar() == 0


def _sqlite_library(tmp_path: Path, name: str) -> Library:
    library = Library.open(tmp_path / name / "catalog.sqlite3")
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    root = library.add_root(models).id
    ids = library.apply_scan_batch(
        root,
        [scanned(models / f"{n}.safetensors", size=2**33 + i) for i, n in enumerate(("pixel_art", "café"))],
    )
    library.set_hashes(ids[0], hashes_for("pixel"))
    library.update_user_data(
        ids[0], UserDataChanges(rating=4, favorite=True, tags=("anime", "retro"), notes="n")
    )
    library.update_user_data(ids[1], UserDataChanges(display_name="Café au lait", collections=("best",)))
    return library


def test_a_catalog_copied_into_postgresql_and_back_is_the_same(tmp_path: Path, server_engine: Engine) -> None:
    original = _sqlite_library(tmp_path, "a")
    source = create_catalog_engine(original.path)
    report = copy_catalog(source, server_engine)
    assert report.rows["assets"] == 2
    assert report.rows["tags"] == 2
    assert report.rows["asset_collections"] == 1
    assert _words(server_engine, 1).startswith("pixel art safetensors")

    back_path = tmp_path / "b" / "catalog.sqlite3"
    back_path.parent.mkdir()
    back = create_catalog_engine(back_path)
    copy_catalog(server_engine, back)
    source.dispose()
    back.dispose()
    with Library.open(back_path) as copied:
        assert copied.get_many([1, 2]) == original.get_many([1, 2])
        for words in ("anime", "cafe", "pix", "best"):
            query = AssetQuery(text=words)
            assert copied.search_ids(query) == original.search_ids(query)
        assert copied.search_ids(AssetQuery(text="anime")) == [1]
    original.close()


def test_a_copy_refuses_a_target_with_a_library_unless_told_and_keeps_ids_going(
    tmp_path: Path, server_engine: Engine
) -> None:
    original = _sqlite_library(tmp_path, "a")
    source = create_catalog_engine(original.path)
    copy_catalog(source, server_engine)
    with pytest.raises(TargetNotEmptyError, match="--replace"):
        copy_catalog(source, server_engine)
    copy_catalog(source, server_engine, replace=True)
    with server_engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM assets")).scalar() == 2
        new_id = connection.execute(
            text("INSERT INTO tags (name, key) VALUES ('new', 'new') RETURNING id")
        ).scalar()
    assert new_id == 3  # the sequence was moved past the copied ids
    source.dispose()
    original.close()


WRITER = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.begin() as connection:
    connection.execute(text("INSERT INTO roots (path, layout, added_at) VALUES ('/half', 'flat', now())"))
    connection.execute(text("UPDATE roots SET layout = 'a1111'"))
    print("inside", flush=True)
    time.sleep(60)
"""


def test_a_client_killed_inside_a_write_leaves_nothing_half_written(
    server_engine: Engine, pg_url: str
) -> None:
    upgrade(server_engine)
    with server_engine.begin() as connection:
        connection.execute(text("INSERT INTO roots (path, layout, added_at) VALUES ('/kept', 'flat', now())"))
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, pg_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "inside"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    with server_engine.connect() as connection:
        rows = connection.execute(text("SELECT path, layout FROM roots ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [("/kept", "flat")]


def test_the_server_asks_for_the_password_the_url_leaves_out(pg: PgServer) -> None:
    """A URL without the password reaches the server only with the stored one (what --catalog does)."""
    from catalog.catalog_url import split_password, with_password

    location = parse(pg.url())
    assert location.url is not None
    bare, password = split_password(location.url)
    assert password == pg.password
    assert pg.password not in str(parse(pg.url()))
    store = {f"database:{pg.user}@{pg.host}:{pg.port}/postgres": password}
    engine = create_server_engine(with_password(bare, store.get))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("idle", ["idle past the threshold", "used a moment ago"])
def test_connections_cut_off_by_a_server_restart_are_replaced_before_use(
    pg: PgServer, pg_catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idle: str
) -> None:
    """Pooled connections are checked before use once idle (catalog.catalog_url.IDLE_BEFORE_PING_S), and
    at once when the server said goodbye on their socket: the first search and the first edit after the
    server restarted answer, on new connections."""
    from catalog import catalog_url
    from tests import pg_server

    location = parse(pg_catalog_url)
    assert location.url is not None
    models = tmp_path / "models"
    with Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location)) as library:
        root = library.add_root(models).id
        (asset,) = library.apply_scan_batch(root, [scanned(models / "pixel.safetensors")])
        assert [row.id for row in library.search_rows(AssetQuery(text="pix"))] == [asset]
        pg_server.restart(pg)  # every connection in the pool is cut off
        if idle == "used a moment ago":
            monkeypatch.setattr(catalog_url, "IDLE_BEFORE_PING_S", 10**9)
        else:
            time.sleep(catalog_url.IDLE_BEFORE_PING_S + 0.1)
        assert [row.id for row in library.search_rows(AssetQuery(text="pix"))] == [asset]
        assert library.update_user_data(asset, UserDataChanges(rating=3)).rating == 3
