"""Shared library folders in the window: map one on this computer, or forget this computer's path.

A catalog several computers share (on a server, or one file on shared storage) knows each library
folder by its name, and each computer says where it reaches it (``catalog.machine_paths``). A folder
another computer added and this one has not mapped is listed greyed in the sidebar
(``SidebarRole.NOT_HERE``); right-clicking it offers "Map on this computer…", which opens
:class:`~desktop.dialogs.map_folder_dialog.MapFolderDialog` (the command's ``roots map``, with its checks).
A folder this computer mapped elsewhere than where it was added offers "Map elsewhere on this computer…"
and "Unmap on this computer" (``roots unmap``).

Adding, as a new folder, a folder that is such a shared folder is refused by the library (its files
would be cataloged twice); the refusal's box then has a "Map on this computer…" button, with the path
where the library recognised the shared folder already filled in.

After a change the sidebar, the rows (whose paths are this computer's now) and the watcher follow at
once, and the folder is scanned: known files are recognised by size and time, never hashed again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu, QMessageBox

from catalog.path_text import shown
from desktop.dialogs.map_folder_dialog import ChooseFolder, MapFolderDialog, choose_with_file_dialog
from desktop.models.sidebar_model import ScopeKind, SidebarRole, SidebarScope
from desktop.qt_namespace import Qt

if TYPE_CHECKING:
    from catalog.records import RootRecord
    from desktop.main_window import MainWindow

MAP_TEXT = "Map on this computer…"
MAP_ELSEWHERE_TEXT = "Map elsewhere on this computer…"
UNMAP_TEXT = "Unmap on this computer"


class SharedFolders:
    """The sidebar's menu on a library folder and the map/unmap actions (see the module)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        # Only the choice of a folder in the dialog is replaceable (tests); the mapping is the library's.
        self.choose_folder: ChooseFolder = choose_with_file_dialog
        self.dialog: MapFolderDialog | None = None
        self.menu: QMenu | None = None
        sidebar = window.sidebar
        sidebar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        sidebar.customContextMenuRequested.connect(self._show_menu)

    # -- the sidebar's menu ------------------------------------------------------------------------------

    def _show_menu(self, position: QPoint) -> None:
        index = self.window.sidebar.indexAt(position)
        scope = index.data(SidebarRole.SCOPE) if index.isValid() else None
        if not isinstance(scope, SidebarScope) or scope.kind is not ScopeKind.ROOT:
            return
        root = self.window.sidebar_model.root(scope.value)
        if root is None:
            return
        menu = QMenu(self.window.sidebar)
        menu.setObjectName("sharedFolderMenu")
        if not root.placed_here:
            menu.addAction(MAP_TEXT).triggered.connect(lambda _checked=False: self.map_folder(root))
        elif root.canonical_path and root.path != root.canonical_path:  # mapped here, elsewhere than added
            menu.addAction(MAP_ELSEWHERE_TEXT).triggered.connect(lambda _checked=False: self.map_folder(root))
            menu.addAction(UNMAP_TEXT).triggered.connect(lambda _checked=False: self.unmap_folder(root))
        else:
            return  # a folder of this computer's own: nothing to map
        self.menu = menu
        menu.popup(self.window.sidebar.viewport().mapToGlobal(position))

    # -- the actions ---------------------------------------------------------------------------------------

    def map_folder(self, root: RootRecord, suggested: str = "") -> MapFolderDialog:
        """Opens the map dialog for ``root`` (window-modal, not blocking); the window follows once mapped."""
        start = suggested or (root.path if root.placed_here else "")
        dialog = MapFolderDialog(
            root, self.window.library.map_root, self.window, suggested=start, choose_folder=self.choose_folder
        )
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._mapped(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _mapped(self, dialog: MapFolderDialog) -> None:
        self.dialog = None
        mapped = dialog.mapped
        if mapped is None:
            return
        self._follow(mapped)
        self.window.status.flash(f"“{shown(mapped.name)}” is at {shown(mapped.path)} on this computer")
        self.window.rescan([mapped.id])  # known files are recognised by size and time, not hashed again

    def unmap_folder(self, root: RootRecord) -> None:
        """Forgets this computer's own path for ``root`` (``roots unmap``)."""
        unmapped = self.window.library.unmap_root(root.name)
        self._follow(unmapped)
        where = "not mapped here" if not unmapped.placed_here else f"at {shown(unmapped.path)} again"
        self.window.status.flash(f"“{shown(unmapped.name)}” is {where} on this computer")

    def _follow(self, root: RootRecord) -> None:
        """The sidebar, the rows (their paths are this computer's now) and the watcher, at once."""
        del root
        self.window.reload()
        self.window.restart_watching()


def install_shared_folders(window: MainWindow) -> SharedFolders:
    """The sidebar's "Map on this computer…" and "Unmap on this computer" (``window.shared_folders``)."""
    feature = SharedFolders(window)
    window.shared_folders = feature  # type: ignore[attr-defined]
    return feature


def show_add_refusal(window: MainWindow, path: Path, error: Exception) -> None:
    """The "Cannot add folder" box; for a shared folder this computer has not mapped, with a button that
    opens the map dialog on the place where the library recognised it."""
    from catalog.known_folder import KnownSharedFolderError

    text = f"{shown(str(path))}\n\n{error}"
    box = QMessageBox(QMessageBox.Icon.Warning, "Cannot add folder", text, parent=window)
    feature = getattr(window, "shared_folders", None)
    root = None
    if isinstance(feature, SharedFolders) and isinstance(error, KnownSharedFolderError) and error.name:
        root = next((r for r in window.library.roots() if r.name == error.name), None)
    map_button = box.addButton(MAP_TEXT, QMessageBox.ButtonRole.AcceptRole) if root is not None else None
    box.addButton(QMessageBox.StandardButton.Close)
    window.add_folder_refusal = box  # type: ignore[attr-defined]  # for tests: the box while it is open
    box.exec()
    window.add_folder_refusal = None  # type: ignore[attr-defined]
    if root is not None and isinstance(feature, SharedFolders) and box.clickedButton() is map_button:
        feature.map_folder(root, suggested=error.folder if isinstance(error, KnownSharedFolderError) else "")
