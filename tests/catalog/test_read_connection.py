"""The light reader (``sqlite3`` alone) and the Library give the same records for the same reads, on a real
catalog made by scanning real model files; and a catalog the reader must not read as it stands (none
yet, an older or newer schema, another program's database, an interrupted move) is left to the Library.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.migrate import upgrade
from catalog.read_connection import CatalogReader, open_reader
from catalog.records import (
    AssetQuery,
    BulkEdit,
    HiddenFilter,
    Overrides,
    RemoteMatch,
    SortKey,
    UserDataChanges,
)
from catalog.scanner import Scanner
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from tests.factory.models import kohya_lora, sdxl_embedding, vae, write_case

ODD_NAME = b"pixel-\xff\xfe.safetensors"  # a name that is not UTF-8: stored through catalog.path_text


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scanned library of real files with user data on some of them, closed again."""
    where = tmp_path_factory.mktemp("reader")
    models = where / "models"
    (models / "Styles").mkdir(parents=True)
    (models / "styles").mkdir()
    (models / "vae").mkdir()
    write_case(kohya_lora("sd1", rank=4), models / "Styles")
    write_case(kohya_lora("sdxl", rank=4), models / "styles")
    write_case(sdxl_embedding(), models)
    write_case(vae(), models / "vae")
    lora = write_case(kohya_lora("sd1", rank=2), models)
    shutil.copyfile(lora, models / "pixel art xl.safetensors")
    shutil.copyfile(lora, models.joinpath(ODD_NAME.decode(errors="surrogateescape")))
    (models / "broken.safetensors").write_bytes(b"not a model at all")
    path = where / "catalog.sqlite3"
    with Library.open(path) as library:
        root = library.add_root(models, LibraryLayout.FLAT)
        Scanner(library, workers=1).scan([root.id])
        ids = library.search_ids(AssetQuery(statuses=tuple(FileStatus)))
        assert len(ids) == 8
        first, second, third, fourth = ids[:4]
        library.update_user_data(
            first,
            UserDataChanges(
                tags=("Anime", "pixel"), rating=4, favorite=True, notes="soft light", trigger_words=("pxl",)
            ),
        )
        library.bulk_edit([second, third], BulkEdit(add_tags=("anime",), add_collections=("Best",), rating=2))
        library.bulk_edit([fourth], BulkEdit(hidden=True))
        library.set_overrides(third, Overrides(kind=AssetKind.CHECKPOINT, architecture=Architecture.SDXL))
        library.add_preview(first, str(where / "cover.png"), "user", make_cover=True, width=64, height=64)
        library.add_preview(first, str(where / "other.png"), "civitai")
        library.record_remote_match(
            second,
            RemoteMatch(
                site="civitai",
                model_id="11",
                version_id="22",
                model_name="Pixel Art Deluxe",
                description="<p>Bold <b>pixels</b></p>",
                trigger_words=("pixelart",),
                tags=("style",),
                payload={"id": 22},
            ),
        )
        library.record_remote_misses([fourth])
    return path


QUERIES = [
    AssetQuery(),
    AssetQuery(text="pixel"),
    AssetQuery(text="pix art"),
    AssetQuery(text="kohya lora"),
    AssetQuery(text="nothing-matches-this"),
    AssetQuery(text="deluxe"),  # the site's model name
    AssetQuery(tags=("anime",)),
    AssetQuery(tags=("ANIME", "pixel")),
    AssetQuery(collection="best"),
    AssetQuery(kinds=(AssetKind.LORA,)),
    AssetQuery(kinds=(AssetKind.CHECKPOINT,), architectures=(Architecture.SDXL,)),
    AssetQuery(hidden=HiddenFilter.ALL),
    AssetQuery(hidden=HiddenFilter.ONLY),
    AssetQuery(statuses=tuple(FileStatus)),
    AssetQuery(min_rating=2, favorites_only=False),
    AssetQuery(favorites_only=True),
    AssetQuery(folder="MODELS/Styles"),  # replaced with the real folder below
    AssetQuery(sort=SortKey.SIZE, descending=True),
    AssetQuery(sort=SortKey.RATING),
    AssetQuery(sort=SortKey.KIND, limit=3, offset=2),
    AssetQuery(sort=SortKey.ARCHITECTURE, descending=True, limit=2),
    AssetQuery(sort=SortKey.ADDED, offset=3),
    AssetQuery(text="pixel", tags=("anime",), limit=1),
]


def _queries(catalog: Path) -> list[AssetQuery]:
    models = str(catalog.parent / "models")
    return [q._replace(folder=q.folder.replace("MODELS", models)) if q.folder else q for q in QUERIES]


def _reader(catalog: Path, *, read_only: bool = False) -> CatalogReader:
    reader = open_reader(catalog, read_only=read_only)
    assert reader is not None
    return reader


def test_the_reader_and_the_library_give_the_same_pages_counts_and_records(catalog: Path) -> None:
    reader = _reader(catalog)
    library = Library.open(catalog)
    try:
        queries = _queries(catalog)
        for query in queries:
            assert reader.search_ids(query) == library.search_ids(query), query
            assert reader.search_rows(query) == library.search_rows(query), query
            assert reader.search(query) == library.search(query), query
            assert reader.count(query) == library.count(query), query
        ids = library.search_ids(AssetQuery(statuses=tuple(FileStatus), hidden=HiddenFilter.ALL))
        assert len(ids) == 8
        assert reader.get_many([*reversed(ids), 999]) == library.get_many([*reversed(ids), 999])
        assert reader.get_rows(ids) == library.get_rows(ids)
        assert reader.roots() == library.roots()
        assert reader.get_root(1) == library.get_root(1)
        for asset_id in ids:
            record = library.get(asset_id)
            assert record is not None
            assert reader.get(asset_id) == record
            assert reader.get_by_path(record.path) == library.get_by_path(record.path) == record
            assert reader.previews(asset_id) == library.previews(asset_id)
            assert reader.remote_links(asset_id) == library.remote_links(asset_id)
    finally:
        reader.close()
        library.close()


def test_what_the_reads_find_is_what_was_written(catalog: Path) -> None:
    """Not only equal to each other: the reader sees the scan's and the user's data."""
    reader = _reader(catalog)
    try:
        assert reader.count(AssetQuery(text="pixel")) == 3
        statuses = {
            row.file_name: row.status for row in reader.search_rows(AssetQuery(statuses=tuple(FileStatus)))
        }
        assert statuses.pop("broken.safetensors") is not FileStatus.OK
        assert set(statuses.values()) == {FileStatus.OK}
        odd = [
            r for r in reader.search(AssetQuery()) if r.file_name.encode(errors="surrogateescape") == ODD_NAME
        ]
        assert len(odd) == 1
        assert Path(odd[0].path).is_file()
        assert reader.get_by_path(odd[0].path) == odd[0]
        first = reader.search(AssetQuery(favorites_only=True))[0]
        assert (first.tags, first.rating, first.notes) == (("Anime", "pixel"), 4, "soft light")
        assert first.cover_path is not None
        assert first.cover_path.endswith("cover.png")
        assert [p.is_cover for p in reader.previews(first.id)] == [True, False]
        overridden = reader.search_rows(AssetQuery(kinds=(AssetKind.CHECKPOINT,)))
        assert [row.identified_kind for row in overridden] == [AssetKind.LORA]
        linked = reader.search(AssetQuery(text="deluxe"))
        assert [r.remote_model_name for r in linked] == ["Pixel Art Deluxe"]
        links = reader.remote_links(linked[0].id)
        assert links[0].description_text == "Bold pixels"
        assert links[0].payload == {"id": 22}
        assert reader.count(AssetQuery(hidden=HiddenFilter.ONLY)) == 1
        assert reader.roots()[0].file_count == 8
    finally:
        reader.close()


def test_a_read_only_folder_is_read_through_the_read_only_uri(catalog: Path, tmp_path: Path) -> None:
    copy = tmp_path / "catalog.sqlite3"
    shutil.copyfile(catalog, copy)
    before = sorted(p.name for p in tmp_path.iterdir())
    reader = _reader(copy, read_only=True)
    try:
        assert reader.count(AssetQuery()) == 7
        with pytest.raises(sqlite3.OperationalError, match=r"readonly"):
            reader._connection.execute("DELETE FROM assets")  # type: ignore[union-attr]
    finally:
        reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no -wal / -shm left behind


def test_query_only_refuses_writes_in_a_writable_folder(catalog: Path, tmp_path: Path) -> None:
    copy = tmp_path / "catalog.sqlite3"
    shutil.copyfile(catalog, copy)
    reader = _reader(copy)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._connection.execute("DELETE FROM assets")  # type: ignore[union-attr]
    finally:
        reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.sqlite3"]


def test_a_catalog_that_is_not_read_as_it_stands_is_left_to_the_library(
    catalog: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "none.sqlite3"
    assert open_reader(missing, read_only=False) is None
    assert not missing.exists()

    older = tmp_path / "older.sqlite3"
    upgrade(f"sqlite:///{older}", "0003")
    assert open_reader(older, read_only=False) is None

    foreign = tmp_path / "foreign.sqlite3"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE moz_places (id INTEGER)")
    connection.commit()
    connection.close()
    assert open_reader(foreign, read_only=False) is None

    newer = tmp_path / "newer.sqlite3"
    shutil.copyfile(catalog, newer)
    connection = sqlite3.connect(newer)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    assert open_reader(newer, read_only=False) is None

    interrupted = tmp_path / "interrupted.sqlite3"
    shutil.copyfile(catalog, interrupted)
    connection = sqlite3.connect(interrupted)
    connection.execute(
        "INSERT INTO organize_operations (kind, state, created_at) VALUES ('move', 'applying', '2026-01-01')"
    )
    connection.commit()
    connection.close()
    assert open_reader(interrupted, read_only=False) is None
    assert (
        open_reader(interrupted, read_only=True) is not None
    )  # read as it stands: nothing is completed there

    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    assert open_reader(damaged, read_only=False) is None


def test_a_closed_reader_says_so(catalog: Path) -> None:
    from catalog.errors import LibraryClosedError

    reader = _reader(catalog)
    reader.close()
    with pytest.raises(LibraryClosedError):
        reader.roots()


def test_a_catalog_locked_by_another_program_is_reported_in_the_librarys_words(
    catalog: Path, tmp_path: Path
) -> None:
    from catalog.errors import DatabaseLockedError

    copy = tmp_path / "catalog.sqlite3"
    shutil.copyfile(catalog, copy)
    holder = sqlite3.connect(copy, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLockedError, match="another Atelier window or program is writing"):
            open_reader(copy, read_only=False, busy_timeout_ms=50)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
