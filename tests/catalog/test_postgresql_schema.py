"""The ORM's column types are the ones the migrations give PostgreSQL: a size, a nanosecond time or an
inode declared ``Integer`` would be bound as ``int4`` by every ORM-level write and overflow past 2 GiB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from catalog.catalog_url import create_server_engine, parse
from catalog.library import Library
from catalog.migrate import upgrade
from catalog.orm import Base
from catalog.records import UserDataChanges
from core.taxonomy import LibraryLayout
from tests.catalog.conftest import scanned


def _not_search_index(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """The search index's tables live outside the ORM on purpose (migrations 0002, 0009)."""
    table = obj.table.name if type_ == "index" else name
    return not (table or "").startswith("asset_fts")


def test_the_orm_types_match_the_migrated_server_schema(pg_url: str) -> None:
    location = parse(pg_url)
    assert location.url is not None
    engine = create_server_engine(location.url)
    try:
        upgrade(engine, backup=False)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _not_search_index}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_file_past_4_gib_is_kept_and_edited_through_the_orm(pg_catalog_url: str, tmp_path: Path) -> None:
    location = parse(pg_catalog_url)
    assert location.url is not None
    models = tmp_path / "models"
    models.mkdir()
    big = 5 * 1024**3
    with Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location)) as lib:
        root_id = lib.add_root(models, LibraryLayout.FLAT).id
        (asset_id,) = lib.apply_scan_batch(
            root_id, [scanned(models / "flux.safetensors", size=big, mtime_ns=2**62, inode=2**40)]
        )
        lib.relocate(
            asset_id, str(models / "moved.safetensors"), size=big + 1, mtime_ns=2**62 + 1, inode=2**41
        )
        record = lib.update_user_data(asset_id, UserDataChanges(rating=4))
        assert (record.path, record.size, record.rating) == (str(models / "moved.safetensors"), big + 1, 4)
        assert lib.file_index(root_id)[str(models / "moved.safetensors")].size == big + 1
