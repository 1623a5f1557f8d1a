"""Edit › Operation history: the recent moves, renames, deletes and undos, their state, and Undo.

The list is the catalog's operations journal (newest first), so it also shows what the CLI or an
organize run did, and whether a step failed or a crash was rolled back on start. Undo here undoes the
chosen operation (not only the newest), through the window's file actions so it runs as a job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.qt_namespace import USER_ROLE

if TYPE_CHECKING:
    from catalog.journal import OperationRecord, StepRecord
    from catalog.library import Library

HISTORY_LIMIT = 50
_ID_ROLE = USER_ROLE + 1

STATE_LABELS = {
    "applying": "Running",
    "done": "Done",
    "failed": "Failed",
    "rolled_back": "Rolled back",
    "undone": "Undone",
}


def when_text(moment: datetime, now: datetime | None = None) -> str:
    """ "Today 14:02", "3 Dec 14:02" this year, "3 Dec 2025 14:02" before (local time)."""
    local = moment.astimezone() if moment.tzinfo is not None else moment
    today = (now or datetime.now().astimezone()).date()
    if local.date() == today:
        return local.strftime("Today %H:%M")
    return local.strftime("%-d %b %H:%M" if local.year == today.year else "%-d %b %Y %H:%M")


_COUNTED = re.compile(r"^(?P<verb>(?:Undo: )?[A-Z][a-z]+) (?P<count>\d+) files?$")


def operation_title(label: str, files: Sequence[str]) -> str:
    """The operation's label naming its files: the journal's steps give the names a bare label (the
    CLI's "Move 3 files") lacks, as "Move add_detail.safetensors (+2 more)"; a label that names a file
    already is kept, another one gets the names after it ("Trash 5 duplicates: a.safetensors (+4 more)")."""
    names = list(dict.fromkeys(files))
    if not names:
        return label
    named = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} more)"
    counted = _COUNTED.match(label)
    if counted is not None:
        return f"{counted['verb']} {named}"
    if any(name in label for name in names):
        return label
    return f"{label}: {named}" if label else named


def can_undo_operation(operation: OperationRecord) -> bool:
    """What ``app.organize.engine.undo`` accepts: a finished operation (not an undo) with done steps."""
    from app.organize.engine import UNDO
    from catalog.journal import DONE, FAILED

    return operation.kind != UNDO and operation.state in (DONE, FAILED) and operation.done_count > 0


def files_text(operation: OperationRecord) -> str:
    """How many files it moved; "2 of 3" while running or when some failed (an undone operation's
    steps are no longer done, but it did move them all)."""
    partial = operation.state in ("applying", "failed")
    if partial and operation.done_count != operation.step_count:
        return f"{operation.done_count} of {operation.step_count}"
    return str(operation.step_count)


class HistoryDialog(QDialog):
    """Recent operations, newest first; Undo for the selected one when it can be undone."""

    undo_requested = Signal(int)  # operation id

    def __init__(
        self,
        library: Library,
        parent: QWidget | None = None,
        *,
        operations: Callable[[Library, int], list[OperationRecord]] | None = None,
        can_undo: Callable[[Library, OperationRecord], bool] | None = None,
        steps: Callable[[Library, int], Sequence[StepRecord]] | None = None,
    ) -> None:
        super().__init__(parent)
        from app.organize.engine import recent_operations

        self.setObjectName("historyDialog")
        self.setWindowTitle("Operation history")
        self.resize(900, 480)
        self._library = library
        self._operations = operations or (lambda lib, limit: list(recent_operations(lib, limit=limit)))
        self._can_undo = can_undo or (lambda _library, operation: can_undo_operation(operation))
        self._steps = steps or (lambda lib, operation_id: lib.operation_steps(operation_id))
        self._undoable: set[int] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        intro = QLabel(
            "Moves, renames and deletes made here or on the command line; undo one to put its files back."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QTreeWidget()
        self.list.setObjectName("historyList")
        self.list.setRootIsDecorated(False)
        self.list.setColumnCount(4)
        self.list.setHeaderLabels(["Operation", "When", "Files", "State"])
        self.list.setAlternatingRowColors(True)
        self.list.setUniformRowHeights(True)
        # Room around each row: a dense journal of look-alike labels is hard to read at the default.
        self.list.setStyleSheet("QTreeView::item { padding: 4px 6px; }")
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(lambda *_: self._sync_button())
        self.list.itemDoubleClicked.connect(lambda *_: self._undo_selected())
        layout.addWidget(self.list, 1)
        self.empty = QLabel("Nothing has been moved, renamed or deleted yet.")
        self.empty.setEnabled(False)
        layout.addWidget(self.empty)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.undo_button = self.buttons.addButton("Undo", QDialogButtonBox.ButtonRole.ActionRole)
        self.undo_button.clicked.connect(self._undo_selected)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def refresh(self) -> None:
        """Re-reads the journal; the selected operation stays selected."""
        selected = self.selected_id()
        self.list.clear()
        self._undoable.clear()
        for operation in self._operations(self._library, HISTORY_LIMIT):
            files = [PurePath(step.source).name for step in self._steps(self._library, operation.id)]
            label = operation_title(operation.label or operation.kind.capitalize(), files)
            state = STATE_LABELS.get(operation.state, operation.state)
            item = QTreeWidgetItem([label, when_text(operation.created_at), files_text(operation), state])
            item.setData(0, _ID_ROLE, operation.id)
            item.setToolTip(0, label)
            item.setToolTip(1, operation.created_at.astimezone().strftime("%A %-d %B %Y, %H:%M:%S"))
            if self._can_undo(self._library, operation):
                self._undoable.add(operation.id)
            self.list.addTopLevelItem(item)
            if operation.id == selected:
                self.list.setCurrentItem(item)
        newest = self.list.topLevelItem(0)
        if self.list.currentItem() is None and newest is not None:
            self.list.setCurrentItem(newest)
        self.empty.setVisible(self.list.topLevelItemCount() == 0)
        self._sync_button()

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        value = item.data(0, _ID_ROLE) if item is not None else None
        return value if isinstance(value, int) else None

    def _sync_button(self) -> None:
        selected = self.selected_id()
        self.undo_button.setEnabled(selected is not None and selected in self._undoable)

    def _undo_selected(self) -> None:
        selected = self.selected_id()
        if selected is not None and selected in self._undoable:
            self.undo_button.setEnabled(False)  # until the journal says how it went
            self.undo_requested.emit(selected)
