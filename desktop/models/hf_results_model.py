"""Hugging Face search results: one row per repository (the Hub's own ranking, no paging)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from core.sources.hf_records import HfModelSummary

AnyIndex = QModelIndex | QPersistentModelIndex
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1


class HfResultsModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[HfModelSummary] = []

    def set_results(self, rows: list[HfModelSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def summary(self, row: int) -> HfModelSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        summary = self.summary(index.row()) if index.isValid() else None
        if summary is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            gated = "  🔒 gated" if summary.gated else ""
            return f"{summary.repo_id}   ·  {summary.downloads:,} downloads · {summary.likes} likes{gated}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return ", ".join(summary.tags[:20])
        if role == SUMMARY_ROLE:
            return summary
        return None
