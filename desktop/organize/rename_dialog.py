"""Rename a library file: its name in a field, the stem selected, what is wrong said under the field.

The model's sidecars and previews follow the new name (the engine renames them with it), so the dialog
only asks for the model's name. A name the disk would refuse, or one already taken in the folder, is
said inline while typing and the Rename button stays off: the user fixes it there instead of meeting an
error after the fact.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.organize.names import name_refusal, with_model_extension

MAX_NAME_BYTES = 255  # ext4, btrfs, XFS, APFS, NTFS (in UTF-16 units, which is never fewer)


def name_problem(name: str, folder: Path, current: str) -> str | None:
    """Why ``name`` cannot replace ``current`` in ``folder``, in one line; None when it can."""
    refusal = name_refusal(name, how_to_move="use Move to… or drag it onto a folder")
    if refusal is not None:
        return f"{refusal[0].upper()}{refusal[1:]}."
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        return f"The name is too long: {size} bytes, at most {MAX_NAME_BYTES}."
    if name != current and os.path.lexists(folder / name):
        # A case-only change of the same file (case-insensitive disks) is the same entry, not a clash.
        same = name.casefold() == current.casefold() and _same_entry(folder / name, folder / current)
        if not same:
            return f"“{name}” already exists in this folder."
    return None


def extension_warning(name: str, current: str, is_folder: bool) -> str | None:
    """A changed extension is allowed but said: tools pick a file's reader by its extension."""
    if is_folder:
        return None
    old, new = Path(current).suffix.lower(), Path(name).suffix.lower()
    if old == new or not name.strip():
        return None
    if not new:
        return f"The name has no extension any more ({old}): other tools may not find this file."
    return f"The extension changes from {old or 'none'} to {new}: tools read the file by its extension."


def _same_entry(first: Path, second: Path) -> bool:
    try:
        return os.path.samestat(first.lstat(), second.lstat())
    except OSError:
        return False


def stem_length(name: str, is_folder: bool) -> int:
    """How much of ``name`` to select: the stem of a file (``a.b.safetensors`` -> ``a.b``), all of a
    folder's name or of a name without an extension."""
    if is_folder:
        return len(name)
    suffix = Path(name).suffix
    return len(name) - len(suffix) if suffix and len(suffix) < len(name) else len(name)


class RenameDialog(QDialog):
    """Asks for a new name for ``path``; ``new_name()`` is the accepted name."""

    def __init__(self, path: Path, parent: QWidget | None = None, *, title: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("renameDialog")
        self.setWindowTitle("Rename")
        self.setMinimumWidth(480)
        self._path = path
        self._is_folder = path.is_dir()  # a diffusers folder: no extension to keep
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(8)
        intro = QLabel(f"New name for {title or path.name}:" if title else "New name:")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.field = QLineEdit(path.name)
        self.field.setObjectName("renameField")
        layout.addWidget(self.field)
        self.problem = QLabel()
        self.problem.setObjectName("renameProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c0392b;")
        layout.addWidget(self.problem)
        self.warning = QLabel()
        self.warning.setObjectName("renameWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b9770e;")
        layout.addWidget(self.warning)
        hint = QLabel("Its sidecars and previews (.json, .civitai.info, .preview.png…) are renamed with it.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        layout.addWidget(hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.rename_button = self.buttons.addButton("Rename", QDialogButtonBox.ButtonRole.AcceptRole)
        self.rename_button.setDefault(True)
        for button in self.buttons.findChildren(QPushButton):  # Enter means this button, never Cancel
            button.setAutoDefault(button is self.rename_button)
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.field.textChanged.connect(self._validate)
        self.field.setSelection(0, stem_length(path.name, self._is_folder))
        self.field.setFocus()
        self._validate()

    def new_name(self) -> str:
        """The name typed, with the model's extension when it was left out (as ``atelier rename``)."""
        typed = self.field.text()
        return typed if self._is_folder else with_model_extension(self._path.name, typed)

    def _problem(self) -> str | None:
        problem = name_problem(self.field.text(), self._path.parent, self._path.name)
        if problem is None and self.new_name() != self.field.text():  # the name the file will have
            problem = name_problem(self.new_name(), self._path.parent, self._path.name)
        return problem

    def _validate(self) -> None:
        problem = self._problem()
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None)
        warning = None if problem else extension_warning(self.new_name(), self._path.name, self._is_folder)
        if warning is None and not problem and self.new_name() != self.field.text():
            warning = f"It keeps its {Path(self._path.name).suffix} extension: {self.new_name()}"
        self.warning.setText(warning or "")
        self.warning.setVisible(warning is not None)
        self.rename_button.setEnabled(problem is None and self.new_name() != self._path.name)

    def _accept_if_valid(self) -> None:
        """Enter in the field presses Rename even when it is off: accept only a usable new name."""
        self._validate()
        if self.rename_button.isEnabled():
            self.accept()
