"""Name conflicts are asked, never overwritten: each conflict with its reason and a choice.

For every file whose target is taken the user picks "Skip" (the file stays where it is) or "Keep both"
(it moves under a free name, ``name (2).ext``); "Cancel" drops the whole operation. A choice at the top
sets every row at once. Nothing here touches the disk: the window turns the answers into a new plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.organize.plan import REASON_EXISTS, REASON_TAKEN


class ConflictLike(Protocol):
    """What the dialog shows of a conflict (``core.organize.plan.Conflict``)."""

    @property
    def source(self) -> Path: ...

    @property
    def target(self) -> Path: ...

    @property
    def reason(self) -> str: ...


class ConflictChoice(Enum):
    SKIP = "Skip"
    KEEP_BOTH = "Keep both"


_CHOICES = (ConflictChoice.SKIP, ConflictChoice.KEEP_BOTH)


def can_keep_both(conflict: ConflictLike) -> bool:
    """A free name helps when a name is taken, not when a folder would go into itself or a name is
    too long for the disk."""
    return getattr(conflict, "code", REASON_EXISTS) in (REASON_EXISTS, REASON_TAKEN)


class ConflictDialog(QDialog):
    """One row per conflict (file, reason, choice); ``choices()`` in the order of ``conflicts``."""

    def __init__(
        self, conflicts: Sequence[ConflictLike], parent: QWidget | None = None, *, verb: str = "move"
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictDialog")
        self.setWindowTitle("Name conflicts")
        self.setMinimumWidth(640)
        self.conflicts = list(conflicts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        count = len(self.conflicts)
        heading = QLabel(
            f"{count} files cannot {verb} without replacing other files"
            if count != 1
            else f"“{self.conflicts[0].source.name}” cannot {verb} without replacing another file"
        )
        heading.setObjectName("detailsTitle")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        intro = QLabel(
            "Nothing is overwritten. Skip leaves a file where it is; Keep both gives it a free name "
            "such as “name (2).safetensors”."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        all_row = QHBoxLayout()
        all_row.addWidget(QLabel("For all:"))
        self.all_choice = QComboBox()
        self.all_choice.setObjectName("conflictAllChoice")
        self.all_choice.addItems(["—", *(choice.value for choice in _CHOICES)])
        self.all_choice.activated.connect(self._set_all)
        all_row.addWidget(self.all_choice)
        all_row.addStretch(1)

        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        self.combos: list[QComboBox] = []
        for row, conflict in enumerate(self.conflicts):
            name = QLabel(conflict.source.name)
            name.setToolTip(f"{conflict.source}\n→ {conflict.target}")
            reason = QLabel(conflict.reason)
            reason.setWordWrap(True)
            reason.setToolTip(str(conflict.target))
            combo = QComboBox()
            combo.addItems([choice.value for choice in _CHOICES])
            if not can_keep_both(conflict):
                combo.model().item(_CHOICES.index(ConflictChoice.KEEP_BOTH)).setEnabled(False)  # type: ignore[attr-defined]
            combo.setAccessibleName(f"Choice for {conflict.source.name}")
            grid.addWidget(name, row, 0)
            grid.addWidget(reason, row, 1)
            grid.addWidget(combo, row, 2)
            self.combos.append(combo)
        grid.setColumnStretch(1, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        scroll.setMinimumHeight(min(320, 40 + 34 * count))
        layout.addWidget(scroll, 1)
        if count > 1:
            layout.addLayout(all_row)
        else:
            self.all_choice.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.continue_button = self.buttons.addButton("Continue", QDialogButtonBox.ButtonRole.AcceptRole)
        self.continue_button.setDefault(True)
        for button in self.buttons.findChildren(QPushButton):  # Enter means this button, never Cancel
            button.setAutoDefault(button is self.continue_button)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if self.combos:
            self.combos[0].setFocus()

    def _set_all(self, index: int) -> None:
        if index <= 0:
            return
        choice = _CHOICES[index - 1]
        for combo, conflict in zip(self.combos, self.conflicts, strict=True):
            if choice is ConflictChoice.SKIP or can_keep_both(conflict):
                combo.setCurrentIndex(index - 1)

    def choices(self) -> list[ConflictChoice]:
        return [_CHOICES[combo.currentIndex()] for combo in self.combos]
