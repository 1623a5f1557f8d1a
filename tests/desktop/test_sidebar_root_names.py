"""The sidebar calls a library folder by its name, the one every machine sharing the catalog knows it by
(``roots add PATH --name``), and still says where it is on this machine."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from catalog.library import Library
from desktop.models.sidebar_model import Section, SidebarModel, SidebarRole


def test_a_named_folder_shows_its_name_and_this_machines_path(tmp_path: Path) -> None:
    store = tmp_path / "store" / "sd"
    store.mkdir(parents=True)
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as library:
        library.add_root(store, name="NAS models")
        model = SidebarModel()
        model.set_facets(library.facets(), library.roots())

    parent = model.section_index(Section.FOLDERS)
    index = model.index(0, 0, parent)
    assert model.rowCount(parent) == 1
    assert index.data() == "NAS models"
    assert index.data(SidebarRole.COUNT) == 0
    assert index.data(Qt.ItemDataRole.ToolTipRole) == str(store)
