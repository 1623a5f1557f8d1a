"""Shown before the window when the library's catalog cannot be opened: missing, unreadable, damaged.

The catalog holds the user's ratings, notes, collections and Civitai links; a window that quietly
started an empty library over it would lose them. So the window waits, says what is wrong in one
sentence, and offers the three ways on: copy in another catalog file (a backup), start a new empty
library (the old file is moved aside, never deleted), or quit and look at it first. In a read-only data
folder only quitting is possible, and the two other buttons say why they are off.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class CatalogChoice(Enum):
    QUIT = "quit"
    NEW = "new"  # a new empty library
    RESTORE = "restore"  # copy ``chosen_file`` in as the catalog


class CatalogProblemDialog(QDialog):
    """The problem, and the user's choice in ``choice`` (``chosen_file`` for RESTORE)."""

    def __init__(
        self,
        message: str,
        data_dir: Path,
        *,
        can_change: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("The library cannot be opened")  # Qt adds " — Atelier"
        self.setMinimumWidth(620)
        self.data_dir = data_dir
        self.choice = CatalogChoice.QUIT
        self.chosen_file: Path | None = None
        self.file_dialog: QFileDialog | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        heading = QLabel("Your library's catalog cannot be opened")
        heading.setObjectName("detailsTitle")
        layout.addWidget(heading)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        backups = sorted(path.name for path in data_dir.glob("*.before-*.bak"))
        text = "Nothing has been changed. The catalog holds your ratings, notes, collections and site links."
        if backups:
            text += f" The data folder holds a copy made before an update: {backups[-1]}."
        if not can_change:
            text += " The data folder is read-only, so a catalog can be neither restored nor started here."
        hint = QLabel(text)
        hint.setProperty("class", "muted")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        buttons = QHBoxLayout()
        self.choose_button = QPushButton("Choose another catalog file…")
        self.choose_button.setToolTip("Copy a backup of the catalog into the data folder and open it")
        self.new_button = QPushButton("Start a new empty library")
        self.new_button.setToolTip(
            "The current file, if any, is kept next to it as catalog.sqlite3.set-aside-…"
        )
        self.quit_button = QPushButton("Quit")
        for button in (self.choose_button, self.new_button):
            button.setEnabled(can_change)
            if not can_change:
                button.setToolTip("The data folder is read-only")
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        layout.addLayout(buttons)
        self.quit_button.setDefault(True)

        self.choose_button.clicked.connect(self.choose_file)
        self.new_button.clicked.connect(self._start_new)
        self.quit_button.clicked.connect(self.reject)

    def choose_file(self) -> None:
        """Ask for a catalog file (Qt's own dialog, the same on every platform and in tests)."""
        dialog = QFileDialog(self, "Choose a catalog file", str(self.data_dir))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilters(["Atelier catalogs (*.sqlite3 *.sqlite3.* *.bak *.db)", "All files (*)"])
        self.file_dialog = dialog
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
                return
            self.chosen_file = Path(dialog.selectedFiles()[0])
        finally:
            self.file_dialog = None
        self.choice = CatalogChoice.RESTORE
        self.accept()

    def _start_new(self) -> None:
        self.choice = CatalogChoice.NEW
        self.accept()
