"""Library › Deleted files…: what the user deleted from the library, remembered so a download of the same
Civitai version or the same bytes is questioned ("you deleted this version on …"). "Forget" drops the
selected entries from that memory (nothing on disk changes: the files are in the system trash already).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt
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

from catalog.records import DeletedFileRecord
from desktop.labels import KIND_LABELS

COLUMNS = ("Name", "Civitai model / version", "Kind", "Deleted", "Path")
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class DeletedFilesLibrary(Protocol):
    def deleted_files(self, limit: int | None = None) -> Sequence[DeletedFileRecord]: ...

    def forget_deleted(self, ids: Sequence[int], /) -> int: ...


class DeletedFilesDialog(QDialog):
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
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_forget())
        self.reload()

    def reload(self) -> None:
        records = list(self._library.deleted_files())
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

    def _update_forget(self) -> None:
        self.forget.setEnabled(bool(self.table.selectionModel().selectedRows()))


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
