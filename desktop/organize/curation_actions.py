"""Curation in the window: "Edit N files…" (the bulk edit dialog), Hide / Show, "Write sidecars" in the
context menu and the Library menu, Library › Deleted files…, and the collection entries
(``desktop.organize.collections_menu``: "Add to collection ▸", drops on a sidebar collection).

The work is the Library's (``bulk_edit``, one transaction) and ``app.sidecar_writer``'s; this module opens
the dialogs, asks before a different preview next to a model is replaced, and refreshes the rows, the
sidebar and the details pane afterwards. A change of the hidden flag, or a removal from the collection the
view shows, re-runs the query, since those files leave (or join) the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from app.sidecar_writer import PreviewOutcome, SidecarLibrary, write_many
from catalog.records import AssetRecord, BulkEdit
from core.errors import AtelierError
from desktop.organize.bulk_edit_dialog import BulkEditDialog
from desktop.organize.collections_menu import CollectionActions
from desktop.organize.deleted_files_dialog import DeletedFilesDialog

if TYPE_CHECKING:
    from catalog.library import Library
    from desktop.main_window import MainWindow


def install_curation(window: MainWindow) -> CurationActions:
    """Adds the bulk edit, hide and write-sidecars actions (Library menu and context menu),
    Library › Deleted files…, and the collection entries (context menu, sidebar drops)."""
    actions = CurationActions(window)
    window.curation_actions = actions  # type: ignore[attr-defined]
    window.collection_actions = actions.collections  # type: ignore[attr-defined]
    return actions


def write_sidecars_asking(parent: QWidget, library: SidecarLibrary, records: Sequence[AssetRecord]) -> str:
    """Writes the records' sidecars; where a different preview is next to a model, asks once whether to
    replace those with the covers. Returns the line for the status bar."""
    reports, failed = write_many(library, records, force=False)
    kept = [r for r in reports if r.preview is PreviewOutcome.KEPT_EXISTING]
    if kept:
        names = ", ".join(r.preview_path.name for r in kept[:3] if r.preview_path)
        more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
        answer = QMessageBox.question(
            parent,
            "Replace previews?",
            f"{names}{more}: a different preview is already next to the model. Replace it with the cover?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            by_id = {r.id: r for r in records}
            again, failed_again = write_many(library, [by_id[r.asset_id] for r in kept], force=True)
            replaced = {r.asset_id for r in again}
            reports = [r for r in reports if r.asset_id not in replaced] + again
            failed += failed_again
    written = len(reports)
    line = f"Wrote sidecars for {written} file{'s' if written != 1 else ''}"
    if failed:
        line += f"; {len(failed)} failed: {failed[0][1]}"
    return line


class CurationActions:
    """The window's curation actions; one instance per window (``window.curation_actions``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = cast("Library", window.library)
        self.edit_action = QAction("&Edit selected files…", window)
        self.edit_action.setShortcut(QKeySequence("Ctrl+E"))
        self.edit_action.setToolTip(
            "Tags, collections, rating, favorite, NSFW and hidden for every selected file"
        )
        self.edit_action.triggered.connect(lambda _checked=False: self.edit_selected())
        self.sidecars_action = QAction("&Write sidecars for selected files", window)
        self.sidecars_action.setToolTip(
            "Write <name>.json (A1111/Forge user metadata) and <name>.preview.png next to each selected file"
        )
        self.sidecars_action.triggered.connect(
            lambda _checked=False: self.write_sidecars(window.selected_records())
        )
        self.deleted_action = QAction("&Deleted files…", window)
        self.deleted_action.setToolTip("Files you deleted from the library, remembered so a download warns")
        self.deleted_action.triggered.connect(lambda _checked=False: self.show_deleted())
        window.addAction(self.edit_action)  # the shortcut works with the menu bar hidden
        menu = window.library_menu
        menu.addSeparator()
        for action in (self.edit_action, self.sidecars_action, self.deleted_action):
            menu.addAction(action)
        window.context_menu_sections.append(self.add_context_section)
        self.collections = CollectionActions(window, self)

    # -- context menu ---------------------------------------------------------------------------------

    def add_context_section(self, menu: QMenu, records: list[AssetRecord]) -> None:
        count = len(records)
        edit = menu.addAction(f"Edit {count} files…" if count > 1 else "Edit…")
        edit.setObjectName("contextBulkEdit")
        edit.triggered.connect(lambda _checked=False: self.edit(records))
        self.collections.add_context_entries(menu, records)
        hide = not all(r.hidden for r in records)
        toggle = menu.addAction("Hide" if hide else "Show again (unhide)")
        toggle.setToolTip(
            "Hidden files leave the library views until shown with the filter bar's Hidden choice"
        )
        toggle.triggered.connect(lambda _checked=False: self.apply(records, BulkEdit(hidden=hide)))
        sidecars = menu.addAction("Write sidecars")
        sidecars.setToolTip("Write <name>.json and <name>.preview.png next to the file for A1111/Forge")
        sidecars.triggered.connect(lambda _checked=False: self.write_sidecars(records))

    # -- actions --------------------------------------------------------------------------------------

    def edit_selected(self) -> None:
        records = self.window.selected_records()
        if records:
            self.edit(records)
        else:
            self.window.status.flash("Select the files to edit first")

    def edit(self, records: Sequence[AssetRecord]) -> BulkEditDialog:
        """Opens the bulk edit dialog (non-blocking); OK applies its edit to every record."""
        fresh = self.library.get_many([r.id for r in records])
        dialog = BulkEditDialog(
            fresh,
            tags=self.library.all_tags(),
            collections=self.library.all_collections(),
            parent=self.window,
        )
        dialog.accepted.connect(lambda: self.apply(fresh, dialog.edit()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)  # F2, Del at once after OK or Esc
        dialog.open()
        self.dialog = dialog
        return dialog

    def apply(self, records: Sequence[AssetRecord], edit: BulkEdit, said: str = "") -> bool:
        """Applies ``edit`` to ``records`` and refreshes what shows them; ``said``: the status bar's line
        (else "Edited N files"). False when nothing was saved (said in the status bar)."""
        if edit.is_empty or not records:
            return False
        try:
            updated = self.library.bulk_edit([r.id for r in records], edit)
        except AtelierError as exc:  # the catalog's server unreachable...: nothing of it was written
            self.window.status.flash(f"Not saved: {str(exc).rstrip('.')}.")
            return False
        window = self.window
        shown = window.model.query.collection
        if edit.hidden is not None or (shown is not None and edit.remove_collections):
            window.reload()  # hidden files (or those taken out of the collection shown) leave the view
        else:
            for record in updated:
                window.model.refresh_asset(record.id, record)
            window.refresh_sidebar()
            window.filter_bar.set_tags(self.library.all_tags())
            current = window.current_asset_id()
            if current is not None and any(r.id == current for r in updated):
                window.details.show_asset(self.library.get(current))
        count = len(updated)
        window.status.flash(said or f"Edited {count} file{'s' if count != 1 else ''}")
        return True

    def write_sidecars(self, records: Sequence[AssetRecord]) -> None:
        if not records:
            self.window.status.flash("Select the files to write sidecars for first")
            return
        fresh = self.library.get_many([r.id for r in records])
        self.window.status.flash(write_sidecars_asking(self.window, self.library, fresh))
        for record in self.library.get_many([r.id for r in fresh]):
            self.window.model.refresh_asset(record.id, record)

    def show_deleted(self) -> DeletedFilesDialog:
        dialog = DeletedFilesDialog(self.library, self.window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        file_actions = getattr(self.window, "file_actions", None)
        if file_actions is not None:  # Restore is the undo of the delete, run as a window job
            dialog.restore_requested.connect(file_actions.undo)
            self.window.job_ended.connect(dialog.reload)
        dialog.open()
        self.deleted_dialog = dialog
        return dialog
