"""The Qt models: structure checked by qtmodeltester, behaviour against a real Library."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.records import AssetQuery, AssetRecord, AssetRow, SortKey, UserDataChanges
from core.taxonomy import Architecture, AssetKind
from desktop.models.asset_table_model import AssetColumn, AssetRole, AssetTableModel
from desktop.models.metadata_model import FULL_TEXT_ROLE, MetadataModel
from desktop.models.sidebar_model import ScopeKind, Section, SidebarModel, SidebarRole, SidebarScope
from desktop.thumbnails import ThumbnailCache
from tests.desktop.conftest import PopulatedLibrary


class CountingLibrary:
    """Wraps a real Library and counts ``get_rows`` calls (a page of rows), to observe the page cache."""

    def __init__(self, library: Library) -> None:
        self._library = library
        self.pages_read: list[int] = []

    def get_rows(self, ids: Sequence[int]) -> list[AssetRow]:
        self.pages_read.append(len(ids))
        return self._library.get_rows(ids)

    def __getattr__(self, name: str) -> object:
        return getattr(self._library, name)


def test_asset_table_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, populated: PopulatedLibrary
) -> None:
    model = AssetTableModel(populated.library)
    model.refresh()
    assert model.rowCount() == 7  # the unsafe file counts; nothing is missing
    qtmodeltester.check(model, force_py=True)


def test_rows_show_the_columns_in_words(populated: PopulatedLibrary) -> None:
    model = AssetTableModel(populated.library)
    model.refresh()
    row = model.row_of(populated.ids["pixelArtStyle"])
    assert row is not None

    def cell(column: AssetColumn) -> object:
        return model.index(row, column).data()

    assert cell(AssetColumn.NAME) == "pixelArtStyle"
    assert cell(AssetColumn.KIND) == "LoRA"
    assert cell(AssetColumn.ARCHITECTURE) == "SDXL"
    assert cell(AssetColumn.SIZE) == "228.0 MiB"
    assert cell(AssetColumn.STATUS) == "OK"
    loha = model.row_of(populated.ids["animeLineart"])
    assert model.index(loha, AssetColumn.KIND).data() == "LoRA · LoHa"
    favorite = model.row_of(populated.ids["dreamshaper_8"])
    assert model.index(favorite, AssetColumn.FAVORITE).data() == "♥"
    assert model.index(favorite, AssetColumn.RATING).data() == "★★★★☆"
    assert model.index(favorite, 0).data(AssetRole.SORT) == "dreamshaper_8"
    assert model.index(favorite, AssetColumn.SIZE).data(AssetRole.SORT) == 2 * 2**30
    shown = model.index(favorite, 0).data(AssetRole.RECORD)
    assert isinstance(shown, AssetRow)
    assert shown.kind is AssetKind.CHECKPOINT
    record = model.record(favorite)  # type: ignore[arg-type]  # the full record, read when asked for
    assert isinstance(record, AssetRecord)
    assert record.id == shown.id
    assert record.rating == shown.rating == 4
    assert model.index(favorite, 0).data(AssetRole.KIND) == AssetKind.CHECKPOINT  # Qt hands back the str
    assert model.headerData(AssetColumn.BASE_LABEL, Qt.Orientation.Horizontal) == "Base model"


def test_records_are_read_a_page_at_a_time(populated: PopulatedLibrary) -> None:
    counting = CountingLibrary(populated.library)
    model = AssetTableModel(counting, page_size=4)  # type: ignore[arg-type]
    model.refresh()
    assert counting.pages_read == []  # a query reads ids only
    assert model.index(0, 0).data() is not None
    assert model.index(3, 1).data() is not None
    assert counting.pages_read == [4]
    assert model.index(5, 0).data() is not None
    assert counting.pages_read == [4, 3]


def test_the_page_cache_is_bounded(populated: PopulatedLibrary) -> None:
    counting = CountingLibrary(populated.library)
    model = AssetTableModel(counting, page_size=2, max_pages=1)  # type: ignore[arg-type]
    model.refresh()
    model.index(0, 0).data()
    model.index(2, 0).data()
    model.index(0, 0).data()
    assert counting.pages_read == [2, 2, 2]


def test_sorting_is_a_catalog_query(populated: PopulatedLibrary) -> None:
    model = AssetTableModel(populated.library)
    model.refresh()
    model.sort(AssetColumn.SIZE, Qt.SortOrder.DescendingOrder)
    assert model.query.sort is SortKey.SIZE
    assert model.query.descending
    assert model.index(0, AssetColumn.NAME).data() == "dreamshaper_8"
    assert model.sort_column() == AssetColumn.SIZE
    before = model.query
    model.sort(AssetColumn.FAVORITE)  # not sortable in the catalog: ignored
    assert model.query == before


def test_refresh_asset_repaints_one_row(qtbot: QtBot, populated: PopulatedLibrary) -> None:
    model = AssetTableModel(populated.library)
    model.refresh()
    asset_id = populated.ids["sdxl_vae"]
    row = model.row_of(asset_id)
    assert model.index(row, AssetColumn.RATING).data() == ""
    updated = populated.library.update_user_data(asset_id, UserDataChanges(rating=2))
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.refresh_asset(asset_id, updated)
    top_left, bottom_right = changed.args[0], changed.args[1]
    assert (top_left.row(), bottom_right.row()) == (row, row)
    assert model.index(row, AssetColumn.RATING).data() == "★★☆☆☆"


def test_a_query_filters_rows(populated: PopulatedLibrary) -> None:
    model = AssetTableModel(populated.library)
    model.set_query(AssetQuery(kinds=(AssetKind.LORA,)))
    names = {model.index(r, 0).data() for r in range(model.rowCount())}
    assert names == {"pixelArtStyle", "animeLineart"}


def test_covers_arrive_as_thumbnails(qtbot: QtBot, populated: PopulatedLibrary, tmp_path: Path) -> None:
    thumbnails = ThumbnailCache(tmp_path / "thumbs", QSize(64, 85))
    model = AssetTableModel(populated.library, thumbnails)
    model.refresh()
    row = model.row_of(populated.ids["pixelArtStyle"])
    index = model.index(row, 0)
    assert index.data(AssetRole.THUMBNAIL) is None  # loading started
    assert index.data(AssetRole.THUMBNAIL_PENDING) is True
    with qtbot.waitSignal(model.dataChanged, timeout=5000) as changed:
        pass
    assert changed.args[0].row() == row
    image = index.data(AssetRole.THUMBNAIL)
    assert isinstance(image, QImage)
    assert not image.isNull()
    no_cover = model.index(model.row_of(populated.ids["sdxl_vae"]), 0)
    assert no_cover.data(AssetRole.THUMBNAIL) is None
    assert no_cover.data(AssetRole.THUMBNAIL_PENDING) is False


def test_sidebar_model_passes_qtmodeltester(qtmodeltester: ModelTester, populated: PopulatedLibrary) -> None:
    model = SidebarModel()
    model.set_facets(populated.library.facets(), populated.library.roots())
    qtmodeltester.check(model, force_py=True)


def test_sidebar_lists_counts(populated: PopulatedLibrary) -> None:
    model = SidebarModel()
    model.set_facets(populated.library.facets(), populated.library.roots())

    def entries(section: Section) -> dict[str, int]:
        parent = model.section_index(section)
        return {
            model.index(r, 0, parent).data(): model.index(r, 0, parent).data(SidebarRole.COUNT)
            for r in range(model.rowCount(parent))
        }

    assert entries(Section.LIBRARY) == {"All models": 7, "Favorites": 1, "Problems": 1}
    assert entries(Section.KINDS)["LoRA"] == 2
    assert entries(Section.ARCHITECTURES) == {"SD 1.x": 3, "SDXL": 2, "Unknown": 2}
    assert entries(Section.FOLDERS) == {"models": 7}
    assert entries(Section.TAGS) == {"style": 1}
    assert entries(Section.COLLECTIONS) == {}
    kind_index = model.find_scope(SidebarScope(ScopeKind.KIND, AssetKind.LORA))
    assert kind_index.isValid()
    assert kind_index.data() == "LoRA"
    assert not model.find_scope(SidebarScope(ScopeKind.ARCHITECTURE, Architecture.FLUX1)).isValid()


def test_sidebar_updates_counts_in_place(qtbot: QtBot, populated: PopulatedLibrary) -> None:
    model = SidebarModel()
    library = populated.library
    model.set_facets(library.facets(), library.roots())
    library.update_user_data(populated.ids["sdxl_vae"], UserDataChanges(favorite=True))
    with qtbot.assertNotEmitted(model.rowsRemoved):
        model.set_facets(library.facets(), library.roots())
    favorites = model.find_scope(SidebarScope(ScopeKind.FAVORITES))
    assert favorites.data(SidebarRole.COUNT) == 2
    library.update_user_data(populated.ids["sdxl_vae"], UserDataChanges(tags=("vae", "style")))
    model.set_facets(library.facets(), library.roots())
    assert model.find_scope(SidebarScope(ScopeKind.TAG, "vae")).data(SidebarRole.COUNT) == 1


@pytest.mark.parametrize(
    "metadata",
    [{}, {"ss_network_dim": 32, "ss_tag_frequency": {"a": {"b": 3}}, "title": "x" * 500}],
)
def test_metadata_model_passes_qtmodeltester(qtmodeltester: ModelTester, metadata: dict[str, object]) -> None:
    model = MetadataModel()
    model.set_metadata(metadata)
    qtmodeltester.check(model, force_py=True)


def test_metadata_values_are_summarised_not_lost() -> None:
    model = MetadataModel()
    model.set_metadata({"title": "x" * 500, "ss_network_dim": 32, "nested": {"a": [1, 2]}})
    keys = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert keys == ["nested", "ss_network_dim", "title"]
    assert model.index(0, 1).data() == '{"a": [1, 2]}'
    assert model.index(1, 1).data() == "32"
    long_value = model.index(2, 1)
    assert len(long_value.data()) <= 160
    assert long_value.data().endswith("…")
    assert long_value.data(FULL_TEXT_ROLE) == "x" * 500
