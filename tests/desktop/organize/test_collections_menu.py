"""Collections within reach in the real window: the context menu's "Add to collection ▸" (each
collection, "New collection…") and "Remove from collection NAME", clicked. Library rows dragged onto a
collection in the sidebar join it: that real drag is in ``test_drag_to_folder.py``, beside the drags onto
folders, so that they share one child run on the drag platform (see ``tests.desktop.compose.conftest``)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit
from pytestqt.qtbot import QtBot

from catalog.records import BulkEdit
from desktop.main_window import MainWindow
from desktop.models.sidebar_model import ScopeKind, SidebarRole, SidebarScope
from tests.desktop.conftest import PopulatedLibrary
from tests.desktop.organize.test_file_actions import (
    click_menu_item,
    hover_menu_item,
    menu_action,
    names,
    open_context_menu,
)

PICKS = "My SD1 picks"


def _members(populated: PopulatedLibrary, name: str = PICKS) -> set[str]:
    return {
        record.file_name
        for record in populated.library.get_many(list(populated.ids.values()))
        if name in record.collections
    }


def _collection(window: MainWindow, name: str = PICKS) -> QModelIndex:
    index = window.sidebar_model.find_scope(SidebarScope(ScopeKind.COLLECTION, name))
    assert index.isValid(), name
    window.sidebar.scrollTo(index)
    return index


@pytest.fixture
def picks(window: MainWindow, populated: PopulatedLibrary) -> QModelIndex:
    """A collection holding dreamshaper_8, listed in the sidebar."""
    populated.library.bulk_edit([populated.ids["dreamshaper_8"]], BulkEdit(add_collections=(PICKS,)))
    window.refresh_sidebar()
    return _collection(window)


def test_the_context_menu_adds_to_a_collection_a_new_one_and_removes_from_the_one_shown(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, picks: QModelIndex
) -> None:
    ids = populated.ids
    menu = open_context_menu(qtbot, window, ids["easynegative"])
    assert "Remove from collection" not in " ".join(a.text() for a in menu.actions())  # the view: all
    hover_menu_item(menu, "Add to collection")
    submenu = menu_action(menu, "Add to collection").menu()
    qtbot.waitUntil(submenu.isVisible, timeout=3000)
    assert [a.text() for a in submenu.actions() if not a.isSeparator()] == [PICKS, "New collection…"]
    click_menu_item(qtbot, submenu, PICKS)
    qtbot.waitUntil(lambda: "easynegative.pt" in _members(populated), timeout=3000)
    assert window.status.flashed() == f"Added “easynegative.pt” to “{PICKS}”"

    # New collection…: a name typed, Enter.
    menu = open_context_menu(qtbot, window, ids["animeLineart"])
    hover_menu_item(menu, "Add to collection")
    submenu = menu_action(menu, "Add to collection").menu()
    qtbot.waitUntil(submenu.isVisible, timeout=3000)
    assert menu_action(submenu, PICKS).isEnabled()  # not in it yet: offered
    click_menu_item(qtbot, submenu, "New collection…")
    qtbot.waitUntil(lambda: isinstance(window.collection_actions.name_dialog, QInputDialog), timeout=3000)  # type: ignore[attr-defined]
    dialog = window.collection_actions.name_dialog  # type: ignore[attr-defined]
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    field = dialog.findChild(QLineEdit)
    assert field is not None
    QTest.keyClicks(field, "Line art")
    QTest.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _members(populated, "Line art") == {"animeLineart.safetensors"}, timeout=3000)
    assert window.status.flashed() == "Added “animeLineart.safetensors” to “Line art”"
    assert _collection(window, "Line art").data(SidebarRole.COUNT) == 1  # a new sidebar entry

    # The view scoped to the collection (a click on it): its rows can be taken out of it.
    sidebar = window.sidebar
    QTest.mouseClick(
        sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualRect(_collection(window)).center()
    )
    qtbot.waitUntil(lambda: names(window) == {"dreamshaper_8", "easynegative"}, timeout=3000)
    menu = open_context_menu(qtbot, window, ids["easynegative"])
    click_menu_item(qtbot, menu, f"Remove from collection “{PICKS}”")
    qtbot.waitUntil(lambda: names(window) == {"dreamshaper_8"}, timeout=3000)  # it left the view
    assert _members(populated) == {"dreamshaper_8.safetensors"}
    assert window.status.flashed() == f"Removed “easynegative.pt” from “{PICKS}”"
    assert _collection(window).data(SidebarRole.COUNT) == 1


def test_edit_undo_takes_back_a_collection_edit_until_a_file_operation_follows(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, picks: QModelIndex, trash_home: object
) -> None:
    """The outside tester added a file to a collection and found Edit › Undo disabled. Undo (the menu
    entry and Ctrl+Z) takes the file out again; after a delete (journaled), Undo undoes the delete."""
    ids = populated.ids
    menu = open_context_menu(qtbot, window, ids["easynegative"])
    hover_menu_item(menu, "Add to collection")
    submenu = menu_action(menu, "Add to collection").menu()
    qtbot.waitUntil(submenu.isVisible, timeout=3000)
    click_menu_item(qtbot, submenu, PICKS)
    qtbot.waitUntil(lambda: "easynegative.pt" in _members(populated), timeout=3000)

    undo = window.file_actions.undo_action  # type: ignore[attr-defined]
    window.edit_menu.aboutToShow.emit()  # what opening Edit does: the entry says what Undo does now
    assert undo.isEnabled()
    assert undo.text() == f"&Undo Add “easynegative.pt” to “{PICKS}”"
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.grid.setFocus()
    QTest.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "easynegative.pt" not in _members(populated), timeout=3000)
    assert _members(populated) == {"dreamshaper_8.safetensors"}
    assert window.status.flashed() == f"Took “easynegative.pt” out of “{PICKS}” again"
    window.edit_menu.aboutToShow.emit()
    assert not undo.isEnabled()  # nothing else to undo: the add was the only change

    # Added again (what the menu entry calls), then a file deleted (journaled): Undo is the delete's
    # now, the add stays.
    window.collection_actions.add(populated.library.get_many([ids["easynegative"]]), PICKS)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "easynegative.pt" in _members(populated), timeout=3000)
    open_context_menu(qtbot, window, ids["sdxl_vae"]).close()  # selects it, as a click does
    window.activateWindow()
    window.grid.setFocus()
    qtbot.waitUntil(window.grid.hasFocus, timeout=2000)
    QTest.keyClick(window.grid, Qt.Key.Key_Delete)
    dialog = window.file_actions.delete_dialog  # type: ignore[attr-defined]
    assert dialog is not None
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        QTest.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    window.edit_menu.aboutToShow.emit()
    assert undo.text() == "&Undo Delete “sdxl_vae.safetensors”"
    assert "easynegative.pt" in _members(populated)
