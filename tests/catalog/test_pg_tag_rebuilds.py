"""A tag edit on a server catalog keeps the search document right and rebuilds it once per statement
(migration 0013), not once per tag row: adding a tag to a file with 20 is one rebuild (it was 41: every
link deleted, then inserted row by row), replacing all 20 two (a delete, an insert), a new order none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog.catalog_url import create_server_engine, parse
from catalog.labels import TAGS, set_asset_labels
from catalog.library import Library
from catalog.records import AssetQuery, BulkEdit, UserDataChanges
from tests.catalog.conftest import scanned


@pytest.fixture
def library(pg_catalog_url: str, tmp_path: Path) -> Iterator[Library]:
    location = parse(pg_catalog_url)
    assert location.url is not None
    opened = Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location))
    yield opened
    opened.close()


def _assets(library: Library, tmp_path: Path, count: int) -> list[int]:
    root = library.add_root(tmp_path / "models").id
    files = [scanned(tmp_path / "models" / f"model-{n}.safetensors", inode=n + 1) for n in range(count)]
    return library.apply_scan_batch(root, files)


def _rebuilds(session: Session) -> int:
    """How many times this transaction ran asset_fts_refresh (counted since ``SET LOCAL track_functions``)."""
    calls = session.execute(
        text("SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = 'asset_fts_refresh'")
    ).scalar()
    return int(calls or 0)


def _tags(library: Library, asset_id: int) -> tuple[str, ...]:
    record = library.get(asset_id)
    assert record is not None
    return record.tags


def _tags_document(library: Library, asset_id: int) -> str:
    with library._db.session_scope() as session:
        return str(
            session.execute(text("SELECT tags FROM asset_fts WHERE rowid = :id"), {"id": asset_id}).scalar()
        )


def test_a_tag_edit_on_a_file_with_twenty_tags_rebuilds_its_document_once(
    library: Library, tmp_path: Path
) -> None:
    (asset,) = _assets(library, tmp_path, 1)
    old = [f"old{n}" for n in range(20)]
    library.update_user_data(asset, UserDataChanges(tags=tuple(old)))
    with library._db.session_scope(write=True) as session:  # one transaction (reads autocommit)
        session.execute(text("SET LOCAL track_functions = 'pl'"))
        set_asset_labels(session, TAGS, asset, [*old, "added"])
        assert _rebuilds(session) == 1
        set_asset_labels(session, TAGS, asset, ["added", *reversed(old)])  # a new order: nothing to rebuild
        assert _rebuilds(session) == 1
        new = [f"new{n}" for n in range(20)]
        set_asset_labels(session, TAGS, asset, new)
        assert _rebuilds(session) == 3  # the delete of the 21 old links, the insert of the 20 new ones
    assert sorted(_tags_document(library, asset).split()) == sorted(new)
    assert [row.id for row in library.search_rows(AssetQuery(text="new19"))] == [asset]
    assert library.search_rows(AssetQuery(text="old3")) == []
    assert _tags(library, asset) == tuple(new)


def test_a_reorder_keeps_the_order_and_the_document(library: Library, tmp_path: Path) -> None:
    (asset,) = _assets(library, tmp_path, 1)
    library.update_user_data(asset, UserDataChanges(tags=("ink", "paper", "brush")))
    library.update_user_data(asset, UserDataChanges(tags=("brush", "ink")))
    assert _tags(library, asset) == ("brush", "ink")
    assert sorted(_tags_document(library, asset).split()) == ["brush", "ink"]  # searched as a set of words
    assert library.search_rows(AssetQuery(text="paper")) == []


def test_a_statement_touching_many_files_rebuilds_each_once_and_a_reorder_none(
    library: Library, tmp_path: Path
) -> None:
    assets = _assets(library, tmp_path, 5)
    library.bulk_edit(assets, BulkEdit(add_tags=("ink", "paper")))
    with library._db.session_scope(write=True) as session:  # one transaction (reads autocommit)
        session.execute(text("SET LOCAL track_functions = 'pl'"))
        session.execute(text("UPDATE asset_tags SET position = position + 1"))  # same tags, another order
        assert _rebuilds(session) == 0
        session.execute(text("DELETE FROM asset_tags WHERE asset_id = :id"), {"id": assets[0]})
        session.execute(
            text(
                "UPDATE asset_tags SET tag_id = (SELECT id FROM tags WHERE key = 'ink')"
                " WHERE asset_id = :id AND tag_id = (SELECT id FROM tags WHERE key = 'paper')"
                " AND NOT EXISTS (SELECT 1 FROM asset_tags WHERE asset_id = :id"
                " AND tag_id = (SELECT id FROM tags WHERE key = 'ink'))"
            ),
            {"id": assets[1]},
        )
        assert _rebuilds(session) == 1  # the delete (the update found nothing to move: ink is there)
    assert _tags_document(library, assets[0]) == ""
    assert {row.id for row in library.search_rows(AssetQuery(text="paper"))} == set(assets[1:])
    assert {row.id for row in library.search_rows(AssetQuery(tags=("ink",)))} == set(assets[1:])


def test_moving_a_tag_to_another_file_rebuilds_both(library: Library, tmp_path: Path) -> None:
    first, second = _assets(library, tmp_path, 2)
    library.update_user_data(first, UserDataChanges(tags=("lineart",)))
    with library._db.session_scope(write=True) as session:  # one transaction (reads autocommit)
        session.execute(text("SET LOCAL track_functions = 'pl'"))
        session.execute(
            text("UPDATE asset_tags SET asset_id = :to WHERE asset_id = :of"), {"to": second, "of": first}
        )
        assert _rebuilds(session) == 1  # one statement: both files' documents in one rebuild
    assert _tags_document(library, first) == ""
    assert _tags_document(library, second) == "lineart"
    assert [row.id for row in library.search_rows(AssetQuery(text="lineart"))] == [second]


def test_the_migration_goes_down_to_the_per_row_trigger_and_up_again(
    pg_catalog_url: str, tmp_path: Path
) -> None:
    from alembic import command

    from catalog.migrate import alembic_config, current_revision, head_revision, upgrade

    location = parse(pg_catalog_url)
    assert location.url is not None
    engine = create_server_engine(location.url)
    try:
        config = alembic_config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0012")
            connection.commit()
            triggers = connection.execute(
                text(
                    "SELECT tgname FROM pg_trigger"
                    " WHERE tgrelid = 'asset_tags'::regclass AND tgname LIKE 'asset_fts%'"
                )
            ).scalars()
            assert list(triggers) == ["asset_fts_after_tag_change"]
            assert connection.execute(text("SELECT to_regclass('asset_fts_documents')")).scalar() is None
        upgrade(engine, backup=False)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    with Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location)) as library:
        (asset,) = _assets(library, tmp_path, 1)
        library.update_user_data(asset, UserDataChanges(tags=("gouache",)))
        assert [row.id for row in library.search_rows(AssetQuery(text="gouac"))] == [asset]
