"""Mapping a shared library folder in the window: a catalog shared by two computers (one SQLite file
opened as each, as on shared storage), the window on the second one, which has not said where it reaches
the folder the first one added.

Real events on the real sidebar: a right click on the greyed folder opens its menu, "Map on this
computer…" opens the dialog; only the folder chooser is replaced (it answers with a folder, as the user
would pick it); the mapping is the library's own ``map_root``, which refuses a folder that does not hold
the shared files (said in the dialog, which stays open to choose again). Once mapped the sidebar and the
rows follow without a restart; "Unmap on this computer" takes it back. Adding the shared folder as a new
one is refused in a box whose "Map on this computer…" button maps it instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.machine_paths import Machine
from catalog.records import AssetQuery
from desktop.dialogs.map_folder_dialog import MapFolderDialog
from desktop.main_window import MainWindow
from desktop.models.sidebar_model import ScopeKind, Section, SidebarRole, SidebarScope
from desktop.organize.shared_folders import MAP_TEXT, UNMAP_TEXT, SharedFolders
from desktop.services import DesktopServices
from tests.desktop.conftest import PopulatedLibrary, populate

A = Machine("0a0a0a0a-0000-4000-8000-00000000000a", "studio-a")
B = Machine("0b0b0b0b-0000-4000-8000-00000000000b", "studio-b")


@pytest.fixture
def on_b(
    tmp_path: Path,
    make_services: Callable[..., DesktopServices],
    open_window: Callable[[DesktopServices], MainWindow],
) -> Iterator[tuple[MainWindow, PopulatedLibrary, Path]]:
    """Computer A added ``models`` (the seven files) under the name "models"; computer B reaches the same
    files at ``mnt/models`` (a copy keeping sizes and times) and opens the window."""
    catalog = tmp_path / "shared" / "catalog.sqlite3"
    on_a = Library.open(catalog, A)
    populated = populate(on_a, tmp_path / "models")
    here = tmp_path / "mnt" / "models"
    shutil.copytree(populated.root_dir, here)
    on_b = Library.open(catalog, B)
    window = open_window(make_services(on_b, add_root=on_b.add_root))
    try:
        yield window, populated, here
    finally:
        window.close()
        on_b.close()
        on_a.close()


def _root_entry(window: MainWindow, root_id: int) -> QPoint:
    index = window.sidebar_model.find_scope(SidebarScope(ScopeKind.ROOT, root_id))
    assert index.isValid()
    window.sidebar.scrollTo(index)
    return window.sidebar.visualRect(index).center()


def _right_click_menu(qtbot: QtBot, window: MainWindow, pos: QPoint) -> QMenu:
    """A right click on the sidebar as the window system delivers it: the press, then the context menu."""
    viewport = window.sidebar.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=pos)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, viewport.mapToGlobal(pos))
    QApplication.sendEvent(viewport, event)
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=3000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _choose(qtbot: QtBot, menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text() == text)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def _feature(window: MainWindow) -> SharedFolders:
    feature = window.shared_folders  # type: ignore[attr-defined]
    assert isinstance(feature, SharedFolders)
    return feature


def _open_dialog(qtbot: QtBot, window: MainWindow, root_id: int) -> MapFolderDialog:
    menu = _right_click_menu(qtbot, window, _root_entry(window, root_id))
    assert [a.text() for a in menu.actions()] == [MAP_TEXT]
    _choose(qtbot, menu, MAP_TEXT)
    qtbot.waitUntil(lambda: _feature(window).dialog is not None, timeout=3000)
    dialog = _feature(window).dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def _browse_to(qtbot: QtBot, window: MainWindow, dialog: MapFolderDialog, folder: Path) -> None:
    """Browse… answered with ``folder`` (only the choice of the path is the test's)."""
    _feature(window).choose_folder = lambda _parent, _title, _start: str(folder)
    dialog._choose_folder = _feature(window).choose_folder
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert dialog.path_edit.text() == str(folder)


def _move_targets(qtbot: QtBot, window: MainWindow) -> list[str]:
    """The "Move to" submenu of the right-click menu on the first row."""
    view = window.current_view()
    viewport = view.viewport()
    pos = view.visualRect(window.model.index(0, 0)).center()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=pos)
    QApplication.sendEvent(
        viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, viewport.mapToGlobal(pos))
    )
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=3000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    move_to = menu.findChild(QMenu, "moveToMenu")
    assert move_to is not None
    texts = [a.text() for a in move_to.actions() if not a.isSeparator()]
    menu.close()
    return texts


def _row_paths(window: MainWindow) -> set[str]:
    return {Path(window.model.record(row).path).parent.as_posix() for row in range(window.model.rowCount())}


def test_a_shared_folder_is_mapped_from_the_sidebar_and_the_window_follows(
    qtbot: QtBot, on_b: tuple[MainWindow, PopulatedLibrary, Path], tmp_path: Path
) -> None:
    window, populated, here = on_b
    root_id = populated.root.id
    entry = window.sidebar_model.find_scope(SidebarScope(ScopeKind.ROOT, root_id))
    assert entry.data(SidebarRole.NOT_HERE) is True
    assert entry.data(Qt.ItemDataRole.FontRole).italic()
    assert entry.data(SidebarRole.FOLDER_PATH) == ""  # another computer's path: no drop target
    assert "Map on this computer" in entry.data(Qt.ItemDataRole.ToolTipRole)
    assert _row_paths(window) == {populated.root_dir.as_posix()}  # as the catalog stores them
    assert _move_targets(qtbot, window) == ["Choose folder…"]  # not another computer's path

    dialog = _open_dialog(qtbot, window, root_id)
    wrong = tmp_path / "elsewhere"
    wrong.mkdir()
    (wrong / "own.safetensors").write_bytes(b"\0" * 64)
    _browse_to(qtbot, window, dialog, wrong)
    qtbot.mouseClick(dialog.map_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()  # refused: the dialog stays to choose again
    assert dialog.problem.isVisible()
    assert "does not hold the files of the shared folder" in dialog.problem.text()
    assert "--force" not in dialog.problem.text()
    assert dialog.map_anyway_button.isVisible()
    assert window.library.roots()[0].placed_here is False  # nothing mapped

    _browse_to(qtbot, window, dialog, here)
    assert not dialog.map_anyway_button.isEnabled()  # it was about the folder refused
    qtbot.mouseClick(dialog.map_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)

    # Without a restart: the sidebar, the rows' paths, the status line.
    entry = window.sidebar_model.find_scope(SidebarScope(ScopeKind.ROOT, root_id))
    assert not entry.data(SidebarRole.NOT_HERE)
    assert not entry.data(Qt.ItemDataRole.FontRole).italic()
    assert entry.data(SidebarRole.FOLDER_PATH) == str(here)
    assert _row_paths(window) == {here.as_posix()}
    assert f"is at {here} on this computer" in window.status.flashed()
    assert window.library.roots()[0].path == str(here)
    assert _move_targets(qtbot, window)[1:] == [here.name]  # files can be moved into it now

    # Unmap on this computer: back to not mapped here.
    qtbot.waitUntil(lambda: window.current_job is None, timeout=10000)  # the scan of the mapped folder
    menu = _right_click_menu(qtbot, window, _root_entry(window, root_id))
    assert UNMAP_TEXT in [a.text() for a in menu.actions()]
    _choose(qtbot, menu, UNMAP_TEXT)
    qtbot.waitUntil(lambda: window.library.roots()[0].placed_here is False, timeout=3000)
    entry = window.sidebar_model.find_scope(SidebarScope(ScopeKind.ROOT, root_id))
    assert entry.data(SidebarRole.NOT_HERE) is True
    assert _row_paths(window) == {populated.root_dir.as_posix()}


def test_adding_the_shared_folder_as_a_new_one_offers_to_map_it(
    qtbot: QtBot, on_b: tuple[MainWindow, PopulatedLibrary, Path]
) -> None:
    window, populated, here = on_b
    for record in populated.library.search(AssetQuery()):  # the copy as large as the catalog says (sparse)
        copy = here / Path(record.path).name
        times = copy.stat()
        os.truncate(copy, record.size)
        os.utime(copy, ns=(times.st_atime_ns, times.st_mtime_ns))
    clicked: list[str] = []

    def press_map() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, press_map)
            return
        clicked.append(box.text())
        button = next(b for b in box.buttons() if b.text() == MAP_TEXT)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press_map)
    # File › Add library folder… with the shared folder chosen
    window.add_folder(here)
    assert clicked
    assert "shared library folder" in clicked[0]
    dialog = _feature(window).dialog
    assert dialog is not None
    assert dialog.path_edit.text() == str(here)  # where the library recognised it
    qtbot.mouseClick(dialog.map_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    roots = window.library.roots()
    assert [(r.id, r.path, r.placed_here) for r in roots] == [(populated.root.id, str(here), True)]
    section = window.sidebar_model.section_index(Section.FOLDERS)
    assert window.sidebar_model.rowCount(section) == 1  # one folder, not a second copy of it


def test_move_to_names_a_shared_folder_by_its_name_not_its_path(
    tmp_path: Path,
    make_services: Callable[..., DesktopServices],
    open_window: Callable[[DesktopServices], MainWindow],
    qtbot: QtBot,
) -> None:
    """Computer A added ``models``; computer B reaches it at ``mnt/sd``: its "Move to" menu names the
    folder "models", as the sidebar does, not "sd"."""
    catalog = tmp_path / "shared" / "catalog.sqlite3"
    with Library.open(catalog, A) as on_a:
        populated = populate(on_a, tmp_path / "models")
    here = tmp_path / "mnt" / "sd"
    shutil.copytree(populated.root_dir, here)
    on_b = Library.open(catalog, B)
    on_b.map_root(populated.root.name, here)
    window = open_window(make_services(on_b, add_root=on_b.add_root))
    try:
        assert populated.root.name == "models"
        assert _move_targets(qtbot, window) == ["Choose folder…", "models"]
    finally:
        window.close()
        on_b.close()
