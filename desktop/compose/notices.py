"""The two notices above the preview: combination warnings to confirm, and assets missing from the library.

Both are inline (not modal dialogs): the user reads a warning next to the board it is about, and a
missing asset stays listed, with its hash, while the user goes to fetch it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.compose.service import MissingLike


class WarningBanner(QFrame):
    """Warnings from ``RenderService.prepare``; rendering goes on only through "Render anyway"."""

    confirmed = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composeWarning")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#composeWarning { background: rgba(234, 179, 8, 0.18); }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.render_anyway = QPushButton("Render anyway")
        self.render_anyway.clicked.connect(self._confirm)
        # Not "Cancel": the render controls right below have their own Cancel (stop a running render).
        self.keep_editing = QPushButton("Keep editing")
        self.keep_editing.setToolTip("Do not render; change the board first")
        self.keep_editing.clicked.connect(self._dismiss)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.keep_editing)
        buttons.addWidget(self.render_anyway)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self.hide()

    def show_warnings(self, warnings: Sequence[str]) -> None:
        lines = "".join(f"<li>{_escape(w)}</li>" for w in warnings)
        self.text.setText(f"<b>This combination may not work:</b><ul>{lines}</ul>")
        self.show()

    def _confirm(self) -> None:
        self.hide()
        self.confirmed.emit()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


class MissingRow(QWidget):
    """One missing asset: what and which hash, "Find on Civitai" (when the tab exists) and "Copy hash"."""

    def __init__(self, item: MissingLike, can_search: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.label = QLabel(item.message + (f"\nhash {item.hash}" if item.hash else ""))
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.find_button = QPushButton("Find on Civitai")
        self.find_button.setVisible(can_search)
        self.copy_button = QPushButton("Copy hash" if item.hash else "Copy name")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(item.hash or item.name))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.find_button)
        layout.addWidget(self.copy_button)


class MissingList(QFrame):
    """The assets a pasted or prepared recipe names that the library does not have."""

    find_requested = Signal(str)  # a hash (or the name when there is none) to search Civitai for

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.rows: list[MissingRow] = []
        self.can_search = False
        self.title = QLabel("<b>Not in the library</b>")
        self.rows_layout = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.rows_layout)
        self.hide()

    def show_missing(self, missing: Sequence[MissingLike]) -> None:
        for row in self.rows:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for item in missing:
            row = MissingRow(item, self.can_search)
            query = item.hash or item.name
            row.find_button.clicked.connect(lambda _checked=False, q=query: self.find_requested.emit(q))
            self.rows.append(row)
            self.rows_layout.addWidget(row)
        self.setVisible(bool(self.rows))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
