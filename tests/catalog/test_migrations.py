"""Alembic migrations: the revision chain, the ORM in step with them, and an old catalog brought forward."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from catalog.catalog_url import create_server_engine, parse
from catalog.db import create_catalog_engine, sqlite_url
from catalog.library import Library
from catalog.migrate import alembic_config, current_revision, head_revision, upgrade
from catalog.orm import Base
from catalog.records import AssetQuery
from core.taxonomy import AssetKind, FileStatus, LibraryLayout

HEAD = "0019"  # the newest migration


def _not_fts(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """The FTS5 table and its shadow tables live outside the ORM on purpose (created in 0002)."""
    return not (type_ == "table" and name is not None and name.startswith("asset_fts"))


def test_the_chain_has_a_base_schema_and_a_search_index() -> None:
    assert head_revision() == HEAD


def test_a_new_library_is_created_at_head(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    Library.open(path).close()
    assert current_revision(sqlite_url(path)) == HEAD
    assert not list(tmp_path.glob("*.bak")), "a new catalog needs no backup"


def test_the_orm_models_match_the_migrated_schema(tmp_path: Path) -> None:
    engine = create_catalog_engine(tmp_path / "c.db")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "compare_server_default": True, "include_object": _not_fts},
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_an_0001_catalog_keeps_its_data_and_becomes_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    upgrade(sqlite_url(path), "0001")
    assert current_revision(sqlite_url(path)) == "0001"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(
            "INSERT INTO roots (id, path, layout, added_at) "
            "VALUES (1, '/models', 'a1111', '2024-05-01 10:00:00')"
        )
        connection.execute(
            """INSERT INTO assets (id, root_id, path, file_name, size, mtime_ns, format, kind, architecture,
                                   status, added_at, updated_at, display_name, notes, rating, trigger_words,
                                   sha256)
               VALUES (7, 1, '/models/Lora/pixel_art_xl.safetensors', 'pixel_art_xl.safetensors', 10, 1,
                       'safetensors', 'lora', 'sdxl', 'ok', '2024-05-01 10:00:00', '2024-05-01 10:00:00',
                       'Pixel Art XL', 'my favourite', 5, '["pixelsprite"]', 'ABC')"""
        )
        connection.execute(
            """INSERT INTO assets (id, root_id, path, file_name, size, mtime_ns, format, kind, architecture,
                                   status, added_at, updated_at)
               VALUES (8, 1, '/models/vae.safetensors', 'vae.safetensors', 5, 1, 'safetensors', 'vae',
                       'sd1', 'ok', '2024-05-01 10:00:00', '2024-05-01 10:00:00')"""
        )
        connection.execute("INSERT INTO tags (id, name, key) VALUES (1, 'Retro Games', 'retro games')")
        connection.execute("INSERT INTO asset_tags (asset_id, tag_id, position) VALUES (7, 1, 0)")

    with Library.open(path) as library:
        assert current_revision(sqlite_url(path)) == HEAD
        record = library.get(7)
        assert record is not None
        assert (record.display_name, record.notes, record.rating) == ("Pixel Art XL", "my favourite", 5)
        assert record.tags == ("Retro Games",)
        assert record.trigger_words == ("pixelsprite",)
        assert record.kind is AssetKind.LORA
        assert record.status is FileStatus.OK
        assert record.added_at is not None
        assert record.added_at.year == 2024
        assert library.roots()[0].layout is LibraryLayout.A1111
        # Backfilled index: display name, file name, tags, trigger words and notes are all searchable.
        for words in ("pixel", "art xl", "retro", "gam", "pixelspr", "favourite"):
            assert library.search_ids(AssetQuery(text=words)) == [7], words
        assert library.search_ids(AssetQuery(text="vae")) == [8]
        # ... and kept in sync from then on.
        library.remove_assets([8])
        assert library.search_ids(AssetQuery(text="vae")) == []
    assert (tmp_path / f"old.sqlite3.before-{HEAD}.bak").exists(), "an existing catalog is backed up first"


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    Library.open(path).close()
    engine = create_catalog_engine(path)
    try:
        config = alembic_config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            connection.commit()
        assert current_revision(engine) == "0001"
        upgrade(engine)
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


@pytest.mark.parametrize("bad_url", ["sqlite://", "sqlite:///"])
def test_upgrade_needs_a_file_database(bad_url: str) -> None:
    with pytest.raises(ValueError, match="not a file database"):
        upgrade(bad_url)


@pytest.mark.parametrize("server", ["sqlite", "postgresql"])
def test_0017_adds_the_hash_claims_and_a_downgrade_takes_them_away(
    server: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if server == "postgresql":
        location = parse(request.getfixturevalue("pg_url"))
        assert location.url is not None
        engine = create_server_engine(location.url)
    else:
        engine = create_catalog_engine(tmp_path / "c.db")
    try:
        upgrade(engine, "0016", backup=False)
        assert "hash_claims" not in inspect(engine).get_table_names()
        upgrade(engine, backup=False)
        assert [column["name"] for column in inspect(engine).get_columns("hash_claims")] == [
            "asset_id",
            "job",
            "machine",
            "expires_s",
        ]
        config = alembic_config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0016")
            connection.commit()
        assert current_revision(engine) == "0016"
        assert "hash_claims" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
