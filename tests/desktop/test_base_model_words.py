"""One name per base model wherever the window shows it: a file Civitai labels "Flux.1 D" or "Pony" reads
"Flux.1 Dev" / "Pony Diffusion" on its tile, in the details pane, the table and the Civitai section, as
the Civitai filter and organize's folder names say it; what is stored (and sent to Civitai) stays Civitai's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QToolButton
from pytestqt.qtbot import QtBot

from app.organize.template_plan import plan_template
from catalog.library import Library
from core.sources.site_words import CIVITAI_BASE_MODEL_LABELS
from desktop.delegates.thumbnail_delegate import tile_detail
from desktop.models.asset_table_model import AssetColumn, AssetRole, AssetTableModel
from desktop.tabs.civitai_tab import _checkable_menu
from desktop.widgets.details_pane import DetailsPane
from tests.desktop.test_details_civitai import scan_lora
from tests.factory.civitai_info import civitai_helper_payload


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield lib
    lib.close()


@pytest.mark.parametrize(("civitai", "word"), [("Flux.1 D", "Flux.1 Dev"), ("Pony", "Pony Diffusion")])
def test_a_civitai_label_reads_the_same_on_tile_details_table_and_filter(
    civitai: str,
    word: str,
    qtbot: QtBot,
    library: Library,
    tmp_path: Path,
) -> None:
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload(base_model=civitai))
    assert record.base_model_label == civitai  # stored as Civitai says it

    table = AssetTableModel(library)
    table.refresh()
    row = table.row_of(record.id)
    assert row is not None
    assert table.index(row, AssetColumn.BASE_LABEL).data() == word
    # The scanned file is an SD 1.x LoRA: the tile marks the label that names another family.
    assert tile_detail(table.index(row, 0).data(AssetRole.RECORD)) == f"⚠ {word}"

    pane = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(pane)
    pane.resize(380, 900)
    pane.show()
    pane.show_asset(library.get(record.id))
    badges = [label.text() for label in pane.findChildren(QLabel) if label.text() in (civitai, word)]
    assert badges == [word]
    assert pane.civitai.base_model.text() == f"Base model: {word}"

    button = QToolButton()
    qtbot.addWidget(button)
    filter_texts = {
        a.data(): a.text() for a in _checkable_menu(button, (civitai,), CIVITAI_BASE_MODEL_LABELS)
    }
    assert filter_texts == {civitai: word}
    moves = plan_template(
        library, "{kind_folder}/{base_label}/{file_name}"
    ).plan.moves  # organize's {base_label} folder
    assert [move.target.parent.name for move in moves] == [word]


@pytest.mark.parametrize(("civitai", "detail"), [("SD 1.5", "SD 1.5"), ("SDXL Turbo", "⚠ SDXL Turbo")])
def test_a_tile_marks_a_civitai_label_of_another_family_than_the_file(
    civitai: str, detail: str, library: Library, tmp_path: Path
) -> None:
    """The tile's chip says the file's own family (SD 1.x here); a Civitai label naming another family
    under it gets a mark, so "SD 1.x" over "SDXL Turbo" does not pass unremarked."""
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload(base_model=civitai))
    table = AssetTableModel(library)
    table.refresh()
    row = table.row_of(record.id)
    assert row is not None

    assert tile_detail(table.index(row, 0).data(AssetRole.RECORD)) == detail
