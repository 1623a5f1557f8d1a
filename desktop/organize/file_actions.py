"""Move, rename, delete and undo in the window: the context menu, F2, Del, Ctrl+Z and sidebar drops.

Every change goes through the organize engine (``app.organize.engine``), which journals it, moves the
sidecars and previews with the model and updates the catalog in the same step; this module only asks the
user (the folder, the new name, the confirmation, a move into a folder its app reads another kind of
model from, the conflicts), plans with ``core.organize.plan`` so
conflicts are answered before anything moves, then runs the engine as a window job: off the GUI thread,
with progress and Cancel in the status bar, the views and the sidebar refreshed when it ends, and a
failure said in one line.

The shortcuts F2, Del and the "Move to…" actions act on the library views only (their shortcut context
is the grid and the table), so Del in a text field or on the compose board never deletes a model file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from catalog.path_text import shown
from catalog.places import is_under
from catalog.records import AssetRecord, RootRecord
from core.errors import AtelierError
from core.jobs import CancelToken, ProgressCallback
from core.organize.companions import companion_files
from core.organize.plan import Conflict, MovePlan
from core.taxonomy import FileStatus
from core.wording import counted
from desktop.organize.conflict_dialog import ConflictChoice, ConflictDialog
from desktop.organize.delete_dialog import DeleteDialog, DeletedItem
from desktop.organize.folders import FolderNode, FolderTreeLoader, kind_folder_warning
from desktop.organize.rename_dialog import RenameDialog
from desktop.qt_namespace import Qt

if TYPE_CHECKING:
    from app.organize.engine import OperationResult
    from catalog.library import Library
    from desktop.main_window import MainWindow
    from desktop.organize.history_dialog import HistoryDialog

MENU_FOLDERS_PER_LEVEL = 40  # a "Move to" submenu lists this many folders; the chooser reaches the rest
MENU_DEPTH = 4


def install_file_actions(window: MainWindow) -> FileActions:
    """Adds Move/Rename/Delete to the library's context menu and Edit menu, Undo and the operation
    history to the Edit menu, the folder tree and drops to the sidebar."""
    actions = FileActions(window)
    window.file_actions = actions  # type: ignore[attr-defined]
    return actions


def what_files(records: Sequence[AssetRecord]) -> str:
    """“name.safetensors” for one file, "3 files" for more: how messages and titles name a selection."""
    return f"“{records[0].file_name}”" if len(records) == 1 else counted(len(records), "file")


def result_text(result: OperationResult, done: str) -> str:
    """One line for the status bar: "moved 2 files; 1 skipped; 1 failed: <path>: <reason>"."""
    parts = [done.format(files=counted(result.done, "file"))]
    if result.skipped:
        parts.append(f"{result.skipped} skipped")
    if result.failed:
        path, reason = result.failed[0]
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        parts.append(f"{len(result.failed)} failed: {Path(path).name}: {reason}{more}")
    if result.cancelled:
        parts.append("cancelled (what was done is kept)")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class EditUndo:
    """A change made outside the operations journal (a collection edit) that Edit › Undo reverses while
    it is the newest change: ``after`` is the journal's newest undoable operation when it was made."""

    label: str  # "Add “x.safetensors” to “Favs”"
    undo: Callable[[], object]
    after: int | None


class FileActions(QObject):
    """The window's file operations; one instance per window (``window.file_actions``)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        # The window's library is the catalog's ``Library``; ``AssetLibrary`` is the slice of it the views
        # use, while the engine (like every app use case) takes the whole facade.
        self.library = cast("Library", window.library)
        self.folder_dialog: QFileDialog | None = None
        self.rename_dialog: RenameDialog | None = None
        self.delete_dialog: DeleteDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.conflict_dialog: ConflictDialog | None = None
        self.kind_dialog: QMessageBox | None = None  # "will not load a LoRA from embeddings": move anyway?
        self._titles: set[str] = set()  # titles of this module's jobs not yet ended (run_job dedupes)
        self._outcomes: dict[str, str] = {}  # a finished job's title -> its one-line outcome
        self._edit_undo: EditUndo | None = None  # a collection edit Undo reverses (see offer_undo)

        views = (window.grid, window.table)
        self.rename_action = self._view_action("&Rename…", self.rename_current, QKeySequence("F2"), views)
        self.move_action = self._view_action("&Move to…", self.choose_folder_and_move, None, views)
        self.delete_action = self._view_action(
            "&Delete", self.delete_selection, QKeySequence(QKeySequence.StandardKey.Delete), views
        )
        self.delete_action.setToolTip("Move the selected files and their sidecars to the system trash")
        self.undo_action = QAction("&Undo", window)
        self.undo_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self.undo_action.triggered.connect(lambda _checked=False: self.undo_last())
        window.addAction(self.undo_action)
        self.history_action = QAction("Operation &history…", window)
        self.history_action.triggered.connect(lambda _checked=False: self.show_history())

        edit = window.edit_menu
        edit.addAction(self.undo_action)
        edit.addAction(self.history_action)
        edit.addSeparator()
        edit.addAction(self.rename_action)
        edit.addAction(self.move_action)
        edit.addAction(self.delete_action)
        edit.aboutToShow.connect(self.refresh_undo)
        window.context_menu_sections.append(self.add_context_section)
        window.selection.selectionChanged.connect(lambda *_: self._sync_enabled())
        self._sync_enabled()

        self.folders = FolderTreeLoader(self)
        self.folders.loaded.connect(window.sidebar_model.set_folders)
        window.sidebar_model.roots_changed.connect(self._read_folders)
        window.sidebar.assets_dropped.connect(self._on_assets_dropped)
        window.job_ended.connect(self._on_job_ended)
        # After the window is shown (load_later opens the catalog then); a window closed before that
        # (its library may be closed too) refreshes when its Edit menu opens instead.
        QTimer.singleShot(0, self, self._refresh_undo_if_shown)

    def _view_action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | None,
        views: Sequence[QObject],
    ) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        for view in views:
            view.addAction(action)  # type: ignore[attr-defined]
        return action

    # -- state ------------------------------------------------------------------------------------------

    def _usable(self, records: Sequence[AssetRecord]) -> list[AssetRecord]:
        """The records whose file is there to move or rename (a missing file has nothing to move)."""
        return [record for record in records if record.status is not FileStatus.MISSING]

    def _sync_enabled(self) -> None:
        try:
            records = self.window.selected_records()
        except AtelierError:  # the catalog's server unreachable: the actions stay as they were
            return
        usable = self._usable(records)
        self.rename_action.setEnabled(len(usable) == 1 and len(records) == 1)
        self.move_action.setEnabled(bool(usable))
        self.delete_action.setEnabled(bool(records))

    def _refresh_undo_if_shown(self) -> None:
        if self.window.isVisible():
            try:
                self.refresh_undo()
            except AtelierError:  # the catalog's server unreachable: opening the Edit menu asks again
                return

    def refresh_undo(self) -> None:
        """ "Undo <what the newest undoable operation did>", or a disabled "Undo" when there is none."""
        from app.organize.engine import undoable_operation

        operation = undoable_operation(self.library)
        edit = self._newest_edit(operation.id if operation is not None else None)
        if edit is not None:
            self.undo_action.setText(f"&Undo {edit.label.replace('&', '&&')}")
            self.undo_action.setEnabled(True)
            self.undo_action.setToolTip(f"Undo {edit.label} (Ctrl+Z)")
        elif operation is None:
            self.undo_action.setText("&Undo")
            self.undo_action.setEnabled(False)
            self.undo_action.setToolTip("Nothing to undo")
        else:
            label = operation.label or operation.kind
            self.undo_action.setText(f"&Undo {label.replace('&', '&&')}")
            self.undo_action.setEnabled(True)
            self.undo_action.setToolTip(f"Undo {label} (Ctrl+Z)")

    def _read_folders(self, roots: Sequence[RootRecord] | None = None) -> None:
        listed = roots if roots is not None else self.library.roots()
        # A shared root not mapped here has another computer's path: nothing of it to read on this one.
        self.folders.request([(root.id, root.path) for root in listed if root.placed_here])

    def _on_job_ended(self, title: str) -> None:
        self._titles.discard(title)
        outcome = self._outcomes.pop(title, None)
        if outcome is not None:
            # Also flashed: the scan the file watcher starts after a move would replace it at once.
            self.window.status.flash(f"{title}: {outcome}")
        self._read_folders()  # a scan or a move may have made or emptied folders
        self.refresh_undo()
        self._sync_enabled()
        if self.history_dialog is not None:
            self.history_dialog.refresh()

    # -- the context menu -------------------------------------------------------------------------------

    def add_context_section(self, menu: QMenu, records: list[AssetRecord]) -> None:
        usable = self._usable(records)
        missing = " (the file is missing)" if not usable else ""
        move = menu.addAction("Move to…" + missing)
        move.setEnabled(bool(usable))
        move.triggered.connect(lambda _checked=False: self.choose_folder_and_move(usable))
        move_menu = menu.addMenu("Move to")
        move_menu.setObjectName("moveToMenu")
        move_menu.setEnabled(bool(usable))
        self._fill_move_menu(move_menu, usable)
        rename = menu.addAction("Rename…" + missing)
        rename.setShortcut(self.rename_action.shortcut())
        rename.setEnabled(len(records) == 1 and bool(usable))
        rename.triggered.connect(lambda _checked=False: self.rename(records[0]))
        delete = menu.addAction("Delete")
        delete.setShortcut(self.delete_action.shortcut())
        delete.triggered.connect(lambda _checked=False: self.delete(records))

    def _fill_move_menu(self, menu: QMenu, records: list[AssetRecord]) -> None:
        """The library roots, each a submenu of its folders (itself first), down to ``MENU_DEPTH``."""
        choose = menu.addAction("Choose folder…")
        choose.triggered.connect(lambda _checked=False: self.choose_folder_and_move(records))
        menu.addSeparator()
        for root in self.library.roots():
            if not root.placed_here:  # a shared root not mapped here: its path is another computer's
                continue
            # Named as the sidebar names it: a shared folder by its name (NAS), not its path's last part.
            name = root.name or Path(root.path).name or root.path
            tree = self.window.sidebar_model.folder_tree(root.id) or FolderNode(root.path, name)
            self._add_folder_entry(menu, replace(tree, name=name), records, MENU_DEPTH)

    def _add_folder_entry(
        self, menu: QMenu, node: FolderNode, records: list[AssetRecord], depth: int
    ) -> None:
        def move_here(_checked: bool = False, folder: str = node.path) -> None:
            self.move(records, Path(folder))

        if not node.children or depth <= 1:
            action = menu.addAction(shown(node.name))
            action.setToolTip(shown(node.path))
            action.triggered.connect(move_here)
            return
        submenu = menu.addMenu(node.name)
        submenu.setToolTipsVisible(True)
        here = submenu.addAction(f"Into “{node.name}”")
        here.setToolTip(node.path)
        here.triggered.connect(move_here)
        submenu.addSeparator()
        for child in node.children[:MENU_FOLDERS_PER_LEVEL]:
            self._add_folder_entry(submenu, child, records, depth - 1)
        if len(node.children) > MENU_FOLDERS_PER_LEVEL:
            more = submenu.addAction(f"{len(node.children) - MENU_FOLDERS_PER_LEVEL} more: Choose folder…")
            more.triggered.connect(lambda _checked=False: self.choose_folder_and_move(records, node.path))

    # -- move -------------------------------------------------------------------------------------------

    def choose_folder_and_move(
        self, records: Sequence[AssetRecord] | None = None, start: str | None = None
    ) -> None:
        """A folder chooser that starts in the files' folder, with the library roots as its places."""
        chosen = self._usable(records if records is not None else self._selected("moved"))
        if not chosen:
            return
        try:
            roots = self.library.roots()
        except AtelierError as error:
            self.window.status.flash(f"Nothing moved: {str(error).rstrip('.')}.")
            return
        dialog = QFileDialog(self.window, f"Move {what_files(chosen)} to")
        dialog.setObjectName("moveToDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # the roots as its places
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Move here")
        dialog.setDirectory(start or str(Path(chosen[0].path).parent))
        from PySide6.QtCore import QUrl

        dialog.setSidebarUrls([QUrl.fromLocalFile(root.path) for root in roots])
        self.folder_dialog = dialog

        def chosen_folder(folder: str) -> None:
            self.folder_dialog = None
            self.move(chosen, Path(folder))

        dialog.fileSelected.connect(chosen_folder)
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def root_of(self, folder: Path) -> RootRecord | None:
        """The library root that holds ``folder`` (None: outside the library)."""
        text = os.path.normpath(Path(folder).absolute())
        inside = [root for root in self.library.roots() if is_under(text, os.path.normpath(root.path))]
        return max(inside, key=lambda root: len(root.path), default=None)

    def move(self, records: Sequence[AssetRecord], folder: Path) -> None:
        """Moves ``records`` (with their sidecars) into ``folder``, asking about name conflicts."""
        records = self._usable(records)
        if not records:
            return
        if self.root_of(folder) is None:
            self.window.status.flash(
                f"{folder} is not in a library folder: choose a folder inside one (or add it in Settings)"
            )
            return
        requests = [(r.id, Path(r.path), folder / Path(r.path).name) for r in records]
        root = self.root_of(folder)
        warning = kind_folder_warning(records, folder, root) if root is not None else None

        def apply(plan: MovePlan) -> None:
            if plan.is_empty:
                self.window.status.flash(f"Nothing to move into {folder.name or folder}")
                return
            names = self._names(plan)
            label = f"Move {names} to {folder.name}"
            done = "moved {files}"
            skipped = len(plan.conflicts)  # the user's "Skip": said, not silently dropped
            if skipped:
                done += f"; {skipped} left where {'it was' if skipped == 1 else 'they were'}"
            self._run(f"Moving {names} to {folder.name}", done, self._apply(plan, "move", label))

        if warning is None:
            self._resolve(requests, "move", apply)
        else:  # asked before anything moves: a note afterwards was gone with the watcher's next rescan
            self._confirm_kind_folder(
                what_files(records), folder, warning, lambda: self._resolve(requests, "move", apply)
            )

    def _confirm_kind_folder(self, what: str, folder: Path, warning: str, then: Callable[[], None]) -> None:
        """ "AUTOMATIC1111 will not load a LoRA from models/embeddings": Move anyway (``then``) or Cancel
        (window-modal, not blocking). Never a refusal: a user may sort files their own way."""
        dialog = QMessageBox(self.window)
        dialog.setObjectName("kindFolderDialog")
        dialog.setIcon(QMessageBox.Icon.Warning)
        dialog.setWindowTitle("Move to a folder of another kind?")
        dialog.setText(f"Move {what} to {folder.name or folder}?")
        dialog.setInformativeText(f"{warning[0].upper()}{warning[1:]}.")
        move = dialog.addButton("Move anyway", QMessageBox.ButtonRole.AcceptRole)
        dialog.addButton(QMessageBox.StandardButton.Cancel)
        dialog.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.kind_dialog = dialog

        def answered(_result: int) -> None:
            self.kind_dialog = None
            dialog.deleteLater()
            if dialog.clickedButton() is move:
                then()

        dialog.finished.connect(answered)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def _on_assets_dropped(self, ids: list[int], folder: str) -> None:
        """A drop of library rows on a sidebar folder; asked after the drag has ended (not inside it)."""
        records = [record for record in (self.library.get(i) for i in ids) if record is not None]
        QTimer.singleShot(0, lambda: self.move(records, Path(folder)))

    # -- rename -----------------------------------------------------------------------------------------

    def rename_current(self) -> None:
        records = self._usable(self._selected("renamed"))
        current = self.window.current_asset_id()
        record = next((r for r in records if r.id == current), records[0] if len(records) == 1 else None)
        if record is not None and len(records) == 1:
            self.rename(record)

    def rename(self, record: AssetRecord) -> None:
        """The rename dialog for ``record``; its sidecars and previews take the new name with it."""
        source = Path(record.path)
        dialog = RenameDialog(source, self.window, title=record.display_name or record.file_name)
        self.rename_dialog = dialog

        def apply(plan: MovePlan) -> None:
            if plan.is_empty:
                return
            label = f"Rename “{source.name}” to “{plan.moves[0].target.name}”"
            self._run(f"Renaming “{source.name}”", "renamed {files}", self._apply(plan, "rename", label))

        def renamed() -> None:
            self.rename_dialog = None
            self._resolve([(record.id, source, source.with_name(dialog.new_name()))], "rename", apply)

        dialog.accepted.connect(renamed)
        dialog.rejected.connect(lambda: setattr(self, "rename_dialog", None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    # -- delete -----------------------------------------------------------------------------------------

    def delete_selection(self) -> None:
        self.delete(self._selected("deleted"))

    def _selected(self, verb: str) -> list[AssetRecord]:
        """The selected files as the catalog holds them; none, said in the status bar, when it cannot be
        read (its server unreachable)."""
        try:
            return self.window.selected_records()
        except AtelierError as error:
            self.window.status.flash(f"Nothing {verb}: {str(error).rstrip('.')}.")
            return []

    def delete(self, records: Sequence[AssetRecord]) -> None:
        """Confirms (files, sidecars, size), then moves them to the system trash."""
        if not records:
            return
        items = [_deleted_item(record) for record in records]
        dialog = DeleteDialog(items, self.window)
        self.delete_dialog = dialog
        ids = [record.id for record in records]
        title = f"Deleting {what_files(records)}"

        def confirmed() -> None:
            self.delete_dialog = None
            label = f"Delete {what_files(records)}"  # history and Undo name the file(s)
            self._run(title, "moved {files} to the trash", self._delete_job(ids, label))

        dialog.accepted.connect(confirmed)
        dialog.rejected.connect(lambda: setattr(self, "delete_dialog", None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def _delete_job(
        self, ids: list[int], label: str = ""
    ) -> Callable[[ProgressCallback, CancelToken], OperationResult]:
        library = self.library

        def job(progress: ProgressCallback, cancel: CancelToken) -> OperationResult:
            from app.organize.engine import delete_assets

            return delete_assets(library, ids, label=label, progress=progress, cancel=cancel)

        return job

    # -- undo and history -------------------------------------------------------------------------------

    def offer_undo(self, label: str, undo: Callable[[], object]) -> None:
        """Edit › Undo (and Ctrl+Z) reverses this edit, made outside the journal, until a file operation
        (a move, a delete, an organize: journaled) comes after it; then that one is undone first."""
        from app.organize.engine import undoable_operation

        operation = undoable_operation(self.library)
        self._edit_undo = EditUndo(label, undo, operation.id if operation is not None else None)
        self.refresh_undo()

    def _newest_edit(self, newest_operation: int | None) -> EditUndo | None:
        """The offered edit, while no journaled operation came after it (else it is dropped)."""
        edit = self._edit_undo
        if edit is not None and edit.after != newest_operation:
            self._edit_undo = edit = None
        return edit

    def undo_last(self) -> None:
        self.undo(None)

    def undo(self, operation_id: int | None) -> None:
        """Undoes ``operation_id`` (None: the newest operation that can be undone) as a job."""
        from app.organize.engine import undoable_operation

        if operation_id is None:
            operation = undoable_operation(self.library)
            edit = self._newest_edit(operation.id if operation is not None else None)
            if edit is not None:
                self._edit_undo = None
                edit.undo()
                self.refresh_undo()
                return
            if operation is None:
                self.window.status.flash("Nothing to undo")
                return
            operation_id = operation.id
            label = operation.label or operation.kind
        else:
            label = f"operation {operation_id}"
        library = self.library

        def job(progress: ProgressCallback, cancel: CancelToken) -> OperationResult:
            from app.organize.engine import undo

            return undo(library, operation_id, progress=progress, cancel=cancel)

        self._run(f"Undo {label}", "put back {files}", job)

    def show_history(self) -> None:
        from desktop.organize.history_dialog import HistoryDialog

        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(self.library, self.window)
            self.history_dialog.undo_requested.connect(self.undo)
            self.history_dialog.finished.connect(lambda _result: setattr(self, "history_dialog", None))
        self.history_dialog.refresh()
        self.history_dialog.show()
        self.history_dialog.raise_()

    # -- planning and running ---------------------------------------------------------------------------

    def _resolve(
        self,
        requests: Sequence[tuple[int | None, Path, Path]],
        verb: str,
        then: Callable[[MovePlan], None],
    ) -> None:
        """Plans ``requests`` and calls ``then`` with the plan; conflicts are first put to the user
        (window-modal, not blocking), and nothing happens when they cancel."""
        from app.organize.engine import plan_in_library

        try:
            plan = plan_in_library(self.library, requests)
        except AtelierError as error:  # the catalog's server unreachable: nothing was moved
            self.window.status.flash(f"Nothing {verb}d: {str(error).rstrip('.')}.")
            return
        if not plan.conflicts:
            then(plan)
            return
        dialog = ConflictDialog(plan.conflicts, self.window, verb=verb)
        self.conflict_dialog = dialog

        def answered() -> None:
            keep_both = {
                conflict.source
                for conflict, choice in zip(dialog.conflicts, dialog.choices(), strict=True)
                if choice is ConflictChoice.KEEP_BOTH
            }
            then(_replan(self.library, requests, plan.conflicts, keep_both))

        def closed(_result: int) -> None:
            self.conflict_dialog = None
            dialog.deleteLater()

        dialog.accepted.connect(answered)
        dialog.finished.connect(closed)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def _apply(
        self, plan: MovePlan, kind: str, label: str
    ) -> Callable[[ProgressCallback, CancelToken], OperationResult]:
        library = self.library

        def job(progress: ProgressCallback, cancel: CancelToken) -> OperationResult:
            from app.organize.engine import apply_moves

            return apply_moves(library, plan, kind=kind, label=label, progress=progress, cancel=cancel)

        return job

    def _run(
        self, title: str, done: str, fn: Callable[[ProgressCallback, CancelToken], OperationResult]
    ) -> None:
        """Runs ``fn`` as a window job; the status bar ends with one line saying what it did."""
        unique = title
        number = 2
        while unique in self._titles:  # the window drops a job whose title is already queued
            unique = f"{title} ({number})"
            number += 1
        self._titles.add(unique)

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            text = result_text(fn(progress, cancel), done)
            self._outcomes[unique] = text
            return text

        self.window.run_job(unique, job)

    @staticmethod
    def _names(plan: MovePlan) -> str:
        moves = plan.moves
        return f"“{moves[0].source.name}”" if len(moves) == 1 else counted(len(moves), "file")


def _replan(
    library: Library,
    requests: Sequence[tuple[int | None, Path, Path]],
    conflicts: Sequence[Conflict],
    keep_both: set[Path],
) -> MovePlan:
    """The plan after the user's answers: skipped conflicts dropped, "keep both" ones under a free name.

    The moves that had no conflict are planned first, so they keep their names; the kept-both files
    then get ``name (2).ext`` (or the next free number) around them.
    """
    conflicted = {conflict.source for conflict in conflicts}
    clear = [request for request in requests if request[1] not in conflicted]
    both = [request for request in requests if request[1] in keep_both]
    from app.organize.engine import plan_in_library

    plan = plan_in_library(library, [*clear, *both], rename_conflicts=True)
    skipped = tuple(conflict for conflict in conflicts if conflict.source not in keep_both)
    return MovePlan(plan.moves, (*plan.conflicts, *skipped), plan.unchanged)


def _deleted_item(record: AssetRecord) -> DeletedItem:
    path = Path(record.path)
    companions: list[tuple[Path, int]] = []
    for companion in companion_files(path):
        try:
            companions.append((companion, companion.lstat().st_size))
        except OSError:
            continue
    return DeletedItem(path, record.size, tuple(companions))
