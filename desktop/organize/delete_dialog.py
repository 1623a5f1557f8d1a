"""Confirm a delete: which files go to the trash, with which sidecars and previews, and how many bytes.

The list is what the engine will move (the model and its companions), so nothing surprises the user
afterwards; the files go to the system trash and the operation can be undone, which is why "Move to
trash" is the default button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.sizes import human_size


@dataclass(frozen=True, slots=True)
class DeletedItem:
    """A model file (or folder) to delete, with the sidecar and preview files that go with it."""

    path: Path
    size: int
    companions: tuple[tuple[Path, int], ...] = ()

    @property
    def total(self) -> int:
        return self.size + sum(size for _, size in self.companions)


def delete_summary(items: Sequence[DeletedItem]) -> str:
    """ "Move 2 files and 3 sidecars (2.1 GiB) to the trash?" """
    files = len(items)
    companions = sum(len(item.companions) for item in items)
    what = f"{files} file" + ("s" if files != 1 else "")
    if companions:
        what += f" and {companions} sidecar" + ("s" if companions != 1 else "")
    if files == 1:
        what = f"“{items[0].path.name}”" + (
            f" and its {companions} sidecar" + ("s" if companions != 1 else "") if companions else ""
        )
    size = human_size(sum(item.total for item in items))
    return f"Move {what} ({size}) to the trash?"


class DeleteDialog(QDialog):
    """Lists ``items`` (each model with its companions below it) and asks to move them to the trash."""

    def __init__(self, items: Sequence[DeletedItem], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deleteDialog")
        self.setWindowTitle("Delete")
        self.setMinimumSize(560, 320)
        self.items = list(items)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(8)
        self.summary = QLabel(delete_summary(self.items))
        self.summary.setObjectName("detailsTitle")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        note = QLabel(
            "They go to the system trash: Edit › Undo (Ctrl+Z) or the trash brings them back. "
            "The library forgets them until then."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.files = QTreeWidget()
        self.files.setObjectName("deleteFiles")
        self.files.setColumnCount(2)
        self.files.setHeaderLabels(["File", "Size"])
        self.files.setRootIsDecorated(True)
        for item in self.items:
            row = QTreeWidgetItem([item.path.name, human_size(item.size)])
            row.setToolTip(0, str(item.path))
            for companion, size in item.companions:
                child = QTreeWidgetItem([companion.name, human_size(size)])
                child.setToolTip(0, str(companion))
                row.addChild(child)
            self.files.addTopLevelItem(row)
            row.setExpanded(True)
        self.files.header().setStretchLastSection(False)
        self.files.header().resizeSection(0, 400)
        layout.addWidget(self.files, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = self.buttons.addButton("Move to trash", QDialogButtonBox.ButtonRole.AcceptRole)
        self.delete_button.setDefault(True)
        for button in self.buttons.findChildren(QPushButton):  # Enter means this button, never Cancel
            button.setAutoDefault(button is self.delete_button)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.delete_button.setFocus()
