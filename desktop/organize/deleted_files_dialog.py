"""Library › Deleted files…: what the user deleted from the library, remembered so a download of the same
Civitai version or the same bytes is questioned ("you deleted this version on …"). "Forget" drops the
selected entries from that memory (nothing on disk changes: the files are in the system trash already).

"Restore" undoes the journaled delete a file came from (the engine's undo: the file, its sidecars and its
catalog entry with the user's data come back; a delete of several files brings back all of them, which
the tooltip says). It is disabled, with the reason as its tooltip, when the trash was emptied since, when
another tool deleted the file (no journal entry), or when the system's trash does not say where it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from catalog.records import DeletedFileRecord, DeletionOrigin
from desktop.labels import KIND_LABELS
from desktop.qt_namespace import USER_ROLE, Qt

COLUMNS = ("Name", "Civitai model / version", "Kind", "Deleted", "Path")
ID_ROLE = USER_ROLE + 1


class DeletedFilesLibrary(Protocol):
    def deleted_files(self, limit: int | None = None) -> Sequence[DeletedFileRecord]: ...

    def forget_deleted(self, ids: Sequence[int], /) -> int: ...

    def deletion_origins(self, ids: Sequence[int], /) -> dict[int, DeletionOrigin]: ...


def why_not_restorable(origin: DeletionOrigin | None) -> str | None:
    """Why the delete behind a remembered file cannot be undone from here; None when it can."""
    if origin is None:
        return (
            "Deleted by another tool (or before Atelier kept a journal): restore it from the trash yourself"
        )
    if origin.operation_state not in ("done", "failed"):
        return f"Its delete operation is {origin.operation_state}: there is nothing of it to undo"
    if not origin.trashed or not all(origin.trashed):
        return "This system's trash does not say where it put the file: restore it from the trash yourself"
    if not os.path.lexists(origin.trashed[0]):
        return "Emptied from the trash: the file is gone"
    return None


class DeletedFilesDialog(QDialog):
    restore_requested = Signal(int)  # the id of the delete operation to undo

    def __init__(self, library: DeletedFilesLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self.setWindowTitle("Deleted files")
        self.setObjectName("deletedFilesDialog")
        self.resize(900, 420)
        layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setProperty("class", "muted")
        layout.addWidget(self.intro)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.table = QTableView()
        self.table.setObjectName("deletedFilesTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.forget = QPushButton("Forget")
        self.forget.setObjectName("forgetDeleted")
        self.forget.setToolTip(
            "Stop remembering the selected files: downloading them again is not questioned"
        )
        self.forget.clicked.connect(self.forget_selected)
        buttons.addButton(self.forget, QDialogButtonBox.ButtonRole.ActionRole)
        self.restore = QPushButton("Restore")
        self.restore.setObjectName("restoreDeleted")
        self.restore.clicked.connect(self.restore_selected)
        buttons.addButton(self.restore, QDialogButtonBox.ButtonRole.ActionRole)
        self._origins: dict[int, DeletionOrigin] = {}
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_forget())
        self.reload()

    def reload(self) -> None:
        records = list(self._library.deleted_files())
        self._origins = self._library.deletion_origins([record.id for record in records])
        self.model.removeRows(0, self.model.rowCount())
        for record in records:
            self.model.appendRow(_row(record))
        self.table.resizeColumnsToContents()
        for column, width in ((0, 260), (1, 260), (4, 320)):
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), width))
        count = f"{len(records)} file{'s' if len(records) != 1 else ''}"
        self.intro.setText(
            f"{count} deleted from the library. A download of the same Civitai version or the same file "
            "asks first."
            if records
            else "No deleted files. Files you delete from the library are remembered here, so "
            "downloading one again asks first."
        )
        self._update_forget()

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [int(self.model.item(row, 0).data(ID_ROLE)) for row in rows]

    def forget_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self._library.forget_deleted(ids)
            self.reload()

    def restore_selected(self) -> None:
        """Asks for the undo of each selected file's delete operation (once per operation)."""
        for operation_id in self._restorable_operations():
            self.restore_requested.emit(operation_id)

    def _restorable_operations(self) -> list[int]:
        operations: list[int] = []
        for deleted_id in self.selected_ids():
            origin = self._origins.get(deleted_id)
            restorable = origin is not None and why_not_restorable(origin) is None
            if origin is not None and restorable and origin.operation_id not in operations:
                operations.append(origin.operation_id)
        return operations

    def _update_forget(self) -> None:
        ids = self.selected_ids()
        self.forget.setEnabled(bool(ids))
        reasons = [why_not_restorable(self._origins.get(deleted_id)) for deleted_id in ids]
        refused = next((reason for reason in reasons if reason is not None), None)
        self.restore.setEnabled(bool(ids) and refused is None)
        if not ids:
            self.restore.setToolTip("Select a file to put it back from the trash")
        elif refused is not None:
            self.restore.setToolTip(refused)
        else:
            self.restore.setToolTip(self._restore_tip(ids))

    def _restore_tip(self, ids: Sequence[int]) -> str:
        origins = [self._origins[deleted_id] for deleted_id in ids]
        more = sum(origin.files_in_operation for origin in {o.operation_id: o for o in origins}.values())
        what = "it" if len(ids) == 1 else f"these {len(ids)} files"
        tip = f"Put {what} back from the trash with sidecars, previews and your data (undo of the delete)"
        if more > len(ids):
            labels = ", ".join(dict.fromkeys(f"“{origin.operation_label}”" for origin in origins))
            tip += f"; undoing {labels} brings back all {more} files it deleted"
        return tip


def _row(record: DeletedFileRecord) -> list[QStandardItem]:
    name = QStandardItem(record.model_name or record.file_name)
    name.setData(record.id, ID_ROLE)
    name.setToolTip(record.file_name)
    if record.site == "civitai" and record.version_id:
        version = (
            f"{record.version_name or 'version'} · model {record.model_id} / version {record.version_id}"
        )
    elif record.site:
        version = f"{record.site}: {record.model_id or ''} {record.version_id or ''}".strip()
    else:
        version = "—"
    local = record.deleted_at.astimezone()
    items = [
        name,
        QStandardItem(version),
        QStandardItem(KIND_LABELS[record.kind]),
        QStandardItem(f"{local:%Y-%m-%d %H:%M}"),
        QStandardItem(record.path),
    ]
    items[4].setToolTip(record.path)
    return items
