"""Light page rows (``Library.search_rows`` / ``get_rows``): the same files, in the same order, with the same
values as the full records of ``Library.search`` / ``get_many``, over a catalog that has every case a row
shows differently (overrides, missing files, covers, display names, odd statuses, hidden files)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.queries import ROW_FIELD_ORDER
from catalog.records import (
    AssetQuery,
    AssetRecord,
    AssetRow,
    HiddenFilter,
    Overrides,
    SortKey,
    UserDataChanges,
)
from core.formats.sidecar_info import SidecarInfo
from core.taxonomy import Architecture, AssetKind, FileStatus
from tests.catalog.conftest import scanned

ROW_FIELDS = [field.name for field in dataclasses.fields(AssetRow)]


def _shown(record: AssetRecord | AssetRow) -> dict[str, object]:
    values = {name: getattr(record, name) for name in ROW_FIELDS}
    values.update(file_kind=record.file_kind, file_architecture=record.file_architecture)
    return values


@pytest.fixture
def varied(lib: Library, root_id: int, models_dir: Path) -> Library:
    kinds = [AssetKind.LORA, AssetKind.CHECKPOINT, AssetKind.EMBEDDING, AssetKind.VAE, AssetKind.UNKNOWN]
    archs = [Architecture.SDXL, Architecture.SD1, Architecture.FLUX1, Architecture.UNKNOWN]
    files = [
        scanned(
            models_dir / f"{('pixel', 'anime', 'ink', 'noir')[i % 4]}_style_{i}.safetensors",
            size=1000 + 37 * i,
            inode=i + 1,
            kind=kinds[i % len(kinds)],
            architecture=archs[i % len(archs)],
            status=(FileStatus.OK, FileStatus.OK, FileStatus.CORRUPT, FileStatus.UNSAFE)[i % 4],
            status_reason="header is cut short" if i % 4 == 2 else None,
            sidecars=SidecarInfo(tags=("Style", f"tag{i % 3}"), description="a style") if i % 2 else None,
        )
        for i in range(24)
    ]
    ids = lib.apply_scan_batch(root_id, files)
    lib.update_user_data(ids[1], UserDataChanges(display_name="My favourite", rating=5, favorite=True))
    lib.update_user_data(ids[2], UserDataChanges(rating=3, nsfw=True, base_model_label="Pony"))
    lib.update_user_data(ids[3], UserDataChanges(hidden=True))
    lib.set_overrides(ids[4], Overrides(kind=AssetKind.EMBEDDING, architecture=Architecture.SD1))
    lib.set_overrides(ids[5], Overrides(architecture=Architecture.SDXL))
    lib.add_preview(ids[6], str(models_dir / "pixel_style_6.preview.png"), "sidecar")
    lib.add_preview(ids[7], str(models_dir / "a.png"), "sidecar")
    lib.add_preview(ids[7], str(models_dir / "b.png"), "custom", make_cover=True)
    lib.mark_missing([ids[8], ids[9]])
    return lib


QUERIES = [
    AssetQuery(),
    AssetQuery(text="pix"),
    AssetQuery(text="style", sort=SortKey.SIZE, descending=True),
    AssetQuery(tags=("tag1",)),
    AssetQuery(kinds=(AssetKind.EMBEDDING,)),
    AssetQuery(architectures=(Architecture.SD1,), sort=SortKey.ARCHITECTURE),
    AssetQuery(statuses=(FileStatus.MISSING, FileStatus.CORRUPT)),
    AssetQuery(hidden=HiddenFilter.ALL, sort=SortKey.RATING, descending=True),
    AssetQuery(hidden=HiddenFilter.ONLY),
    AssetQuery(sort=SortKey.KIND, limit=5, offset=3),
    AssetQuery(sort=SortKey.ADDED, favorites_only=True),
    AssetQuery(min_rating=3),
]


def test_page_rows_match_the_full_records(varied: Library) -> None:
    for query in QUERIES:  # one catalog for all of them: building it is the slow part
        full = varied.search(query)
        rows = varied.search_rows(query)
        assert rows, query
        assert [_shown(row) for row in rows] == [_shown(record) for record in full], query


def test_the_varied_catalog_has_every_case_a_row_shows(varied: Library) -> None:
    """The equivalence above is only worth something if each case is on the page."""
    rows = varied.search_rows(AssetQuery(hidden=HiddenFilter.ALL, statuses=tuple(FileStatus)))
    assert any(row.kind_override and row.identified_kind for row in rows)
    assert any(row.architecture_override and not row.kind_override for row in rows)
    assert any(
        row.status is FileStatus.MISSING and "missing since" in (row.status_reason or "") for row in rows
    )
    assert {Path(row.cover_path).name for row in rows if row.cover_path} == {
        "pixel_style_6.preview.png",
        "b.png",
    }
    assert any(row.display_name and row.favorite and row.rating == 5 for row in rows)
    assert any(row.hidden for row in rows)
    assert any(row.nsfw and row.base_model_label for row in rows)


def test_rows_by_id_keep_the_order_asked_and_skip_unknown_ids(varied: Library) -> None:
    ids = varied.search_ids(AssetQuery(hidden=HiddenFilter.ALL))
    asked = [ids[5], 999_999, ids[0], ids[3]]
    rows = varied.get_rows(asked)
    assert [row.id for row in rows] == [ids[5], ids[0], ids[3]]
    assert [_shown(row) for row in rows] == [_shown(record) for record in varied.get_many(asked)]
    assert varied.get_rows([]) == []


def test_rows_are_built_in_the_order_of_the_row_fields() -> None:
    """Page rows are built positionally (cheaper per row): the order queries passes must be AssetRow's."""
    assert tuple(field.name for field in dataclasses.fields(AssetRow)) == ROW_FIELD_ORDER
