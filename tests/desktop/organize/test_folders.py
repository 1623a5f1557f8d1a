"""A library folder whose drive is not connected shows so in the sidebar, and recovers when it is back.

The window reads the folder trees after every scan or move (``desktop.organize.folders``); a root whose
folder is not there is greyed and in italics with a tooltip saying why (its files stay in the library:
the scan leaves them as they were), and is no drop target until it is back.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from desktop.main_window import SCAN_TITLE, MainWindow
from desktop.models.sidebar_model import ScopeKind, SidebarRole, SidebarScope
from tests.desktop.conftest import PopulatedLibrary


def _root_entry(window: MainWindow, root_id: int) -> QModelIndex:
    entry: QModelIndex = window.sidebar_model.find_scope(SidebarScope(ScopeKind.ROOT, root_id))
    return entry


def _scan(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.job_ended, timeout=20000, check_params_cb=lambda title: title == SCAN_TITLE):
        window.rescan()


def test_a_library_folder_that_is_not_there_is_marked_until_it_is_back(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    root_id, folder = populated.root.id, populated.root_dir
    entry = _root_entry(window, root_id)
    assert not entry.data(SidebarRole.NOT_FOUND)

    unplugged = tmp_path / "unplugged"
    folder.rename(unplugged)
    _scan(window, qtbot)
    qtbot.waitUntil(lambda: bool(_root_entry(window, root_id).data(SidebarRole.NOT_FOUND)), timeout=5000)
    entry = _root_entry(window, root_id)
    tip = entry.data(Qt.ItemDataRole.ToolTipRole)
    assert "folder not found. Is the drive connected?" in tip
    assert entry.data(Qt.ItemDataRole.FontRole).italic()
    assert not entry.flags() & Qt.ItemFlag.ItemIsDropEnabled
    assert window.model.rowCount() > 0, "its files stay in the library"

    window.reload()  # the counts are read again: the tooltip still says why
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=5000)
    assert "folder not found" in _root_entry(window, root_id).data(Qt.ItemDataRole.ToolTipRole)

    unplugged.rename(folder)
    _scan(window, qtbot)
    qtbot.waitUntil(lambda: not _root_entry(window, root_id).data(SidebarRole.NOT_FOUND), timeout=5000)
    entry = _root_entry(window, root_id)
    assert entry.data(Qt.ItemDataRole.ToolTipRole) == str(folder)
    assert not entry.data(Qt.ItemDataRole.FontRole).italic()
    assert entry.flags() & Qt.ItemFlag.ItemIsDropEnabled


def test_a_library_folder_left_empty_is_marked_as_an_unmounted_drive(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    """A drive not mounted leaves its mount point: the folder is there, empty, and the catalog still
    lists its files (the scan leaves them as they were)."""
    root_id, folder = populated.root.id, populated.root_dir
    aside = tmp_path / "aside"
    aside.mkdir()
    for entry in list(folder.iterdir()):
        entry.rename(aside / entry.name)
    _scan(window, qtbot)
    qtbot.waitUntil(lambda: bool(_root_entry(window, root_id).data(SidebarRole.NOT_FOUND)), timeout=5000)
    assert "the folder is empty here. Is the drive or share mounted?" in _root_entry(window, root_id).data(
        Qt.ItemDataRole.ToolTipRole
    )
    assert window.model.rowCount() > 0, "its files stay in the library"

    for entry in list(aside.iterdir()):
        entry.rename(folder / entry.name)
    _scan(window, qtbot)
    qtbot.waitUntil(lambda: not _root_entry(window, root_id).data(SidebarRole.NOT_FOUND), timeout=5000)
