"""The Downloads tab: the queue as a table with progress bars, and buttons acting on the selection."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.downloads import DownloadStatus
from core.jobs import Progress
from desktop.delegates.progress_delegate import ProgressDelegate
from desktop.download_manager import DownloadManager
from desktop.models.downloads_model import DownloadColumn, DownloadsModel


class DownloadsTab(QWidget):
    """Shows ``DownloadManager``'s queue; ``active_count_changed`` feeds the tab's badge."""

    active_count_changed = Signal(int)

    def __init__(self, manager: DownloadManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.model = DownloadsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(DownloadColumn.PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(DownloadColumn.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(DownloadColumn.ERROR, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(DownloadColumn.PROGRESS, 220)

        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.pause_button.clicked.connect(lambda: self._each(manager.pause))
        self.resume_button.clicked.connect(lambda: self._each(manager.resume))
        self.cancel_button.clicked.connect(lambda: self._each(manager.cancel))
        self.retry_button.clicked.connect(lambda: self._each(manager.retry))
        self.summary = QLabel()
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.cancel_button, self.retry_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

        manager.changed.connect(self._on_changed)
        manager.progressed.connect(self._on_progressed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._on_changed()

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [record.id for record in (self.model.record(row) for row in rows) if record is not None]

    def _each(self, action: Callable[[int], None]) -> None:
        for download_id in self.selected_ids():
            action(download_id)

    def _on_changed(self) -> None:
        self.model.set_records(self.manager.records())
        count = self.manager.active_count()
        self.summary.setText(f"{count} active" if count else "")
        self.active_count_changed.emit(count)
        self._update_buttons()

    def _on_progressed(self, download_id: int, progress: Progress) -> None:
        self.model.update_progress(download_id, progress)

    def _update_buttons(self) -> None:
        statuses = {
            record.status
            for record in (
                self.model.record(index.row()) for index in self.table.selectionModel().selectedRows()
            )
            if record is not None
        }
        active = {DownloadStatus.QUEUED, DownloadStatus.RUNNING}
        stopped = {DownloadStatus.PAUSED, DownloadStatus.FAILED}
        self.pause_button.setEnabled(bool(statuses & active))
        self.resume_button.setEnabled(bool(statuses & {DownloadStatus.PAUSED}))
        self.cancel_button.setEnabled(bool(statuses & (active | stopped)))
        self.retry_button.setEnabled(bool(statuses & {DownloadStatus.FAILED, DownloadStatus.CANCELLED}))
