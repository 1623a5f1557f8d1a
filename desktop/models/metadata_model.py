"""Key/value rows of a file's embedded metadata (kohya ``ss_*``, ``modelspec.*``) for the details pane.

Values are often JSON blobs (tag frequencies, dataset dirs) thousands of characters long; the model shows
a one-line summary and keeps the full text in the tooltip and ``FULL_TEXT_ROLE`` so the view stays
compact and nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex

from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt

AnyIndex = QModelIndex | QPersistentModelIndex

FULL_TEXT_ROLE = USER_ROLE + 1
SUMMARY_LIMIT = 160
TOOLTIP_LIMIT = 2000


def value_text(value: Any) -> str:
    """A metadata value as text: strings as is, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(value)


class MetadataModel(QAbstractTableModel):
    """Two columns, key and value, sorted by key."""

    HEADERS = ("Key", "Value")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = []

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        self.beginResetModel()
        self._rows = sorted(((str(k), value_text(v)) for k, v in metadata.items()), key=lambda r: r[0])
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 2

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() > 1:
            return None
        text = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            one_line = " ".join(text.split())
            if len(one_line) > SUMMARY_LIMIT:
                return one_line[: SUMMARY_LIMIT - 1] + "…"
            return one_line
        if role == Qt.ItemDataRole.ToolTipRole:
            return text if len(text) <= TOOLTIP_LIMIT else text[:TOOLTIP_LIMIT] + "…"
        if role == FULL_TEXT_ROLE:
            return text
        return None
