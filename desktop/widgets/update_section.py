"""The details pane's "Update available" section: the newer Civitai version of the shown file, what changed,
and the two things to do about it ("Download beside", "Ignore this update").

The section knows nothing of Civitai or downloads: a provider (set by ``desktop.organize.updates_actions``)
says which update an asset has, from the catalog, and the buttons only emit the asset's id. Without a
provider, or for a file without an update, the section is hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.sizes import human_size
from desktop.widgets.wrap_label import WrapLabel

if TYPE_CHECKING:
    from catalog.records import AssetRecord
    from catalog.updates import AssetUpdate

UpdateProvider = Callable[[int], "AssetUpdate | None"]
MAX_CHANGES_CHARS = 1200

_STYLE = """
QFrame#updateSection {
    background: rgba(37, 99, 235, 0.10);
    border: 1px solid rgba(37, 99, 235, 0.55);
    border-radius: 6px;
}
QLabel#updateTitle { font-weight: 600; color: #2563eb; }
"""


def version_line(update: AssetUpdate) -> str:
    """ "v2 · published 2024-05-01 · SD 1.5" for the newest version."""
    new = update.newest
    parts = [new.name or f"version {new.id}"]
    if new.published_at is not None:
        parts.append(f"published {new.published_at.date().isoformat()}")
    if new.base_model:
        parts.append(new.base_model)
    file = new.primary_file
    if file is not None and file.size_bytes:
        parts.append(human_size(file.size_bytes))
    return " · ".join(parts)


def current_line(update: AssetUpdate) -> str:
    current = update.current_version_name or f"version {update.current_version_id}"
    more = f" — {len(update.newer)} newer versions" if len(update.newer) > 1 else ""
    return f"You have {current} of {update.model_name}{more}."


def changes_text(update: AssetUpdate) -> str:
    text = update.newest.changes.strip()
    if not text:
        return "The author wrote no notes for this version."
    return text if len(text) <= MAX_CHANGES_CHARS else text[: MAX_CHANGES_CHARS - 1] + "…"


class UpdateSection(QFrame):
    """Hidden unless the shown file has an update; its buttons emit the asset's id."""

    download_requested = Signal(int)
    ignore_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("updateSection")
        self.setStyleSheet(_STYLE)
        self._provider: UpdateProvider | None = None
        self._update: AssetUpdate | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(4)
        self.title = QLabel("Update available")
        self.title.setObjectName("updateTitle")
        layout.addWidget(self.title)
        self.version = WrapLabel(selectable=True)
        layout.addWidget(self.version)
        self.current = WrapLabel()
        self.current.setProperty("class", "muted")
        layout.addWidget(self.current)
        changes_title = QLabel("What changed")
        changes_title.setProperty("class", "muted")
        layout.addWidget(changes_title)
        self.changes = WrapLabel(selectable=True)
        layout.addWidget(self.changes)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 4, 0, 0)
        self.download_button = QPushButton("Download beside")
        self.download_button.setToolTip(
            "Download the new version into the folder of this file (the old one stays)"
        )
        self.download_button.clicked.connect(self._on_download)
        self.ignore_button = QPushButton("Ignore this update")
        self.ignore_button.setToolTip(
            "Hide this version's badge on every file of this model; a still newer version shows again"
        )
        self.ignore_button.clicked.connect(self._on_ignore)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.ignore_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.hide()

    @property
    def shown_update(self) -> AssetUpdate | None:
        """The update shown (None while hidden)."""
        return self._update

    def set_provider(self, provider: UpdateProvider | None) -> None:
        self._provider = provider

    def show_for(self, record: AssetRecord | None) -> None:
        """Shows the update of ``record`` when it has one, else hides."""
        found = self._provider(record.id) if record is not None and self._provider is not None else None
        self.show_update(found)

    def show_update(self, update: AssetUpdate | None) -> None:
        self._update = update
        if update is None:
            self.hide()
            return
        self.version.setText(version_line(update))
        self.current.setText(current_line(update))
        self.changes.setText(changes_text(update))
        self.set_busy(False)
        self.show()

    def set_busy(self, busy: bool, text: str = "Downloading…") -> None:
        """While the download runs, the buttons wait (the status bar shows progress and Cancel)."""
        self.download_button.setEnabled(not busy)
        self.ignore_button.setEnabled(not busy)
        self.download_button.setText(text if busy else "Download beside")

    def _on_download(self) -> None:
        if self._update is not None:
            self.download_requested.emit(self._update.asset_id)

    def _on_ignore(self) -> None:
        if self._update is not None:
            self.ignore_requested.emit(self._update.asset_id)
