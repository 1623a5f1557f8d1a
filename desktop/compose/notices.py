"""The two notices above the preview: combination warnings to confirm, and assets missing from the library.

Both are inline (not modal dialogs): the user reads a warning next to the board it is about, and a
missing asset stays listed, with its hash, while the user goes to fetch it (and while the board still
names it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.compose.service import MissingLike
from desktop.labels import kind_label
from desktop.qt_namespace import Qt
from desktop.widgets.trigger_words_view import copy_button
from desktop.widgets.vertical_scroll import VerticalScrollArea
from desktop.widgets.wrap_label import WrapLabel


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


MISSING_ROWS_MAX_HEIGHT = 120  # about three rows; more scroll inside the list, the board keeps its room


def missing_text(item: MissingLike) -> str:
    """ "Checkpoint 'someckpt' (hash abcdef1234)": what is missing, naming the hash once."""
    label = f"{kind_label(item.kind)} '{item.name}'"
    return f"{label} (hash {item.hash})" if item.hash else label


def missing_sentence(items: Sequence[MissingLike]) -> str:
    """One status line for what stops a render: "Checkpoint 'x' (hash y) is not in the library"."""
    return "; ".join(f"{missing_text(item)} is not in the library" for item in items)


class MissingRow(QWidget):
    """One missing asset: what and which hash, "Find on Civitai" (when the tab exists) and "Copy hash"."""

    def __init__(self, item: MissingLike, can_search: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.label = WrapLabel(missing_text(item), selectable=True)
        self.find_button = QPushButton("Find on Civitai")
        by_what = "its hash" if item.hash else "its name"
        self.find_button.setToolTip(f"Search Civitai for this {kind_label(item.kind)} by {by_what}")
        self.copy_button = copy_button("Copy the hash" if item.hash else "Copy the name")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(item.hash or item.name))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.find_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        self.set_can_search(can_search)

    def set_can_search(self, can_search: bool) -> None:
        """Shows "Find on Civitai" (and says so in the tooltip) when the Civitai tab exists."""
        by_what = "its hash" if self.item.hash else "its name"
        self.label.setToolTip(
            f"{missing_text(self.item)} is not in the library"
            + (f"; Find on Civitai looks it up by {by_what}" if can_search else "")
        )
        self.find_button.setVisible(can_search)


class MissingList(QFrame):
    """The assets a pasted or prepared recipe names that the library does not have.

    Compact on purpose: a header that folds the list ("3 assets not in the library ▸") and rows that
    scroll inside a capped height, so a long recipe does not push the board out of its dock. Rows go
    when the board stops naming their asset (cleared, or another checkpoint placed): see ``prune``.
    """

    find_requested = Signal(str)  # a hash (or the name when there is none) to search Civitai for

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missingList")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.rows: list[MissingRow] = []
        self._can_search = False
        self.toggle = QToolButton()
        self.toggle.setObjectName("missingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setToolTip("Show or hide the list")
        self.toggle.toggled.connect(self._on_toggled)
        self.body = QWidget()
        self.rows_layout = QVBoxLayout(self.body)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.addStretch(1)
        self.rows_area = VerticalScrollArea(self.body)
        self.rows_area.setObjectName("missingScroll")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 6)
        layout.setSpacing(2)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.rows_area)
        self.hide()

    @property
    def can_search(self) -> bool:
        """Whether rows offer "Find on Civitai" (the Civitai tab exists)."""
        return self._can_search

    @can_search.setter
    def can_search(self, available: bool) -> None:
        """Rows already listed follow too: the board restored at start is listed before the window
        has built its Civitai tab."""
        self._can_search = available
        for row in self.rows:
            row.set_can_search(available)

    @property
    def items(self) -> list[MissingLike]:
        return [row.item for row in self.rows]

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
            self.rows_layout.insertWidget(self.rows_layout.count() - 1, row)
            row.show()  # now, not at the next event: the list's height below counts only shown rows
        self.toggle.setChecked(True)
        self._update()

    def prune(self, still_needed: Callable[[MissingLike], bool]) -> bool:
        """Drops the rows whose asset the board no longer names; returns whether any went."""
        gone = [row for row in self.rows if not still_needed(row.item)]
        for row in gone:
            self.rows.remove(row)
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        if gone:
            self._update()
        return bool(gone)

    def _on_toggled(self, expanded: bool) -> None:
        self.rows_area.setVisible(expanded)
        self._update_title()

    def _update(self) -> None:
        self._update_title()
        self.rows_area.setVisible(self.toggle.isChecked())
        self.body.adjustSize()
        height = self.body.sizeHint().height()
        self.rows_area.setFixedHeight(min(height, MISSING_ROWS_MAX_HEIGHT))
        self.setVisible(bool(self.rows))

    def _update_title(self) -> None:
        count = len(self.rows)
        noun = "asset" if count == 1 else "assets"
        self.toggle.setText(f"{count} {noun} not in the library")
        expanded = self.toggle.isChecked()
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
