"""Collections within reach: "Add to collection ▸" and "Remove from collection NAME" in the library's
context menu, and library rows dropped on a collection in the sidebar join it.

Before, a collection could only be filled through "Edit N files…" › "Add to"; a user who drags rows onto
the collection they see in the sidebar, or right-clicks for it, expects it there. The edit itself is the
catalog's bulk edit (``BulkEdit.add_collections`` / ``remove_collections``, as the dialog and the
``collection`` command use it), applied and refreshed by ``CurationActions.apply``; this module only
offers it and says in the status bar what was done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu

from catalog.normalize import label_key
from catalog.records import AssetRecord, BulkEdit
from core.errors import AtelierError
from desktop.organize.file_actions import what_files

if TYPE_CHECKING:
    from desktop.main_window import MainWindow
    from desktop.organize.curation_actions import CurationActions

MENU_COLLECTIONS = 30  # listed in the submenu; "New collection…" (a name typed) reaches any other


def _holds(record: AssetRecord, name: str) -> bool:
    return label_key(name) in {label_key(c) for c in record.collections}


class CollectionActions(QObject):
    """The window's collection entries; made by ``CurationActions`` (``window.collection_actions``)."""

    def __init__(self, window: MainWindow, curation: CurationActions) -> None:
        super().__init__(window)
        self.window = window
        self.curation = curation
        self.name_dialog: QInputDialog | None = None
        window.sidebar.assets_dropped_on_collection.connect(self._on_dropped)

    # -- the context menu -------------------------------------------------------------------------------

    def add_context_entries(self, menu: QMenu, records: list[AssetRecord]) -> None:
        """ "Add to collection ▸" (each collection, then "New collection…"), and "Remove from collection
        NAME" while the view shows that collection."""
        submenu = menu.addMenu("Add to collection")
        submenu.setObjectName("addToCollectionMenu")
        try:
            names = self.curation.library.all_collections()
        except AtelierError:  # the catalog's server unreachable: only a new name can be typed
            names = []
        for name in names[:MENU_COLLECTIONS]:
            action = submenu.addAction(name.replace("&", "&&"))
            action.setEnabled(not all(_holds(r, name) for r in records))
            action.triggered.connect(lambda _checked=False, name=name: self.add(records, name))
        if names:
            submenu.addSeparator()
        new = submenu.addAction("New collection…")
        new.triggered.connect(lambda _checked=False: self.ask_new_collection(records))
        shown = self.window.model.query.collection
        if shown and any(_holds(r, shown) for r in records):
            remove = menu.addAction(f"Remove from collection “{shown.replace('&', '&&')}”")
            remove.setObjectName("removeFromCollection")
            remove.triggered.connect(lambda _checked=False: self.remove(records, shown))

    def ask_new_collection(self, records: Sequence[AssetRecord]) -> QInputDialog:
        """Asks for the new collection's name (window-modal, not blocking); OK adds ``records`` to it."""
        dialog = QInputDialog(self.window)
        dialog.setObjectName("newCollectionDialog")
        dialog.setWindowTitle("New collection")
        dialog.setLabelText(f"Add {what_files(records)} to a new collection named:")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setOkButtonText("Add")
        self.name_dialog = dialog

        def chosen(text: str) -> None:
            name = " ".join(text.split())
            if name:
                self.add(records, name)

        dialog.textValueSelected.connect(chosen)
        dialog.finished.connect(lambda _result: setattr(self, "name_dialog", None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()
        return dialog

    # -- the edits --------------------------------------------------------------------------------------

    def add(self, records: Sequence[AssetRecord], name: str) -> None:
        """Adds ``records`` to the collection ``name`` (made if new); the status bar says what was done."""
        if not records:
            return
        already = [r for r in records if _holds(r, name)]
        if len(already) == len(records):
            what = what_files(records)
            verb = "is" if len(records) == 1 else "are all"
            self.window.status.flash(f"{what} {verb} already in “{name}”")
            return
        joining = [r for r in records if not _holds(r, name)]
        said = f"Added {what_files(joining)} to “{name}”"
        if already:
            said += f" ({len(already)} already in it)"
        if self.curation.apply(joining, BulkEdit(add_collections=(name,)), said=said):
            self._offer_undo(
                f"Add {what_files(joining)} to “{name}”",
                lambda: self.curation.apply(
                    joining,
                    BulkEdit(remove_collections=(name,)),
                    said=f"Took {what_files(joining)} out of “{name}” again",
                ),
            )

    def remove(self, records: Sequence[AssetRecord], name: str) -> None:
        members = [r for r in records if _holds(r, name)]
        if not members:
            return
        said = f"Removed {what_files(members)} from “{name}”"
        if self.curation.apply(members, BulkEdit(remove_collections=(name,)), said=said):
            self._offer_undo(
                f"Remove {what_files(members)} from “{name}”",
                lambda: self.curation.apply(
                    members,
                    BulkEdit(add_collections=(name,)),
                    said=f"Put {what_files(members)} back in “{name}”",
                ),
            )

    def _offer_undo(self, label: str, undo: Callable[[], object]) -> None:
        """Edit › Undo reverses the collection edit just made (the window's file actions own Undo)."""
        file_actions = getattr(self.window, "file_actions", None)
        if file_actions is not None:
            file_actions.offer_undo(label, undo)

    def _on_dropped(self, ids: list[int], name: str) -> None:
        """Library rows dropped on a sidebar collection; added after the drag has ended (not inside it)."""

        def add_them() -> None:
            try:
                records = self.curation.library.get_many(ids)
            except AtelierError as error:
                self.window.status.flash(f"Not added: {str(error).rstrip('.')}.")
                return
            self.add(records, name)

        QTimer.singleShot(0, self, add_them)
