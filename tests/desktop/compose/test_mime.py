"""Library rows leave the views as asset ids under the board's MIME type."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, Qt

from desktop.compose.mime import ASSET_IDS_MIME, asset_ids_from_mime, asset_ids_mime
from desktop.models.asset_table_model import AssetColumn, AssetTableModel
from tests.desktop.conftest import PopulatedLibrary


def test_ids_round_trip_and_foreign_data_is_ignored() -> None:
    assert asset_ids_from_mime(asset_ids_mime([3, 1, 3, 2])) == [3, 1, 2]
    foreign = QMimeData()
    foreign.setText("[1, 2]")
    assert asset_ids_from_mime(foreign) == []
    broken = QMimeData()
    broken.setData(ASSET_IDS_MIME, QByteArray(b"{not json"))
    assert asset_ids_from_mime(broken) == []
    wrong = QMimeData()
    wrong.setData(ASSET_IDS_MIME, QByteArray(b'[1, "x", true, 2]'))
    assert asset_ids_from_mime(wrong) == [1, 2]


def test_the_library_model_drags_out_one_id_per_row(populated: PopulatedLibrary) -> None:
    model = AssetTableModel(populated.library)
    model.refresh()
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsDragEnabled
    assert model.mimeTypes() == [ASSET_IDS_MIME]
    # A table selection hands every column of a row: the row still counts once.
    indexes = [model.index(row, column) for row in (2, 0) for column in (AssetColumn.NAME, AssetColumn.KIND)]
    ids = asset_ids_from_mime(model.mimeData(indexes))
    assert ids == [model.asset_id(0), model.asset_id(2)]
    assert set(ids) <= set(populated.ids.values())
