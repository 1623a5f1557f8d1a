"""The compose board as a panel the window docks beside the library, so dragging a model onto it needs
no tab switch: the board in a scroll area, its buttons, the last message about a drop, and Render.

The whole panel is one drop target. Whatever part of it the pointer is over, a drag of library rows or
of files from a file manager is handed to the board, which lights the slots the items will land in and,
on release, routes each one by its kind.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.compose.board import ComposeBoard
from desktop.compose.notices import MissingList
from desktop.compose.plan_view import PlanView
from desktop.widgets.vertical_scroll import VerticalScrollArea


class BoardPanel(QWidget):
    """Paste / Clear, the missing-asset list, the scrolling board, the drop message, the plan and Render."""

    render_requested = Signal()

    def __init__(self, board: ComposeBoard, missing: MissingList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("boardPanel")
        self.setAcceptDrops(True)
        self.board = board
        self.missing = missing
        self.paste_button = QPushButton("Paste parameters")
        self.paste_button.setToolTip(
            "Fill the board from A1111 parameters on the clipboard (or drop a PNG that carries them)"
        )
        self.clear_button = QPushButton("Clear board")
        self.clear_button.clicked.connect(board.clear)
        self.clear_button.clicked.connect(lambda: self.show_notice(""))
        self.notice = QLabel()
        self.notice.setObjectName("boardNotice")
        self.notice.setWordWrap(True)
        self.notice.setProperty("secondary", True)
        self.notice.hide()
        self.plan = PlanView()
        self.render_button = QPushButton("Render")
        self.render_button.setObjectName("renderButton")
        self.render_button.setToolTip("Render the board (the preview shows in the Compose tab)")
        self.render_button.clicked.connect(self.render_requested)
        board.message.connect(self.show_notice)
        self._notice_about: tuple[tuple[str, str | None, int | None], ...] = ()  # the files it was said of
        board.changed.connect(self._on_board_changed)

        self.scroll_area = VerticalScrollArea()
        self.scroll_area.setObjectName("boardScroll")
        self.scroll_area.setWidget(board)

        buttons = QHBoxLayout()
        buttons.addWidget(self.paste_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(missing)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.plan)
        layout.addWidget(self.render_button)

    def show_notice(self, text: str) -> None:
        """The last thing a drop or an action on the board said (refusals included), under the board."""
        self.notice.setText(text)
        self.notice.setToolTip(text)
        self.notice.setVisible(bool(text))
        self._notice_about = self._files_on_board()

    def _files_on_board(self) -> tuple[tuple[str, str | None, int | None], ...]:
        return tuple((ref.name, ref.path, ref.asset_id) for ref in self.board.named_refs())

    def _on_board_changed(self) -> None:
        """The notice goes once the board's files are no longer those it was said about ("Added LoRA x"
        after x was removed, the board cleared or replaced by a recipe); a weight or a setting edited
        keeps it, so the board does not move under the pointer while the user edits."""
        if self.notice.text() and self._files_on_board() != self._notice_about:
            self.show_notice("")

    # -- drops anywhere on the panel ----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self.board.show_drop_targets(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self.board.clear_drop_targets()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self.board.drop(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()
