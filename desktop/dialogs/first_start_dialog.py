"""The first-start offer: "we found these model folders, add them to your library?".

Most users already have an A1111, ComfyUI or Forge install; discovering its folders and pre-checking
them turns an empty first window into a populated library with one click, while leaving every choice
(and declining) to the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.layouts import TOOL_NAMES
from core.taxonomy import LibraryLayout
from desktop.qt_namespace import USER_ROLE, Qt
from desktop.services import DiscoveredEntry


def layout_name(layout: str) -> str:
    """A library folder's layout as the window names it (``core.layouts.TOOL_NAMES``, the messages'
    words too); an unknown value as it is."""
    try:
        return TOOL_NAMES[LibraryLayout(layout)]
    except ValueError:
        return layout


def count_text(model_files: int, complete: bool) -> str:
    """ "34 model files", "1000+ model files": the count the folder search made (it stops at a cap or
    when its time is up), so a user recognises the install at a glance."""
    plus = "" if complete else "+"
    noun = "model file" if model_files == 1 and complete else "model files"
    return f"{model_files}{plus} {noun}"


PATH_ROLE = USER_ROLE + 1


class FirstStartDialog(QDialog):
    """Lists discovered folders, each checked; ``chosen_paths`` are the ones left checked."""

    def __init__(self, discovered: Sequence[DiscoveredEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Atelier")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)

        heading = QLabel("Add your model folders")
        heading.setObjectName("detailsTitle")
        layout.addWidget(heading)
        intro = QLabel(
            "Atelier found these folders of an existing Stable Diffusion install. Checked folders are "
            "added to your library and scanned; files stay where they are."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.folders = QListWidget(self)
        self.folders.setAlternatingRowColors(True)
        for entry in discovered:
            path, layout_value = entry[0], entry[1]
            counted = f",  {count_text(entry[2], entry[3])}" if len(entry) == 4 else ""
            item = QListWidgetItem(f"{path}    —  {layout_name(layout_value)}{counted}")
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.folders.addItem(item)
        layout.addWidget(self.folders)

        hint = QLabel("You can add or remove folders later in Settings or with File › Add library folder.")
        hint.setProperty("class", "muted")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        buttons = QDialogButtonBox(self)
        self.add_button = buttons.addButton("Add to library", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        self.add_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen_paths(self) -> list[Path]:
        return [
            Path(item.data(PATH_ROLE))
            for item in (self.folders.item(row) for row in range(self.folders.count()))
            if item.checkState() == Qt.CheckState.Checked
        ]
