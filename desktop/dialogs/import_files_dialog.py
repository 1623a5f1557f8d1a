"""The one question asked when model files are dropped on the library: copy them in, or catalog them
where they are.

Copying puts each file in the folder of its kind inside a chosen library folder (A1111 ``models/Lora``,
ComfyUI ``models/loras``...), so the user's other tools see it too. Cataloging in place leaves the
files alone: a file already inside a library folder is simply rescanned, any other brings its folder in
as a new library folder (the dialog names those folders, since everything in them is cataloged).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.download_paths import choose_root
from catalog.records import RootRecord

MAX_NAMES = 6


class ImportFilesDialog(QDialog):
    """``copy_chosen()`` and ``chosen_root()`` tell the answer after ``exec()`` returns Accepted."""

    def __init__(
        self,
        models: Sequence[Path],
        roots: Sequence[RootRecord],
        new_folders: Sequence[Path],
        parent: QWidget | None = None,
        *,
        download_root: str = "",
    ) -> None:
        """``download_root`` is the download folder of the settings: copies go there by default, as
        downloads do (else to the first library folder added)."""
        super().__init__(parent)
        self.setWindowTitle("Add to the library")
        self._roots = list(roots)
        names = [path.name for path in models[:MAX_NAMES]]
        more = f" and {len(models) - MAX_NAMES} more" if len(models) > MAX_NAMES else ""
        summary = QLabel(f"<b>{len(models)} model(s):</b> " + ", ".join(names) + more)
        summary.setWordWrap(True)

        self.copy_option = QRadioButton("Copy into a library folder (each file into the folder for its kind)")
        self.root_choice = QComboBox()
        for root in self._roots:
            self.root_choice.addItem(root.path, root.id)
        if self._roots:
            default = choose_root(self._roots, download_root)
            self.root_choice.setCurrentIndex(self.root_choice.findData(default.id))
        self.in_place_option = QRadioButton("Catalog them where they are")
        where = (
            "Adds as library folder(s): " + ", ".join(str(f) for f in new_folders)
            if new_folders
            else "They are already inside your library folders: they are rescanned."
        )
        self.in_place_note = QLabel(where)
        self.in_place_note.setWordWrap(True)
        self.in_place_note.setProperty("secondary", True)
        group = QButtonGroup(self)
        group.addButton(self.copy_option)
        group.addButton(self.in_place_option)
        can_copy = bool(self._roots)
        self.copy_option.setEnabled(can_copy)
        self.root_choice.setEnabled(can_copy)
        if not can_copy:
            self.copy_option.setToolTip("Add a library folder first to copy files into it")
        (self.copy_option if can_copy else self.in_place_option).setChecked(True)
        self.copy_option.toggled.connect(self.root_choice.setEnabled)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addSpacing(6)
        layout.addWidget(self.copy_option)
        layout.addWidget(self.root_choice)
        layout.addWidget(self.in_place_option)
        layout.addWidget(self.in_place_note)
        layout.addWidget(QLabel("Then they are scanned and hashed in the background."))
        layout.addWidget(buttons)
        self.setMinimumWidth(480)

    def copy_chosen(self) -> bool:
        return self.copy_option.isChecked()

    def chosen_root(self) -> RootRecord | None:
        root_id = self.root_choice.currentData()
        return next((root for root in self._roots if root.id == root_id), None)
