"""The details pane shows files the scan could not open, and names that are not UTF-8: a real scan of
real files (a named pipe, a name with Latin-1 bytes) into a real Library, shown in a real pane."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from desktop.labels import display_title
from desktop.models.asset_table_model import AssetColumn, AssetRole, AssetTableModel
from desktop.models.sidebar_model import Section, SidebarModel
from desktop.organize.folders import folder_tree
from desktop.widgets.details_pane import DetailsPane
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield lib
    lib.close()


@pytest.mark.timeout(60)
def test_an_unreadable_file_and_a_name_that_is_not_utf8_are_shown(
    qtbot: QtBot, library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    odd = write_safetensors(root / os.fsdecode(b"caf\xe9.safetensors"), LORA, seed=1)
    os.mkfifo(root / "pipe.safetensors")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    pane = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(pane)
    pane.resize(380, 900)
    pane.show()

    pane.show_asset(library.get_by_path(odd))
    assert pane.subtitle.text() == "caf\ufffd.safetensors"
    assert pane.path.text() == str(root / "caf\ufffd.safetensors")
    assert pane.warning.isHidden()

    pane.show_asset(library.get_by_path(root / "pipe.safetensors"))
    assert pane.warning.isVisible()
    assert "a named pipe (FIFO), not a file; it was not opened" in pane.warning.text()
    assert "Unreadable" in pane.warning.text()


@pytest.mark.timeout(60)
def test_sidecar_problems_stay_in_view_after_the_scan_that_found_them(
    qtbot: QtBot, library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    model = write_safetensors(root / "withbad.safetensors", LORA, seed=1)
    clean = write_safetensors(root / "clean.safetensors", LORA, seed=2)
    (root / "withbad.json").write_text('{"activation text": NaN}')
    (root / "withbad.civitai.info").write_text('{"id": ' + "9" * 5000 + "}")
    os.mkfifo(root / "withbad.preview.png")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    Scanner(library, workers=1).scan()  # the rescan reads no sidecar again: the catalog has no trace of them
    pane = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(pane)
    pane.resize(380, 900)
    pane.show()

    pane.show_asset(library.get_by_path(model))

    assert pane.sidecar_problems.isVisible()
    lines = pane.sidecar_problems.text().splitlines()
    assert lines[0] == "Sidecar problems:"
    assert "• withbad.json: holds NaN, which is not a JSON number" in lines
    assert "• withbad.civitai.info: holds an integer of 5,000 digits, too large to store" in lines
    assert "• withbad.preview.png: a named pipe (FIFO), not a file; it was not opened" in lines

    pane.show_asset(library.get_by_path(clean))
    assert pane.sidecar_problems.isHidden()


@pytest.mark.timeout(60)
def test_copy_path_of_a_name_that_is_not_utf8_copies_the_shown_text(
    qtbot: QtBot, library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    odd = write_safetensors(root / os.fsdecode(b"bad\xff\xfename.safetensors"), LORA, seed=1)
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    pane = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(pane)
    pane.show()
    pane.show_asset(library.get_by_path(odd))

    qtbot.mouseClick(pane.copy_path, Qt.MouseButton.LeftButton)

    # The clipboard holds text: the bytes that are not text are copied as U+FFFD, as the label shows them.
    assert QGuiApplication.clipboard().text() == str(root / "bad\ufffd\ufffdname.safetensors")


@pytest.mark.timeout(60)
def test_the_table_grid_and_sidebar_show_a_name_that_is_not_utf8_with_replacement_marks(
    library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    odd_folder = root / os.fsdecode(b"dir\xff")
    odd = write_safetensors(odd_folder / os.fsdecode(b"bad\xff\xfename.safetensors"), LORA, seed=1)
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    record = library.get_by_path(odd)
    assert record is not None
    model = AssetTableModel(library)
    model.refresh()
    row = model.row_of(record.id)
    assert row is not None

    # The grid's card and the table's row draw display_title; Qt would drop the bytes ("badname").
    assert display_title(record) == "bad\ufffd\ufffdname"
    assert model.index(row, AssetColumn.NAME).data() == "bad\ufffd\ufffdname"
    tooltip = model.index(row, AssetColumn.NAME).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == str(root / "dir\ufffd" / "bad\ufffd\ufffdname.safetensors")
    assert model.index(row, AssetColumn.NAME).data(AssetRole.RECORD).path == str(odd)  # the real path kept

    sidebar = SidebarModel()
    roots = list(library.roots())
    sidebar.set_facets(library.facets(), roots)
    sidebar.set_folders({roots[0].id: folder_tree(roots[0].path)})
    labels = _texts(sidebar, sidebar.index(int(Section.FOLDERS), 0))
    assert "dir\ufffd" in labels


def _texts(model: SidebarModel, parent: QModelIndex) -> list[str]:
    texts: list[str] = []
    for row in range(model.rowCount(parent)):
        child = model.index(row, 0, parent)
        texts += [str(child.data()), *_texts(model, child)]
    return texts
