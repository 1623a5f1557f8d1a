"""The download queue as a table: one row per download, live progress merged over the stored record.

Rows come from the engine's store (``DownloadManager.records``); progress reports arrive many times a
second through queued signals and only repaint their own row. ``ProgressRole`` gives the percentage (or
-1 when the size is unknown) that the progress bar delegate paints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex

from core.downloads import DownloadProgress, DownloadRecord, DownloadStatus
from core.jobs import Progress
from core.sizes import human_size
from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt

AnyIndex = QModelIndex | QPersistentModelIndex
MIB = 1024 * 1024
PROGRESS_ROLE = USER_ROLE + 1
ID_ROLE = USER_ROLE + 2

STATUS_TEXT = {
    DownloadStatus.QUEUED: "Queued",
    DownloadStatus.RUNNING: "Downloading",
    DownloadStatus.PAUSED: "Paused",
    DownloadStatus.COMPLETED: "Completed",
    DownloadStatus.FAILED: "Failed",
    DownloadStatus.CANCELLED: "Cancelled",
    DownloadStatus.INTERRUPTED: "Interrupted",
}
# A running download that has received no byte for this long says so on its row, and its speed and time
# left stop showing the last figures: a server that died mid-file otherwise left the row frozen at
# "1013 KiB/s · 58 s" until the engine gave up (its tries and waits take up to ~24 s).
SILENT_AFTER_S = 2.0
WAITING_TEXT = "Waiting"  # the Status of a running row that receives nothing now
# Reports arriving for a row in one of these states mean it runs now (the store says so a moment later).
_STARTING = (DownloadStatus.QUEUED, DownloadStatus.INTERRUPTED)


class DownloadColumn(IntEnum):
    NAME = 0
    PROGRESS = 1
    SPEED = 2
    ETA = 3
    STATUS = 4
    ERROR = 5


HEADERS = {
    DownloadColumn.NAME: "File",
    DownloadColumn.PROGRESS: "Progress",
    DownloadColumn.SPEED: "Speed",
    DownloadColumn.ETA: "Time left",
    DownloadColumn.STATUS: "Status",
    DownloadColumn.ERROR: "Error",
}


def format_speed(bytes_per_s: float) -> str:
    if bytes_per_s < MIB:
        return f"{bytes_per_s / 1024:.0f} KiB/s"
    return f"{bytes_per_s / MIB:.1f} MiB/s"


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def silence_text(seconds: float, record: DownloadRecord, live: DownloadProgress | None) -> str:
    """ "No data for 5 s — waiting for files.example.net…": what a row receiving nothing says. It names
    whoever the bytes come from as the retry messages do (the file host a redirect led to, "the file host
    Civitai pointed to"), not the link's host: Civitai's API hands the download to a CDN, and the CDN is
    the one that stalls. Before any try has been answered only the link's host is known."""
    if live is not None and live.reading_from:
        return f"No data for {seconds:.0f} s — waiting for {live.reading_from}…"
    try:
        host = urlsplit(record.url).netloc or "the server"
    except ValueError:
        host = "the server"
    return f"No data for {seconds:.0f} s — waiting for {host}…"


SHOW_IN_LIBRARY_HINT = "Double-click to show it in the library"


def tooltip(record: DownloadRecord) -> str:
    """The row's tooltip: the error of a failed download, what happens to an interrupted one, the path;
    a completed one's file and what a double-click does with it."""
    where = str(record.completed_path or record.target_dir)
    if record.status is DownloadStatus.COMPLETED and record.completed_path is not None:
        return f"{record.completed_path}\n{SHOW_IN_LIBRARY_HINT}"
    if record.status is DownloadStatus.INTERRUPTED:
        kept = human_size(record.bytes_done) if record.bytes_done else "nothing"
        return f"Atelier stopped while this was downloading; {kept} kept, it continues by itself.\n{where}"
    if record.status is DownloadStatus.CANCELLED:
        return f"Cancelled by you; its partial file was deleted, Retry starts over.\n{where}"
    if record.status is DownloadStatus.PAUSED and not record.error:
        kept = human_size(record.bytes_done) if record.bytes_done else "nothing"
        return f"Stopped by you; {kept} kept, Resume continues it.\n{where}"
    if record.error:
        return f"{record.error}\n{where}"
    return where


class DownloadsModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._records: list[DownloadRecord] = []
        self._live: dict[int, DownloadProgress] = {}
        self._clock = clock
        # When each running download last received bytes (or started to be heard of), by the clock.
        self._heard_at: dict[int, float] = {}
        # The engine's last word on a running download between tries ("The connection to … was lost —
        # trying again in 2 s (try 2 of 5)…"), until bytes arrive again.
        self._notes: dict[int, str] = {}

    def set_records(self, records: list[DownloadRecord]) -> None:
        """Replaces the rows; keeps the selection stable by inserting/removing only when the ids change."""
        ids = [r.id for r in records]
        if ids != [r.id for r in self._records]:
            self.beginResetModel()
            self._records = list(records)
            self.endResetModel()
        else:
            self._records = list(records)
            if records:
                self.dataChanged.emit(self.index(0, 0), self.index(len(records) - 1, len(DownloadColumn) - 1))
        running = {r.id for r in records if r.status in (*_STARTING, DownloadStatus.RUNNING)}
        # A paused row keeps its last report: the store learns the bytes only every few seconds and when
        # the stopped try has ended, so a download paused while it received nothing read "0 B" meanwhile.
        paused = {r.id for r in records if r.status is DownloadStatus.PAUSED}
        self._live = {key: value for key, value in self._live.items() if key in running | paused}
        self._heard_at = {key: value for key, value in self._heard_at.items() if key in running}
        self._notes = {key: value for key, value in self._notes.items() if key in running}

    def update_progress(self, download_id: int, progress: Progress) -> None:
        """A report from the engine: bytes (a ``DownloadProgress``), or a plain ``Progress`` with only
        words, the wait before its next try, which the row shows until bytes arrive again."""
        before = self._live.get(download_id)
        if isinstance(progress, DownloadProgress):
            self._live[download_id] = progress
            if before is None or progress.done != before.done or download_id not in self._heard_at:
                self._heard_at[download_id] = self._clock()
                self._notes.pop(download_id, None)
        elif progress.message:
            self._notes[download_id] = progress.message
            self._heard_at.setdefault(download_id, self._clock())
        else:
            return
        row = self.row_of(download_id)
        if row is not None:
            record = self._records[row]
            if record.status in _STARTING:
                self._records[row] = replace(record, status=DownloadStatus.RUNNING)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(DownloadColumn) - 1))

    def silent_for(self, record: DownloadRecord) -> float | None:
        """Seconds a running download has received nothing, once that is ``SILENT_AFTER_S`` or more."""
        heard = self._heard_at.get(record.id)
        if record.status is not DownloadStatus.RUNNING or heard is None:
            return None
        silent = self._clock() - heard
        return silent if silent >= SILENT_AFTER_S else None

    def tick(self) -> None:
        """Repaints the running rows (a timer's call): a silence is said as it grows, without a report."""
        for row, record in enumerate(self._records):
            if record.id in self._heard_at:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(DownloadColumn) - 1))

    def row_of(self, download_id: int) -> int | None:
        return next((row for row, r in enumerate(self._records) if r.id == download_id), None)

    def record(self, row: int) -> DownloadRecord | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(DownloadColumn)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(DownloadColumn):
            return HEADERS[DownloadColumn(section)]
        return None

    def _done_total(self, record: DownloadRecord) -> tuple[int, int | None]:
        live = self._live.get(record.id)
        if live is not None and record.status is DownloadStatus.PAUSED:
            return max(live.done, record.bytes_done), live.total or record.total or record.expected_size
        if live is not None:
            return live.done, live.total
        return record.bytes_done, record.total or record.expected_size

    def percent(self, record: DownloadRecord) -> int | None:
        """The bar's percentage; None draws no bar: a cancelled download's .part is deleted, so the
        bytes it had are gone and a bar would say otherwise."""
        if record.status is DownloadStatus.CANCELLED:
            return None
        if record.status is DownloadStatus.COMPLETED:
            return 100
        done, total = self._done_total(record)
        if not total:
            # Qt's moving "busy" bar only while bytes arrive; a stopped download of unknown size is empty.
            return -1 if record.status is DownloadStatus.RUNNING else 0
        return min(100, int(done * 100 / total))

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        record = self.record(index.row()) if index.isValid() else None
        if record is None:
            return None
        column = DownloadColumn(index.column())
        if role == ID_ROLE:
            return record.id
        if role == PROGRESS_ROLE:
            return self.percent(record)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(record)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        live = self._live.get(record.id) if record.status is DownloadStatus.RUNNING else None
        silent = self.silent_for(record)
        note = self._notes.get(record.id) if record.status is DownloadStatus.RUNNING else None
        waiting = silent is not None or note is not None
        last_report = live
        if waiting:
            live = None  # the last speed and time left are no longer true
        match column:
            case DownloadColumn.NAME:
                return record.file_name or record.suggested_name or record.url
            case DownloadColumn.PROGRESS:
                if record.status is DownloadStatus.CANCELLED:
                    return "Cancelled"  # the tooltip says what that left: nothing
                done, total = self._done_total(record)
                return f"{human_size(done)} / {human_size(total)}" if total else human_size(done)
            case DownloadColumn.SPEED if waiting:
                return format_speed(0)
            case DownloadColumn.SPEED:
                return format_speed(live.bytes_per_s) if live is not None else ""
            case DownloadColumn.ETA:
                return format_eta(live.eta_s) if live is not None else ""
            case DownloadColumn.STATUS:
                return WAITING_TEXT if waiting else STATUS_TEXT[record.status]
            case DownloadColumn.ERROR if waiting:
                if note is None:
                    return silence_text(silent or 0.0, record, last_report)
                return f"No data for {silent:.0f} s · {note}" if silent is not None else note
            case DownloadColumn.ERROR:
                return record.error or ""
        return None
