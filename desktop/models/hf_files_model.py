"""The files of one Hugging Face repository: path, size, LFS SHA-256 and whether the library has it.

"In library" is decided on the worker that fetched the repository (``find_by_hash`` on each LFS
SHA-256), so painting the table never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex

from core.sources.hf_records import HfFile
from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt
from desktop.widgets.civitai_model_page import human_size

AnyIndex = QModelIndex | QPersistentModelIndex
FILE_ROLE = USER_ROLE + 1


class HfColumn(IntEnum):
    PATH = 0
    SIZE = 1
    SHA256 = 2
    IN_LIBRARY = 3
    DOWNLOAD = 4


HEADERS = ("Path", "Size", "SHA-256", "In library", "")


@dataclass(frozen=True, slots=True)
class HfFileRow:
    file: HfFile
    in_library: bool = False


class HfFilesModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[HfFileRow] = []

    def set_rows(self, rows: list[HfFileRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, number: int) -> HfFileRow | None:
        return self._rows[number] if 0 <= number < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HfColumn)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        row = self.row(index.row()) if index.isValid() else None
        if row is None:
            return None
        file = row.file
        if role == FILE_ROLE:
            return file
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == HfColumn.SHA256:
            return file.sha256
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match HfColumn(index.column()):
            case HfColumn.PATH:
                return file.path
            case HfColumn.SIZE:
                return human_size(file.size)
            case HfColumn.SHA256:
                return file.sha256[:12] if file.sha256 else ""
            case HfColumn.IN_LIBRARY:
                return "✓ In library" if row.in_library else ""
            case HfColumn.DOWNLOAD:
                return ""
        return None
