"""Map a shared library folder on this computer: the window's ``atelier roots map NAME PATH``.

A catalog shared by several computers knows each library folder by its name; each computer says where
it reaches it (``/mnt/nas/sd`` on one, ``Z:\\sd`` on another). The dialog asks for this computer's folder
(typed, or chosen with "Browse…") and hands it to the very function the command calls
(``Library.map_root``), so every check of the command is made here too: a folder that does not exist, one
inside another library folder, one that holds none of the shared folder's files. A refusal is shown in
the dialog, in the library's own sentence, and the dialog stays open to choose again; where the refusal
is only that none of the known files is there (a share not mounted yet), "Map anyway" maps it all the
same, as ``--force`` does.

Only the choice of the path can be replaced (``choose_folder``: tests drive a non-native chooser or
give the folder); the mapping itself is always the library's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from catalog.path_text import shown
from core.errors import AtelierError
from desktop.qt_namespace import Qt

if TYPE_CHECKING:
    from catalog.records import RootRecord

# map_root(name, path, force=...) -> the folder as mapped (``catalog.library.Library.map_root``).
MapRoot = Callable[..., "RootRecord"]
# choose_folder(parent, title, start) -> the chosen folder, "" when cancelled.
ChooseFolder = Callable[[QWidget, str, str], str]


def choose_with_file_dialog(parent: QWidget, title: str, start: str) -> str:
    """The system's folder chooser."""
    return QFileDialog.getExistingDirectory(parent, title, start)


class MapFolderDialog(QDialog):
    """Asks where this computer reaches the shared folder ``root``; maps it on "Map" (see the module)."""

    def __init__(
        self,
        root: RootRecord,
        map_root: MapRoot,
        parent: QWidget | None = None,
        *,
        suggested: str = "",
        choose_folder: ChooseFolder = choose_with_file_dialog,
    ) -> None:
        super().__init__(parent)
        self.root = root
        self._map_root = map_root
        self._choose_folder = choose_folder
        self.mapped: RootRecord | None = None
        name = shown(root.name)
        self.setWindowTitle(f"Map “{name}” on this computer")
        self.setMinimumWidth(560)

        where = shown(root.canonical_path or root.path)
        intro = QLabel(
            f"“{name}” is a library folder other computers share (at {where} on the computer that added "
            "it). Choose the folder where this computer reaches it: the shared drive or network folder as "
            "it is mounted here. Its files are then read here, without hashing them again."
        )
        intro.setWordWrap(True)

        self.path_edit = QLineEdit(suggested)
        self.path_edit.setObjectName("mapFolderPath")
        self.path_edit.setPlaceholderText("The folder on this computer, e.g. /mnt/nas/models")
        self.path_edit.textChanged.connect(self._on_path_changed)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)

        self.problem = QLabel()
        self.problem.setObjectName("mapFolderProblem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.map_button = self.buttons.addButton("Map", QDialogButtonBox.ButtonRole.AcceptRole)
        self.map_button.setDefault(True)
        self.map_anyway_button = self.buttons.addButton("Map anyway", QDialogButtonBox.ButtonRole.ActionRole)
        self.map_anyway_button.setToolTip(
            "Map it although none of the shared folder's files is there yet (a share not mounted yet): "
            "a scan adds nothing until they are"
        )
        self.map_anyway_button.hide()
        self.map_button.clicked.connect(lambda: self.map_folder(force=False))
        self.map_anyway_button.clicked.connect(lambda: self.map_folder(force=True))
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(path_row)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._on_path_changed(suggested)

    def browse(self) -> None:
        """The folder chooser, starting at the folder typed so far; its choice fills the path."""
        start = self.path_edit.text().strip() or str(Path.home())
        chosen = self._choose_folder(self, f"Where this computer reaches “{shown(self.root.name)}”", start)
        if chosen:
            self.path_edit.setText(chosen)

    def map_folder(self, *, force: bool) -> None:
        """Maps the folder through the library; a refusal is shown here and the dialog stays open."""
        text = self.path_edit.text().strip()
        if not text:
            return
        try:
            self.mapped = self._map_root(self.root.name, Path(text), force=force)
        except AtelierError as error:
            self._show_problem(error)
            return
        self.accept()

    def _show_problem(self, error: AtelierError) -> None:
        from catalog.errors import CatalogUnreachableError
        from catalog.known_folder import NotTheSharedFolderError

        if isinstance(error, CatalogUnreachableError):
            from desktop.catalog_guard import not_available

            message = not_available(error)
        else:
            # The command's sentence, said for the window: its option is the button below.
            message = error.message.replace("map it anyway with --force", "map it anyway")
        self.problem.setText(message)
        self.problem.show()
        self.map_anyway_button.setVisible(isinstance(error, NotTheSharedFolderError))
        self.map_anyway_button.setEnabled(True)
        self.adjustSize()  # tall enough for the whole sentence

    def _on_path_changed(self, text: str) -> None:
        self.map_button.setEnabled(bool(text.strip()))
        # "Map anyway" was about the folder refused; the refusal stays in view (nothing moves under the
        # pointer while typing) until the next folder is tried.
        self.map_anyway_button.setEnabled(False)
